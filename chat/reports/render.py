"""A report (selectors.report's dict) as a text table, JSON or CSV: what
`manage.py report` prints, and the reports page's downloads."""

from __future__ import annotations

import csv
import io
import json

from django.utils.translation import gettext as _

BLOCKS = ("totals", "agents", "topics", "hours")


def flat(row: dict, prefix: str = "") -> dict:
    """Nested figures as one level: {"wait_s": {"median": 1}} -> {"wait_s_median": 1}."""
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}_"))
        else:
            out[f"{prefix}{key}"] = value
    return out


def rows(report: dict, block: str) -> list[dict]:
    """One block's rows, flattened (totals: one row)."""
    value = report[block]
    return [flat(value)] if block == "totals" else [flat(row) for row in value]


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def as_json(report: dict) -> str:
    """The report as JSON, indented, ending with a newline."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def as_csv(report: dict) -> str:
    """One section per block: its name on a line, a header row, its rows, a blank line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", report["period"]["since"], report["period"]["until"]])
    writer.writerow([])
    for block in BLOCKS:
        block_rows = rows(report, block)
        writer.writerow([block])
        if block_rows:
            writer.writerow(list(block_rows[0]))
            for row in block_rows:
                writer.writerow(["" if value is None else value for value in row.values()])
        writer.writerow([])
    return out.getvalue()


def _table(block_rows: list[dict]) -> list[str]:
    if not block_rows:
        return ["  " + _("(none)")]
    header = list(block_rows[0])
    cells = [[_cell(row[key]) for key in header] for row in block_rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(header)]
    lines = ["  " + "  ".join(name.ljust(width) for name, width in zip(header, widths, strict=True))]
    lines += ["  " + "  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    return lines


def as_table(report: dict) -> str:
    """Readable columns: the totals as name / value lines, then one table per block."""
    lines = [_("Report of the conversations started from %(since)s to %(until)s") % report["period"], ""]
    lines.append(_("Totals"))
    totals = rows(report, "totals")[0]
    width = max(len(name) for name in totals)
    lines += [f"  {name.ljust(width)}  {_cell(value)}" for name, value in totals.items()]
    titles = {"agents": _("Agents"), "topics": _("Topics"), "hours": _("Hours (UTC, of the start)")}
    for block, title in titles.items():
        block_rows = rows(report, block)
        if block == "hours":
            block_rows = [row for row in block_rows if row["conversations"]]
        lines += ["", title, *_table(block_rows)]
    return "\n".join(lines) + "\n"
