"""OVSDB's standalone log file: framed records, and the lock that keeps out a second writer.

A standalone database file is a sequence of records, each::

    OVSDB JSON <length> <sha1>\\n<json>\\n

where ``<length>`` is the decimal byte count and ``<sha1>`` the lowercase hex SHA-1 of
everything after the header line: the JSON text *and* its trailing newline (checked against
files that Open vSwitch 3.1's ``ovsdb-tool`` writes). The first record is the schema; each
later one is a transaction (or a snapshot written by compaction).

Reading stops at the first record that is cut short or fails its SHA-1 or JSON check; every
record before it is kept, and the bad tail is reported so a writer can truncate it.

Transaction records, as Open vSwitch 3.1 writes them for standalone databases::

    {"<Table>": {"<uuid>": <row> | null, ...}, "_date": <ms>, "_comment": "...",
     "_is_diff": true}

An inserted row carries its non-default columns with full values; a deleted row is ``null``;
a modified row carries each changed column in diff form: for a column that holds at most one
element (a scalar, an optional value, a map of at most one pair) the new value, for a set the
symmetric difference of old and new, for a map every pair added or removed plus, for a key
whose value changed, the key with its new value. Ephemeral columns are never written, and a
transaction that changes nothing persistent writes no record. Records without ``_is_diff``
(older Open vSwitch, and the snapshot that compaction writes) carry full new values.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pyovn.ovsdb.data import Datum, datum_from_json, datum_to_json, new_uuid, relaxed
from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.jsonio import loads
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema
from pyovn.ovsdb.server.db import Commit, Database, Row, RowData
from pyovn.ovsdb.types import Type, Uuid, is_valid_uuid

MAGIC = b"OVSDB JSON"
CLUSTER_MAGIC = b"OVSDB CLUSTER"
_HEADER_RE = re.compile(rb"^OVSDB JSON ([0-9]{1,20}) ([0-9a-f]{40})$")
_MAX_HEADER = 128  # bytes, newline included; real headers are about 60


class StorageError(OvsdbError):
    """A database file could not be read, written or locked (RFC error "I/O error")."""

    def __init__(self, details: str) -> None:
        super().__init__("I/O error", details)


def encode_record(payload: bytes) -> bytes:
    """Frame one JSON text (without newline) as a complete record."""
    body = payload + b"\n"
    digest = hashlib.sha1(body).hexdigest()
    return b"%s %d %s\n%s" % (MAGIC, len(body), digest.encode(), body)


@dataclass(frozen=True, slots=True)
class Record:
    offset: int  # where the record's header starts
    end: int  # just past the record
    json: Any


@dataclass(frozen=True, slots=True)
class LogContents:
    """Every complete record of a file, and what (if anything) was wrong after them."""

    records: list[Record]
    size: int  # the file's size when read
    good_end: int  # just past the last complete record
    tail_error: str | None  # why reading stopped before ``size``, or None

    @property
    def torn_bytes(self) -> int:
        return self.size - self.good_end


def parse_records(data: bytes, name: str) -> LogContents:
    """Split ``data`` (a whole file) into records; see the module doc for the tail rules."""
    records: list[Record] = []
    off = 0
    size = len(data)
    error: str | None = None
    while off < size:
        nl = data.find(b"\n", off, off + _MAX_HEADER)
        if nl < 0:
            head = data[off : off + _MAX_HEADER]
            if head.startswith(CLUSTER_MAGIC) and not records:
                raise StorageError(f"{name}: clustered databases are not supported")
            if size - off < _MAX_HEADER and (MAGIC.startswith(head) or head.startswith(MAGIC)):
                error = f"{name}: record header at offset {off} is cut short (End of file)"
            else:
                error = f"{name}: offset {off}: parse error reading header"
            break
        header = data[off:nl]
        match = _HEADER_RE.match(header)
        if match is None:
            if header.startswith(CLUSTER_MAGIC) and not records:
                raise StorageError(f"{name}: clustered databases are not supported")
            error = f"{name}: offset {off}: parse error reading header"
            break
        length = int(match.group(1))
        start = nl + 1
        end = start + length
        if end > size:
            error = f"{name}: error reading {length} bytes starting at offset {start} (End of file)"
            break
        body = data[start:end]
        actual = hashlib.sha1(body).hexdigest()
        expected = match.group(2).decode()
        if actual != expected:
            error = (
                f"{name}: {length} bytes starting at offset {start} have SHA-1 hash {actual} "
                f"but should have hash {expected}"
            )
            break
        try:
            value = loads(body)
        except ValueError as exc:
            error = f"{name}: {length} bytes starting at offset {start} are not valid JSON: {exc}"
            break
        if not isinstance(value, dict):
            error = f"{name}: record at offset {off} is not a JSON object"
            break
        records.append(Record(off, end, value))
        off = end
    good_end = records[-1].end if records else 0
    return LogContents(records, size, good_end, error)


def read_log(path: str) -> LogContents:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise StorageError(f"{path}: open failed ({os.strerror(exc.errno or 0)})") from exc
    return parse_records(data, path)


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (a regular file rarely writes short)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def fsync_dir(path: str) -> None:
    """Make a rename or create in ``path``'s directory durable."""
    directory = os.path.dirname(os.path.abspath(path))
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems refuse fsync on directories
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- columns


class _Column:
    """How one persistent column is written and read."""

    __slots__ = ("composite", "default", "diff_type", "is_map", "name", "type")

    def __init__(self, name: str, ctype: Type, default: Datum) -> None:
        self.name = name
        self.type = ctype
        self.default = default
        self.is_map = ctype.is_map
        # more than one element: changes are written as a diff, not the new value
        self.composite = ctype.max > 1
        self.diff_type = relaxed(ctype)


class TableCodec:
    __slots__ = ("by_name", "columns", "defaults", "name")

    def __init__(self, table: TableSchema, defaults: RowData) -> None:
        self.name = table.name
        self.defaults = defaults
        self.columns = [
            _Column(c.name, c.type, defaults[c.name])
            for c in table.columns.values()
            if not c.ephemeral
        ]
        self.by_name = {c.name: c for c in self.columns}


def table_codecs(db: Database) -> dict[str, TableCodec]:
    return {name: TableCodec(t.schema, t.defaults) for name, t in db.tables.items()}


# ---------------------------------------------------------------------------- writing


def _map_diff(old: dict[Any, Any], new: dict[Any, Any]) -> dict[Any, Any]:
    diff = {k: v for k, v in new.items() if k not in old or old[k] != v}
    for k, v in old.items():
        if k not in new:
            diff[k] = v
    return diff


def encode_commit(
    codecs: dict[str, TableCodec], commit: Commit, date_ms: int
) -> dict[str, Any] | None:
    """The record for ``commit``, or None if it changes nothing that is written to disk.

    Open vSwitch 3.1 checks a diff against the column's maximum size when it reads one, so
    it cannot read a diff larger than the column allows (say a set of at most 3 changing
    from {1, 2} to {11, 12}). Such a commit is written the older way, as full new values
    without ``_is_diff``, which every version reads.
    """
    tables = _encode_changes(codecs, commit, diff=True)
    is_diff = tables is not _OVERSIZED_DIFF
    if not is_diff:
        tables = _encode_changes(codecs, commit, diff=False)
    if not tables:
        return None
    out: dict[str, Any] = {"_date": date_ms}
    if commit.comment:
        out["_comment"] = commit.comment
    out.update(tables)
    if is_diff:
        out["_is_diff"] = True
    return out


_OVERSIZED_DIFF: dict[str, dict[str, Any]] = {}


def _encode_changes(
    codecs: dict[str, TableCodec], commit: Commit, *, diff: bool
) -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    for change in commit.changes:
        codec = codecs[change.table]
        new = change.new
        row_js: dict[str, Any] | None
        if new is None:
            row_js = None
        elif change.old is None:
            row_js = {
                c.name: datum_to_json(c.type, new[c.name])
                for c in codec.columns
                if new[c.name] != c.default
            }
        else:
            old = change.old.data
            changed = change.changed
            row_js = {}
            for c in codec.columns:
                name = c.name
                if changed is not None:
                    if name not in changed:
                        continue
                elif new[name] == old[name]:
                    continue
                value = new[name]
                if diff and c.composite:
                    value = _map_diff(old[name], value) if c.is_map else old[name] ^ value
                    if len(value) > c.type.max:
                        return _OVERSIZED_DIFF
                row_js[name] = datum_to_json(c.type, value)
            if not row_js:
                continue  # only ephemeral columns changed
        table_js = tables.get(change.table)
        if table_js is None:
            table_js = tables[change.table] = {}
        table_js[str(change.uuid)] = row_js
    return tables


def encode_snapshot(db: Database, date_ms: int, comment: str | None = None) -> dict[str, Any]:
    """One record holding every row (full values, no ``_is_diff``), as compaction writes."""
    out: dict[str, Any] = {"_date": date_ms}
    if comment:
        out["_comment"] = comment
    for name, codec in table_codecs(db).items():
        rows = db.tables[name].rows
        if not rows:
            continue
        out[name] = {
            str(uuid): {
                c.name: datum_to_json(c.type, row.data[c.name])
                for c in codec.columns
                if row.data[c.name] != c.default
            }
            for uuid, row in rows.items()
        }
    return out


# ---------------------------------------------------------------------------- reading


def decode_schema(record: Record, name: str) -> DatabaseSchema:
    try:
        return DatabaseSchema.from_json(record.json)
    except OvsdbError as exc:
        raise StorageError(f"{name}: the first record is not a valid schema: {exc}") from exc


def _apply_record(
    codecs: dict[str, TableCodec],
    staging: dict[str, dict[Uuid, RowData]],
    js: dict[str, Any],
) -> None:
    """Replay one transaction or snapshot record onto ``staging`` (table -> uuid -> data)."""
    is_diff = js.get("_is_diff") is True
    for tname, rows_js in js.items():
        if tname.startswith("_"):
            continue
        codec = codecs.get(tname)
        if codec is None:
            raise StorageError(f"no table named {tname}")
        if not isinstance(rows_js, dict):
            raise StorageError(f"table {tname} must hold an object")
        rows = staging[tname]
        for uuid_text, row_js in rows_js.items():
            if not is_valid_uuid(uuid_text):
                raise StorageError(f'"{uuid_text}" is not a valid UUID')
            uuid = Uuid(uuid_text)
            if row_js is None:
                if rows.pop(uuid, None) is None:
                    raise StorageError(f"table {tname}: deleting nonexistent row {uuid}")
                continue
            if not isinstance(row_js, dict):
                raise StorageError(f"table {tname} row {uuid} must be an object or null")
            data = rows.get(uuid)
            inserting = data is None
            if data is None:
                data = rows[uuid] = dict(codec.defaults)
            for cname, value_js in row_js.items():
                column = codec.by_name.get(cname)
                if column is None:
                    raise StorageError(f"table {tname} has no persistent column {cname}")
                try:
                    if is_diff and column.composite and not inserting:
                        diff = datum_from_json(column.diff_type, value_js)
                        data[cname] = _apply_diff(column, data[cname], diff)
                    else:
                        data[cname] = datum_from_json(column.type, value_js)
                except OvsdbError as exc:
                    raise StorageError(f"table {tname} row {uuid} column {cname}: {exc}") from exc


def _apply_diff(column: _Column, old: Datum, diff: Datum) -> Datum:
    if not column.is_map:
        return old ^ diff
    new = dict(old)
    for k, v in diff.items():
        if k in new and new[k] == v:
            del new[k]
        else:
            new[k] = v
    return new


def load_database(schema: DatabaseSchema, records: Iterable[Record], name: str) -> Database:
    """Build a Database from transaction records (everything after the schema record).

    Rows are built directly, without transaction checks; reference counts, weak referrers
    and indexes are then rebuilt in one pass (``Database.rebuild_derived``).
    """
    db = Database(schema)
    codecs = table_codecs(db)
    staging: dict[str, dict[Uuid, RowData]] = {t: {} for t in db.tables}
    n = 0
    for n, record in enumerate(records, start=1):
        try:
            _apply_record(codecs, staging, record.json)
        except StorageError as exc:
            raise StorageError(f"{name}: record {n} at offset {record.offset}: {exc.details}")
    for tname, rows in staging.items():
        table = db.tables[tname]
        table.rows = {uuid: Row(uuid, new_uuid(), data) for uuid, data in rows.items()}
    db.rebuild_derived()
    db.n_commits = n
    # the file keeps no transaction ids: a fresh one makes monitor_cond_since clients resync
    db.last_txn_id = new_uuid() if n else None
    return db


def read_database(path: str) -> tuple[Database, LogContents]:
    """Load a database file read-only (no lock, no truncation): for queries and tools."""
    contents = read_log(path)
    if not contents.records:
        raise StorageError(contents.tail_error or f"{path}: database file is empty")
    schema = decode_schema(contents.records[0], path)
    return load_database(schema, contents.records[1:], path), contents
