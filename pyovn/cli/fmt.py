"""Tables as ovsdb-client, ovn-nbctl and ovn-sbctl print them: aligned columns, CSV, and
"name : value" records. Values are turned into text by ``pyovn.cli.ctl.values``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def render_table(
    headings: Sequence[str], rows: Iterable[Sequence[str]], title: str | None = None
) -> str:
    """The "table" format: headings, a dashed rule, left-aligned columns. Widths count
    UTF-8 bytes, as Open vSwitch's tools do (so non-ASCII text is not padded to align)."""
    rows = [list(r) for r in rows]
    widths = [_width(h) for h in headings]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], _width(cell))

    def line(cells: Sequence[str]) -> str:
        padded = (c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True))
        return " ".join(padded).rstrip()

    lines = []
    if title:
        lines.append(title)
    lines.append(line(headings))
    lines.append(" ".join("-" * w for w in widths))
    lines.extend(line(row) for row in rows)
    return "\n".join(lines) + "\n"


def _width(text: str) -> int:
    return len(text.encode("utf-8"))


def render_csv(headings: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headings)
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def render_records(records: Iterable[Sequence[tuple[str, str]]]) -> str:
    """The "list" format of ovn-nbctl list: "name : value" lines (names padded to 20
    columns, as Open vSwitch's ctl tools do), records separated by a blank line."""
    blocks = []
    for record in records:
        blocks.append("\n".join(f"{n:<20}: {v}" for n, v in record))
    return "\n\n".join(blocks) + ("\n" if blocks else "")
