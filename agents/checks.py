"""Checks `manage.py check --deploy` runs, and deploy/serve with it before
serving: production refuses DEBUG, and a database with the demo accounts.

The demo-account check reads the database, so it runs only when asked to
(`--database default`, as deploy/serve does).
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from .demo import demo_usernames_present


@register(Tags.security, deploy=True)
def debug_is_off(app_configs, **kwargs) -> list[Error]:
    if not settings.DEBUG:
        return []
    return [
        Error(
            "DEBUG is on: production shows tracebacks and settings to anyone who causes an error.",
            hint="Unset DEBUG (off by default) or set DEBUG=0.",
            id="cs.E001",
        )
    ]


@register(Tags.database, deploy=True)
def no_demo_accounts(app_configs, databases=None, **kwargs) -> list[Error]:
    if not databases or "default" not in databases:
        return []
    try:
        present = demo_usernames_present()
    except DatabaseError:  # not migrated yet: no accounts at all
        return []
    if not present:
        return []
    return [
        Error(
            f"The demo accounts of `make run` are in this database: {', '.join(present)}.",
            hint="Their passwords were printed or published; delete them (admin, Users) before serving.",
            id="cs.E002",
        )
    ]
