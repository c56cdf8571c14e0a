"""Run ctl commands against an in-memory replica (no sockets): the rows a command chain
would see, the working copy it leaves and the OVSDB operations it would commit."""

from __future__ import annotations

import uuid as _uuid
from dataclasses import dataclass
from typing import Any

from pyovn.cli.ctl.context import Ctx, RunState, Tool
from pyovn.cli.ctl.options import parse_command_line
from pyovn.cli.ctl.runner import Outcome, _resolve
from pyovn.cli.ctl.workdb import WorkDb
from pyovn.ovsdb.client.replica import RowView
from pyovn.ovsdb.client.txn import Txn
from pyovn.ovsdb.data import default_datum
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.types import Uuid
from pyovn.schemas import schema_path

_SCHEMAS: dict[str, DatabaseSchema] = {}


def schema(name: str) -> DatabaseSchema:
    if name not in _SCHEMAS:
        _SCHEMAS[name] = DatabaseSchema.from_file(schema_path(name))
    return _SCHEMAS[name]


@dataclass
class Result:
    out: str
    ops: list[dict[str, Any]]
    db: WorkDb
    warnings: list[str]

    def op_names(self) -> list[str]:
        return [op["op"] for op in self.ops]


class MemDb:
    def __init__(self, schema_name: str = "nb") -> None:
        self.schema = schema(schema_name)
        self.tables: dict[str, dict[Uuid, RowView]] = {}
        self._n = 0

    def add(self, table: str, uuid: str | None = None, **columns: Any) -> Uuid:
        if uuid is None:
            self._n += 1
            uuid = str(_uuid.UUID(int=(0xA0 << 120) + self._n))
        key = Uuid(uuid)
        cols = self.schema.tables[table].columns
        data = {c: default_datum(col.type) for c, col in cols.items()}
        data.update(columns)
        self.tables.setdefault(table, {})[key] = RowView(table, key, data)
        return key

    def run(self, tool: Tool, *argv: str) -> Result:
        opts, commands = parse_command_line(list(argv), tool.specs, wait_allowed=tool.wait_allowed)
        txn = Txn(self.schema)
        db = WorkDb(self.schema, lambda t: self.tables.get(t, {}), txn)
        state = RunState()
        if tool.init is not None:
            tool.init(db)
        outcome = Outcome(warnings=state.warnings)
        for cmd in commands:
            ctx = Ctx(tool, db, cmd, opts, state)
            cmd.spec.run(ctx)
            outcome.outputs.append("".join(ctx.out))
        _resolve(outcome, None)
        return Result("".join(outcome.outputs), txn.ops, db, state.warnings)
