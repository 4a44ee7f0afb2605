"""Django in this process on a fresh copy of the migrated database, for the
microbenchmarks that time one piece of the server without starting it."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup(prefix: str, **env: str) -> tuple[Path, Path, dict]:
    """Set Django up on a new database; (work folder, database file, the agents
    made with it). Remove the work folder when done."""
    sys.path.insert(0, str(ROOT))
    from cs_project.testing.database import build_template

    work = Path(tempfile.mkdtemp(prefix=prefix))
    template, agents = build_template(work)
    db = work / "db.sqlite3"
    shutil.copy(template, db)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="cs_project.settings",
        SQLITE_PATH=str(db),
        MEDIA_ROOT=str(work / "media"),  # uploads, if any, stay in the work folder
        **env,
    )
    import django

    django.setup()
    return work, db, agents
