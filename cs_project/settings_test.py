"""The settings pytest imports: the project's own, as local development runs them.

DEBUG is off by default (production refuses the default SECRET_KEY); the
test process opts in, as `make run` does. The servers the tests start get
their environment from cs_project/testing/server.py's `base_env`.
"""

import os

os.environ.setdefault("DEBUG", "1")

from cs_project.settings import *  # noqa: F403
