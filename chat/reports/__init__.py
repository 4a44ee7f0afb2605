"""Supervisors' reports: what the period's conversations looked like.

`report(since=..., until=...)` (chat.reports.selectors) reads the figures
with the database's own aggregation, the same on SQLite and PostgreSQL;
`periods` reads the period a supervisor asks for; `render` writes a report
as a table or CSV. docs/REPORTS.md defines every figure.
"""

from .selectors import report

__all__ = ["report"]
