"""Output of ``list``/``find`` in the table formats of OVS's ctl tools (list, table, csv,
json, html) and the ``--oneline`` folding of each command's output."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence

from pyovn.cli.ctl.options import GlobalOptions
from pyovn.cli.ctl.values import datum_json, datum_text
from pyovn.ovsdb.data import Datum
from pyovn.ovsdb.types import Type

Cell = tuple[Type, Datum]


def render(headings: Sequence[str], rows: Sequence[Sequence[Cell]], opts: GlobalOptions) -> str:
    if opts.format == "json":
        return _json(headings, rows, opts)
    texts = [[datum_text(t, d, opts.data) for t, d in row] for row in rows]
    if opts.format == "list":
        return _list(headings, texts, opts.headings)
    if opts.format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if opts.headings:
            writer.writerow(headings)
        writer.writerows(texts)
        return out.getvalue()
    if opts.format == "html":
        return _html(headings, texts, opts.headings)
    return _table(headings, texts, opts.headings)


def _list(headings: Sequence[str], rows: list[list[str]], with_headings: bool) -> str:
    blocks = []
    for row in rows:
        if with_headings:
            lines = [f"{h:<20}: {v}" for h, v in zip(headings, row, strict=True)]
        else:
            lines = list(row)
        blocks.append("".join(line + "\n" for line in lines))
    return "\n".join(blocks)


def _table(headings: Sequence[str], rows: list[list[str]], with_headings: bool) -> str:
    widths = [len(h) if with_headings else 0 for h in headings]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    if with_headings:
        lines.append(" ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)).rstrip())
        lines.append(" ".join("-" * w for w in widths))
    for row in rows:
        lines.append(" ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "".join(line + "\n" for line in lines)


def _json(headings: Sequence[str], rows: Sequence[Sequence[Cell]], opts: GlobalOptions) -> str:
    data = [[datum_json(t, d) for t, d in row] for row in rows]
    obj = {"data": data, "headings": list(headings)}
    if opts.pretty:
        return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def _html(headings: Sequence[str], rows: list[list[str]], with_headings: bool) -> str:
    out = ["<table>"]
    if with_headings:
        out.append("  <tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headings) + "</tr>")
    for row in rows:
        out.append("  <tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out) + "\n"


def oneline(text: str) -> str:
    """One command's output on one line: backslashes doubled, newlines as \\n."""
    if text.endswith("\n"):
        text = text[:-1]
    return text.replace("\\", "\\\\").replace("\n", "\\n") + "\n"
