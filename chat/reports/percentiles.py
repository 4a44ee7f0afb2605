"""Percentiles per group, the same on SQLite and PostgreSQL.

The definition is PostgreSQL's `percentile_cont`: the n values of a group
sorted, the p-th percentile sits at the 0-based position h = (n - 1) * p;
with lo = floor(h), it is v[lo] + (h - lo) * (v[lo + 1] - v[lo]) (linear
interpolation between the two closest ranks; just v[lo] when h is whole).
One value: that value. No value: no entry.

The database computes each value (whole milliseconds: `expressions.Millis`)
and sends them in one query, every figure and every grouping's key per row;
the values are ranked here. Ranking in SQL took a window sort per figure and
grouping (eleven for a report, 0.2 to 0.3 s each per 100,000 conversations,
docs/REPORTS.md, "Speed"); sorting the same values here takes a few
milliseconds. Everything is in integers, so the result is exact: p is a
fraction num/den, den times the percentile in milliseconds is
v[lo] * (den - r) + v[lo + 1] * r with r = (n - 1) * num - lo * den, which
is divided exactly and rounded to the millisecond (half to even).
PostgreSQL's own percentile_cont interpolates in floating point and can
round the other way at a half millisecond.
"""

from __future__ import annotations

from fractions import Fraction
from operator import itemgetter

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


def _seconds(total: int, p: Fraction) -> float:
    """The percentile in seconds from den times it in milliseconds, to the millisecond."""
    return float(round(Fraction(int(total), p.denominator * 1000), 3))


def _spread(ordered: list[int]) -> dict[str, float]:
    """{"median": s, "p90": s} of whole milliseconds sorted (at least one)."""
    n = len(ordered)
    out = {}
    for name, p in PERCENTILES.items():
        num, den = p.numerator, p.denominator
        lo = (n - 1) * num // den
        rest = (n - 1) * num - lo * den  # (h - lo) * den
        total = ordered[lo] * (den - rest) + (ordered[lo + 1] * rest if rest else 0)
        out[name] = _seconds(total, p)
    return out


def percentiles_of(
    queryset: QuerySet, *, values: dict[str, Expression], groups: dict[str, dict[str, Expression]]
) -> dict:
    """{figure: {grouping: {group key: {"median": s, "p90": s}}}} of each named
    value (whole milliseconds, an integer: `expressions.Millis`) over
    `queryset`'s rows, grouped by each of that figure's groupings
    (`groups[figure]`: grouping name -> key expression), in one query.

    Rows whose value is NULL are left out; groups with no value are absent.
    Keys are what the database gives (None for NULL). A key expression used
    by several figures is read once.
    """
    columns: dict[str, str] = {}  # repr of a key expression -> its column
    annotations: dict[str, Expression] = {}
    plan = []  # per figure: (its value's column, [(grouping, its key's column)])
    for n, (figure, value) in enumerate(values.items()):
        annotations[f"report_v{n}"] = value
        by = []
        for grouping, expression in groups[figure].items():
            column = columns.setdefault(repr(expression), f"report_k{len(columns)}")
            annotations.setdefault(column, expression)
            by.append((grouping, column))
        plan.append((f"report_v{n}", by))
    order = list(annotations)
    sql, params = queryset.order_by().annotate(**annotations).values_list(*order).query.sql_with_params()
    with connection.cursor() as cursor:  # plain rows: no converter per value
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    at = {column: i for i, column in enumerate(order)}
    out = {}
    for figure, (value_column, by) in zip(values, plan, strict=True):
        v = at[value_column]
        # Sorted by the value once: then every group's values come, and are
        # kept, in order.
        measured = sorted((row for row in rows if row[v] is not None), key=itemgetter(v))
        ms = [row[v] for row in measured]
        out[figure] = {}
        for grouping, key_column in by:
            buckets: dict = {}
            for key, value in zip(map(itemgetter(at[key_column]), measured), ms, strict=True):
                bucket = buckets.get(key)
                if bucket is None:
                    buckets[key] = [value]
                else:
                    bucket.append(value)
            out[figure][grouping] = {key: _spread(bucket) for key, bucket in buckets.items()}
    return out


EMPTY = dict.fromkeys(PERCENTILES)
