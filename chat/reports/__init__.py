"""Supervisors' reports: what the period's conversations looked like.

`report(since=..., until=...)` (chat.reports.selectors) reads the figures
in four queries, the same on SQLite and PostgreSQL (counts grouped by the
database, percentiles ranked from one query of every value: `percentiles`);
`periods` reads the period a supervisor asks for; `render` writes a report
as a table or CSV. docs/REPORTS.md defines every figure.
"""

from .selectors import report

__all__ = ["report"]
