"""A transaction: a copy-on-write view of the database, and the checks made at commit.

Operations (ops.py) read and change rows through this view. ``commit`` then enforces
referential integrity, collects garbage, removes dangling weak references, and checks
``maxRows`` and ``indexes``; it returns a ``Commit`` or raises the RFC's error, leaving the
database untouched either way (``Database.apply`` makes a Commit current).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyovn.ovsdb.condition import Condition
from pyovn.ovsdb.data import Datum, Symtab, datum_refs, datum_to_text, new_uuid
from pyovn.ovsdb.errors import OvsdbError, constraint_violation
from pyovn.ovsdb.server.db import Commit, Database, Row, RowChange, RowData, Table, hashable_datum
from pyovn.ovsdb.types import Uuid

RefKey = tuple[str, Uuid]
_UNLIMITED = float("inf")


class TxnRow:
    """A row touched by the transaction. ``new`` is None once deleted."""

    __slots__ = ("inserted_here", "new", "old", "uuid")

    def __init__(self, uuid: Uuid, old: Row | None, new: RowData | None) -> None:
        self.uuid = uuid
        self.old = old
        self.new = new
        self.inserted_here = old is None


class Transaction:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.changes: dict[str, dict[Uuid, TxnRow]] = {}
        self.symtab = Symtab()
        self.comments: list[str] = []
        self.durable = False

    # ------------------------------------------------------------------ the view

    def _changes(self, table: str) -> dict[Uuid, TxnRow]:
        found = self.changes.get(table)
        if found is None:
            found = self.changes[table] = {}
        return found

    def get(self, table: str, uuid: Uuid) -> RowData | None:
        changed = self.changes.get(table)
        if changed is not None:
            trow = changed.get(uuid)
            if trow is not None:
                return trow.new
        row = self.db.tables[table].rows.get(uuid)
        return None if row is None else row.data

    def exists(self, table: str, uuid: Uuid) -> bool:
        return self.get(table, uuid) is not None

    def version(self, table: str, uuid: Uuid) -> Uuid | None:
        row = self.db.tables[table].rows.get(uuid)
        return None if row is None else row.version

    def scan(self, table: str) -> Iterator[tuple[Uuid, RowData]]:
        changed = self.changes.get(table, {})
        for uuid, row in self.db.tables[table].rows.items():
            if uuid in changed:
                continue
            yield uuid, row.data
        for uuid, trow in list(changed.items()):
            if trow.new is not None:
                yield uuid, trow.new

    def select(self, table: str, cond: Condition) -> list[tuple[Uuid, RowData]]:
        target = cond.uuid_lookup()
        if target is not None:
            data = self.get(table, target)
            return [] if data is None else [(target, data)]
        rows = self.db.tables[table].rows
        candidates = self._indexed(table, cond)
        out = []
        for uuid, data in self.scan(table) if candidates is None else candidates:
            row = rows.get(uuid)
            if cond.evaluate(data, uuid, None if row is None else row.version):
                out.append((uuid, data))
        return out

    def _indexed(self, table: str, cond: Condition) -> list[tuple[Uuid, RowData]] | None:
        """The rows that can match ``cond`` when it asks ``==`` of every column of one of
        the table's indexes (at most one committed row, from the index, and the rows this
        transaction changed), in scan order; None when no index applies."""
        if cond.constant is not None or not cond.clauses:
            return None
        t = self.db.tables[table]
        indexes = t.schema.indexes
        if not indexes:
            return None
        equal = {c.column.name: c.value for c in cond.clauses if c.function == "=="}
        usable = next(
            (
                (index_map, columns)
                for index_map, columns in zip(t.index_maps, indexes, strict=True)
                if all(c in equal for c in columns)
            ),
            None,
        )
        if usable is None:
            return None
        index_map, columns = usable
        changed = self.changes.get(table, {})
        out = []
        holder = index_map.get(tuple(hashable_datum(equal[c]) for c in columns))
        if holder is not None and holder not in changed:
            out.append((holder, t.rows[holder].data))
        out.extend((uuid, trow.new) for uuid, trow in changed.items() if trow.new is not None)
        return out

    def insert(self, table: str, uuid: Uuid, data: RowData) -> None:
        changed = self._changes(table)
        trow = changed.get(uuid)
        if trow is not None:
            # re-inserting a uuid deleted earlier in this transaction
            trow.new = data
        else:
            changed[uuid] = TxnRow(uuid, None, data)

    def modify(self, table: str, uuid: Uuid, data: RowData) -> None:
        changed = self._changes(table)
        trow = changed.get(uuid)
        if trow is None:
            changed[uuid] = TxnRow(uuid, self.db.tables[table].rows[uuid], data)
        else:
            trow.new = data

    def delete(self, table: str, uuid: Uuid) -> None:
        changed = self._changes(table)
        trow = changed.get(uuid)
        if trow is None:
            changed[uuid] = TxnRow(uuid, self.db.tables[table].rows[uuid], None)
        else:
            trow.new = None

    def uuid_in_use(self, table: str, uuid: Uuid) -> bool:
        """True if ``uuid`` names a row of ``table`` now or deleted in this transaction."""
        return uuid in self.db.tables[table].rows or uuid in self.changes.get(table, {})

    # ------------------------------------------------------------------ commit

    def commit(self) -> Commit:
        tables = self.db.tables
        delta: dict[RefKey, int] = {}
        for tname, rows in self.changes.items():
            table = tables[tname]
            if table.strong_cols:
                for trow in rows.values():
                    old = None if trow.old is None else trow.old.data
                    _account(table, trow.uuid, old, trow.new, delta)
        # the order of ovsdb-server's checks, which decides which error a transaction gets
        self._check_strong_refs(delta)  # before garbage collection, as ovsdb-server does
        self._collect_garbage(delta)
        ref_counts = self._ref_counts(delta)
        self._check_max_rows()
        self._remove_weak_refs()
        changes = self._build_changes()
        self._check_indexes()
        comment = "\n".join(self.comments) if self.comments else None
        return Commit(changes, ref_counts, comment=comment, durable=self.durable)

    def _final_count(self, key: RefKey, delta: dict[RefKey, int]) -> int:
        tname, uuid = key
        base = 0
        row = self.db.tables[tname].rows.get(uuid)
        if row is not None:
            trow = self.changes.get(tname, {}).get(uuid)
            if trow is None or not trow.inserted_here:
                base = row.n_refs
        return base + delta.get(key, 0)

    def _collect_garbage(self, delta: dict[RefKey, int]) -> None:
        tables = self.db.tables
        work: list[RefKey] = [
            (tname, uuid)
            for tname, rows in self.changes.items()
            if not tables[tname].schema.is_root
            for uuid, trow in rows.items()
            if trow.new is not None
        ]
        work.extend(k for k in delta if not tables[k[0]].schema.is_root)
        seen: set[RefKey] = set()
        while work:
            key = work.pop()
            tname, uuid = key
            if tables[tname].schema.is_root:
                continue
            data = self.get(tname, uuid)
            if data is None or self._final_count(key, delta) != 0:
                continue
            if key in seen:
                continue
            seen.add(key)
            table = tables[tname]
            self.delete(tname, uuid)
            if table.strong_cols:
                touched: dict[RefKey, int] = {}
                _account(table, uuid, data, None, touched)
                for ref, n in touched.items():
                    delta[ref] = delta.get(ref, 0) + n
                    work.append(ref)

    def _check_strong_refs(self, delta: dict[RefKey, int]) -> None:
        """No reference to a missing row, and no deleted row still referenced.

        Made before garbage collection: a row that is deleted while a row about to become
        garbage still refers to it is refused, as by ovsdb-server.
        """
        rows = self.db.tables
        for key, n in delta.items():
            tname, uuid = key
            if n > 0 and uuid not in rows[tname].rows and not self.exists(tname, uuid):
                raise OvsdbError("referential integrity violation", self._dangling_message(key))
        for tname, changed in self.changes.items():
            for trow in changed.values():
                if trow.new is None and trow.old is not None:
                    final = self._final_count((tname, trow.uuid), delta)
                    if final > 0:
                        raise OvsdbError(
                            "referential integrity violation",
                            f"cannot delete {tname} row {trow.uuid} because of {final} "
                            "remaining reference(s)",
                        )

    def _ref_counts(self, delta: dict[RefKey, int]) -> dict[RefKey, int]:
        """The new reference count of every surviving row whose count changed."""
        return {
            key: self._final_count(key, delta)
            for key, n in delta.items()
            if n and self.exists(*key)
        }

    def _dangling_message(self, key: RefKey) -> str:
        target_table, target = key
        for tname, rows in self.changes.items():
            table = self.db.tables[tname]
            for trow in rows.values():
                if trow.new is None:
                    continue
                for col in table.strong_cols:
                    ctype = table.schema.columns[col].type
                    if key in datum_refs(ctype, trow.new[col], strong=True):
                        return (
                            f"Table {tname} column {col} row {trow.uuid} references "
                            f"nonexistent row {target} in table {target_table}."
                        )
        return f"reference to nonexistent row {target} in table {target_table}"

    def _remove_weak_refs(self) -> None:
        tables = self.db.tables
        # rows outside the transaction that weakly refer to rows it deletes
        for rows in list(self.changes.values()):
            for trow in list(rows.values()):
                if trow.new is None and trow.old is not None and trow.old.weak_in:
                    for src_table, src_uuid in trow.old.weak_in:
                        data = self.get(src_table, src_uuid)
                        if data is not None and src_uuid not in self.changes.get(src_table, {}):
                            self.modify(src_table, src_uuid, dict(data))
        for tname, rows in self.changes.items():
            table = tables[tname]
            if not table.weak_cols:
                continue
            for trow in rows.values():
                if trow.new is None:
                    continue
                for col in table.weak_cols:
                    if trow.new[col]:  # an empty set or map (a weak uuid atom is never empty)
                        self._strip_weak(table, trow, col)

    def _strip_weak(self, table: Table, trow: TxnRow, col: str) -> None:
        assert trow.new is not None
        datum = trow.new[col]
        ctype = table.schema.columns[col].type
        key_ref = ctype.key.ref_table if ctype.key.is_weak_ref else None
        val_ref = (
            ctype.value.ref_table if ctype.value is not None and ctype.value.is_weak_ref else None
        )
        removed = 0
        new: Datum
        if ctype.is_map:
            kept = {}
            for k, v in datum.items():
                if (key_ref and not self.exists(key_ref, k)) or (
                    val_ref and not self.exists(val_ref, v)
                ):
                    removed += 1
                else:
                    kept[k] = v
            new = kept
        else:
            assert key_ref is not None
            atoms = (datum,) if ctype.is_scalar else datum
            gone = [a for a in atoms if not self.exists(key_ref, a)]
            removed = len(gone)
            new = frozenset(a for a in atoms if a not in gone) if removed else datum
        if not removed:
            return
        n = len(new)
        if n < ctype.min or ctype.is_scalar:
            where = "(inserted within this transaction)" if trow.old is None else ""
            zero = "00000000-0000-0000-0000-000000000000"
            if trow.old is None and (
                datum == zero or zero in (datum if not ctype.is_scalar else ())
            ):
                raise constraint_violation(
                    f'Weak reference column "{col}" in "{table.name}" row {trow.uuid} {where} '
                    "contained all-zeros UUID (probably as the default value for this column) "
                    "but deleting this value caused a constraint volation because this column "
                    "is not allowed to be empty."
                )
            raise constraint_violation(
                f"Deletion of {removed} weak reference(s) to deleted (or never-existing) rows "
                f'from column "{col}" in "{table.name}" row {trow.uuid} {where}'.rstrip()
                + " caused this column to become empty, but constraints on this column "
                "disallow an empty column."
            )
        trow.new = dict(trow.new)
        trow.new[col] = new

    def _build_changes(self) -> list[RowChange]:
        out: list[RowChange] = []
        for tname, rows in self.changes.items():
            for trow in rows.values():
                old, new = trow.old, trow.new
                if old is None and new is None:
                    continue
                if old is None:
                    out.append(RowChange(tname, trow.uuid, None, new, new_uuid()))
                elif new is None:
                    out.append(RowChange(tname, trow.uuid, old, None))
                elif trow.inserted_here:
                    # deleted and inserted again with the same uuid: a modification
                    changed = frozenset(c for c in new if new[c] != old.data[c])
                    out.append(RowChange(tname, trow.uuid, old, new, new_uuid(), changed))
                else:
                    odata = old.data
                    changed = frozenset(
                        c for c in new if new[c] is not odata[c] and new[c] != odata[c]
                    )
                    if changed:
                        out.append(RowChange(tname, trow.uuid, old, new, new_uuid(), changed))
        return out

    def _check_max_rows(self) -> None:
        for tname, rows in self.changes.items():
            table = self.db.tables[tname]
            limit = table.schema.max_rows
            if limit == _UNLIMITED:
                continue
            n = len(table.rows)
            for trow in rows.values():
                n += (trow.new is not None) - (trow.old is not None)
            if n > limit:
                raise constraint_violation(
                    f'transaction causes "{tname}" table to contain {n} rows, greater than '
                    f"the schema-defined limit of {int(limit)} row(s)"
                )

    def _index_error(self, table: Table, columns: tuple[str, ...], a: Uuid, b: Uuid) -> OvsdbError:
        """ovsdb-server's message for two rows with the same value in one index."""
        rows = self.changes.get(table.name, {})
        if all(u in rows and rows[u].old is None for u in (a, b)) and b < a:
            a, b = b, a  # two new rows: in a stable order

        def values(data: RowData) -> str:
            schema = table.schema.columns
            return _english([datum_to_text(schema[c].type, data[c]) for c in columns])

        def describe(title: str, uuid: Uuid) -> str:
            text = f"{title} row, with UUID {uuid}, "
            trow = rows.get(uuid)
            if trow is None:
                return text + (
                    "existed in the database before this transaction and was not modified by "
                    "the transaction."
                )
            if trow.old is None:
                return text + "was inserted by this transaction."
            assert trow.new is not None
            if values(trow.old.data) == values(trow.new):
                return text + (
                    "existed in the database before this transaction, which modified some of "
                    "the row's columns but not any columns in this index."
                )
            return text + (
                f"had the following index values before the transaction: {values(trow.old.data)}."
            )

        data = self.get(table.name, b)
        assert data is not None
        names = _english([f'"{c}"' for c in columns])
        plural = "columns" if len(columns) > 1 else "column"
        return constraint_violation(
            f'Transaction causes multiple rows in "{table.name}" table to have identical values '
            f"({values(data)}) for index on {plural} {names}.  "
            f"{describe('First', a)}  {describe('Second', b)}"
        )

    def _check_indexes(self) -> None:
        for tname, rows in self.changes.items():
            table = self.db.tables[tname]
            for i, columns in enumerate(table.schema.indexes):
                seen: dict[Any, Uuid] = {}
                for trow in rows.values():
                    if trow.new is None:
                        continue
                    key = table.index_key(i, trow.new)
                    other = seen.get(key)
                    if other is None:
                        holder = table.index_maps[i].get(key)
                        if holder is not None and holder != trow.uuid:
                            held = rows.get(holder)
                            if held is None or (
                                held.new is not None and table.index_key(i, held.new) == key
                            ):
                                other = holder
                    if other is not None:
                        raise self._index_error(table, columns, other, trow.uuid)
                    seen[key] = trow.uuid


def _english(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b, and c``: how ovsdb-server lists index columns and values."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _account(
    table: Table, uuid: Uuid, old: RowData | None, new: RowData | None, delta: dict[RefKey, int]
) -> None:
    """Add to ``delta`` the change in strong reference counts from ``old`` to ``new``.

    As in ovsdb-server, a row's references to itself do not count.
    """
    columns = table.schema.columns
    own = (table.name, uuid)
    for col in table.strong_cols:
        odat = None if old is None else old[col]
        ndat = None if new is None else new[col]
        if odat is ndat or (not odat and not ndat):  # unchanged, or no references either way
            continue
        ctype = columns[col].type
        if ctype.value is None and not ctype.is_scalar:
            # the common case, a set of references: diff the sets in C
            ref_table = ctype.key.ref_table
            assert ref_table is not None
            empty: frozenset[Uuid] = frozenset()
            oset = odat if odat is not None else empty
            nset = ndat if ndat is not None else empty
            for target in nset - oset:
                key = (ref_table, target)
                if key != own:
                    delta[key] = delta.get(key, 0) + 1
            for target in oset - nset:
                key = (ref_table, target)
                if key != own:
                    delta[key] = delta.get(key, 0) - 1
            continue
        if odat is not None:
            for key in datum_refs(ctype, odat, strong=True):
                if key != own:
                    delta[key] = delta.get(key, 0) - 1
        if ndat is not None:
            for key in datum_refs(ctype, ndat, strong=True):
                if key != own:
                    delta[key] = delta.get(key, 0) + 1


def make_symtab() -> Symtab:
    return Symtab()
