"""Percentiles per group, computed by the database (SQLite and PostgreSQL alike).

The definition is PostgreSQL's `percentile_cont`: the n values of a group
sorted, the p-th percentile sits at the 0-based position h = (n - 1) * p;
with lo = floor(h), it is v[lo] + (h - lo) * (v[lo + 1] - v[lo]) (linear
interpolation between the two closest ranks; just v[lo] when h is whole).
One value: that value. No value: no entry.

SQLite has no percentile function, so both databases run the same query:
window functions number each group's sorted values (ROW_NUMBER, COUNT), and
one aggregate keeps the two rows around h, weighted. Everything is in
integers, so both give exactly the same result: the values are whole
milliseconds (`expressions.Seconds`), p is a fraction num/den, and the sum
is den times the percentile in milliseconds, which Python divides exactly
and rounds to the millisecond (half to even). PostgreSQL's own
percentile_cont interpolates in floating point and can round the other way
at a half millisecond.
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


def _lo(p: Fraction, n: str) -> str:
    """SQL: floor((n - 1) * p), in integers."""
    return f"((({n} - 1) * {p.numerator}) / {p.denominator})"


def _picked(p: Fraction, i: str) -> str:
    """SQL for den times one percentile, in whole milliseconds, over ranked rows
    (`i`: 0-based rank, n: group size, ms: the value in milliseconds)."""
    num, den = p.numerator, p.denominator
    lo = _lo(p, "n")
    rest = f"((n - 1) * {num} - {lo} * {den})"  # (h - lo) * den
    return (
        f"SUM(CASE WHEN {i} = {lo} THEN ms * ({den} - {rest})"
        f" WHEN {i} = {lo} + 1 THEN ms * {rest} ELSE 0 END)"
    )


def _seconds(total: int, p: Fraction) -> float:
    """The percentile in seconds from den times it in milliseconds, to the millisecond."""
    return float(round(Fraction(int(total), p.denominator * 1000), 3))


def _key(sql: str) -> str:
    """A group key as text that NULL cannot collide with: 'k<key>', or 'n' for NULL."""
    return f"COALESCE('k' || CAST({sql} AS VARCHAR(200)), 'n')"


def percentiles_by(queryset: QuerySet, *, value: Expression, groups: dict[str, Expression]) -> dict:
    """{grouping: {group key (as text): {"median": s, "p90": s}}} of `value` over
    `queryset`'s rows, for each named grouping, in one query: the rows and
    their value are read once, then ranked once per grouping (one window
    each, over the key and the value only). Rows whose value is NULL are left out; groups with no value are
    absent. Keys come back as text (None for NULL)."""
    names = list(groups)
    annotations = {f"report_g{n}": expression for n, expression in enumerate(groups.values())}
    inner = queryset.order_by().annotate(**annotations, report_v=value).values_list(*annotations, "report_v")
    sql, params = inner.query.sql_with_params()
    count = len(names)
    # Per grouping one narrow window (key, value): the rank and the group's
    # size share its sort. Only the rows on either side of a percentile's
    # position are kept (a few per group), keyed as text, then summed.
    ranked = ", ".join(
        f"r{n} AS (SELECT report_g{n} AS g, report_v AS v, ROW_NUMBER() OVER w - 1 AS i,"
        " COUNT(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n"
        f" FROM base WHERE report_v IS NOT NULL WINDOW w AS (PARTITION BY report_g{n} ORDER BY report_v))"
        for n in range(count)
    )
    near_rows = " OR ".join(f"i - {_lo(p, 'n')} IN (0, 1)" for p in PERCENTILES.values())
    near = " UNION ALL ".join(
        f"SELECT {n} AS d, {_key('g')} AS g, i, n, CAST(ROUND(v * 1000) AS BIGINT) AS ms FROM r{n}"
        f" WHERE {near_rows}"
        for n in range(count)
    )
    picks = ", ".join(f"{_picked(p, 'i')} AS {name}" for name, p in PERCENTILES.items())
    query = (
        f"WITH base AS MATERIALIZED ({sql}), {ranked}, near AS ({near}) "
        f"SELECT d, g, {picks} FROM near GROUP BY d, g"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    out = {name: {} for name in names}
    for d, g, *values in rows:
        key = None if g == "n" else g[1:]
        out[names[d]][key] = {
            name: _seconds(total, p) for (name, p), total in zip(PERCENTILES.items(), values, strict=True)
        }
    return out


EMPTY = dict.fromkeys(PERCENTILES)
