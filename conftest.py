"""Fixtures shared by every app's tests: a real Daphne with a real database,
and a headless browser. They live in cs_project/testing/fixtures.py."""

import pytest

# The support package's own asserts report their values too.
pytest.register_assert_rewrite("cs_project.testing")

pytest_plugins = ["cs_project.testing.fixtures"]
