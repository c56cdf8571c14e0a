"""Text forms of OVSDB values and tables, as ovsdb-client, ovn-nbctl and ovn-sbctl print them.

Strings print bare when they look like identifiers, else quoted; a column that holds at most
one value prints that value bare; other sets print in [], maps in {}.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pyovn.ovsdb.data import Datum
from pyovn.ovsdb.types import AtomicType, Type, is_valid_uuid


def string_needs_quotes(s: str) -> bool:
    if is_valid_uuid(s.lower()):
        return True  # it would read back as a UUID
    if not s or not (s[0].isascii() and (s[0].isalpha() or s[0] == "_")):
        return True
    for c in s[1:]:
        if not (c.isascii() and (c.isalnum() or c in "_-.")):
            return True
    return s in ("true", "false")


def quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def atom_text(atype: AtomicType, atom: Any, bare_strings: bool = True) -> str:
    if atype is AtomicType.STRING:
        text = str(atom)
        return quote(text) if (not bare_strings or string_needs_quotes(text)) else text
    if atype is AtomicType.BOOLEAN:
        return "true" if atom else "false"
    if atype is AtomicType.REAL:
        value = float(atom)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(atom)


def datum_text(ctype: Type, datum: Datum, bare_strings: bool = True) -> str:
    key = ctype.key.type
    if ctype.value is not None:
        vtype = ctype.value.type
        pairs = ", ".join(
            f"{atom_text(key, k, bare_strings)}={atom_text(vtype, v, bare_strings)}"
            for k, v in sorted(datum.items())
        )
        return "{" + pairs + "}"
    if ctype.is_scalar:
        return atom_text(key, datum, bare_strings)
    items = sorted(datum)
    if ctype.max == 1 and len(items) == 1:
        return atom_text(key, items[0], bare_strings)
    return "[" + ", ".join(atom_text(key, a, bare_strings) for a in items) + "]"


def render_table(
    headings: Sequence[str], rows: Iterable[Sequence[str]], title: str | None = None
) -> str:
    """The "table" format: headings, a dashed rule, left-aligned columns."""
    rows = [list(r) for r in rows]
    widths = [len(h) for h in headings]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    if title:
        lines.append(title)
    lines.append(" ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)).rstrip())
    lines.append(" ".join("-" * w for w in widths))
    for row in rows:
        lines.append(" ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"


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
