"""What a command sees while it runs: the working database, its arguments and options,
the global options, names defined with ``--id=@name``, and where its output goes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyovn.cli.ctl.names import IdRule, find_record, find_table
from pyovn.cli.ctl.options import Command, CommandSpec, GlobalOptions
from pyovn.cli.ctl.values import CtlError
from pyovn.cli.ctl.workdb import Key, WorkDb
from pyovn.ovsdb.schema import TableSchema


class NotYet(Exception):
    """The command waits for the database to change (wait-until): run the chain again
    after the next update."""


@dataclass(frozen=True)
class Tool:
    """One ctl program: its name in messages, database, commands and naming rules."""

    prog: str
    database: str
    specs: dict[str, CommandSpec]
    row_ids: dict[str, tuple[IdRule, ...]]
    db_env: str
    db_sock: str
    init: Callable[[WorkDb], Any] | None = None  # e.g. create NB_Global if missing
    always_watch: tuple[str, ...] = ()
    wait_allowed: bool = False
    schema_name: str = "nb"  # packaged schema used to plan which tables to monitor
    # --wait=sb|hv: bump_cfg(db) adds the nb_cfg increment and returns the index of the
    # result holding the new value; cfg_reached(rows, wait, cfg) says when it has propagated
    bump_cfg: Callable[[WorkDb], int] | None = None
    cfg_reached: Callable[[Callable[[str], Any], str, int], bool] | None = None
    help_text: str = ""


@dataclass
class RunState:
    """Shared by all commands of one invocation (one transaction attempt)."""

    symbols: dict[str, Any] = field(default_factory=dict)
    created: dict[str, tuple[Any, str]] = field(default_factory=dict)  # @name -> (row, table)
    force_wait: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class Ctx:
    tool: Tool
    db: WorkDb
    cmd: Command
    opts: GlobalOptions
    state: RunState
    out: list[str] = field(default_factory=list)

    @property
    def args(self) -> list[str]:
        return self.cmd.args

    def has(self, option: str) -> bool:
        return self.cmd.has(option)

    def line(self, text: str = "") -> None:
        self.out.append(text + "\n")

    def write(self, text: str) -> None:
        self.out.append(text)

    def warn(self, text: str) -> None:
        self.state.warnings.append(text)

    def table(self, name: str) -> TableSchema:
        return find_table(self.db.schema, name)

    def record(self, table: str, record: str, must_exist: bool = True) -> Key | None:
        return find_record(
            self.db, self.tool.row_ids, table, record, must_exist, self.state.symbols
        )

    def symbol(self, name: str) -> Any:
        value = self.state.symbols.get(name)
        if value is None:
            raise CtlError(
                f'row id "{name}" is referenced but never created (e.g. with '
                f'"-- --id={name} create ...")'
            )
        return value
