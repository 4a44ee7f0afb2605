"""Percentiles per group, computed by the database (SQLite and PostgreSQL alike).

The definition is PostgreSQL's `percentile_cont`: the n values of a group
sorted, the p-th percentile sits at the 0-based position h = (n - 1) * p;
with lo = floor(h), it is v[lo] + (h - lo) * (v[lo + 1] - v[lo]) (linear
interpolation between the two closest ranks; just v[lo] when h is whole).
One value: that value. No value: no entry.

SQLite has no percentile function, so both backends run the same query:
window functions number each group's sorted values (ROW_NUMBER, COUNT), and
one aggregate keeps the two rows around h, weighted. The position is
computed in integers (p as a fraction num/den), so no floor() is needed
and the weights are exactly the same on both. Results are rounded to the
millisecond, the precision of the values (`expressions.Seconds`).
"""

from __future__ import annotations

from fractions import Fraction

from django.db import connection
from django.db.models import Expression, QuerySet

PERCENTILES = {"median": Fraction(1, 2), "p90": Fraction(9, 10)}


def percentile(values: list[float], p: Fraction | float) -> float | None:
    """The same definition in Python, for a list (tests and small data)."""
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * Fraction(p)
    lo = int(h)
    if lo + 1 >= len(ordered):
        return float(ordered[lo])
    frac = float(h - lo)
    return ordered[lo] * (1 - frac) + ordered[lo + 1] * frac


def _picked(p: Fraction) -> str:
    """SQL for one percentile over `ranked` rows (i: 0-based rank, n: group size, v)."""
    num, den = p.numerator, p.denominator
    lo = f"(((n - 1) * {num}) / {den})"
    frac = f"(CAST((n - 1) * {num} - {lo} * {den} AS DOUBLE PRECISION) / {den})"
    return f"SUM(CASE WHEN i = {lo} THEN v * (1 - {frac}) WHEN i = {lo} + 1 THEN v * {frac} ELSE 0 END)"


def percentiles_by(queryset: QuerySet, *, group: Expression, value: Expression) -> dict:
    """{group key: {"median": s, "p90": s}} of `value` over `queryset`'s rows,
    rows where the value is NULL left out; groups with no value are absent."""
    inner = queryset.order_by().annotate(report_g=group, report_v=value).values_list("report_g", "report_v")
    sql, params = inner.query.sql_with_params()
    picks = ", ".join(f"{_picked(p)} AS {name}" for name, p in PERCENTILES.items())
    query = (
        f"WITH base AS ({sql}), "
        "ranked AS (SELECT report_g AS g, report_v AS v,"
        " ROW_NUMBER() OVER (PARTITION BY report_g ORDER BY report_v) - 1 AS i,"
        " COUNT(*) OVER (PARTITION BY report_g) AS n"
        " FROM base WHERE report_v IS NOT NULL) "
        f"SELECT g, {picks} FROM ranked GROUP BY g"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    return {
        row[0]: {name: round(value, 3) for name, value in zip(PERCENTILES, row[1:], strict=True)}
        for row in rows
    }


EMPTY = dict.fromkeys(PERCENTILES)
