"""pyovn nbctl: configure the OVN Northbound database with ovn-nbctl's syntax.

    pyovn nbctl [--db=REMOTE] [--wait=sb|hv] [--timeout=SECS] CMD [ARG...] [-- CMD...]...

All commands of one invocation form one OVSDB transaction. With ``--wait=sb`` (``hv``) the
transaction also adds 1 to NB_Global.nb_cfg and the command returns once NB_Global.sb_cfg
(``hv_cfg``) has caught up, i.e. once northd (and every chassis) has processed the change.
See docs/cli.md for the command reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyovn.cli.ctl.context import Ctx, Tool
from pyovn.cli.ctl.dbcmds import db_commands
from pyovn.cli.ctl.names import NB_ROW_IDS
from pyovn.cli.ctl.nb_show import SHOW_SPEC
from pyovn.cli.ctl.nb_switch import switch_commands
from pyovn.cli.ctl.options import CommandSpec
from pyovn.cli.ctl.runner import main as run_tool
from pyovn.cli.ctl.workdb import WorkDb

NB_GLOBAL = "NB_Global"


def ensure_nb_global(db: WorkDb) -> Any:
    """Like ovn-nbctl: every invocation creates the NB_Global row if there is none (the
    ``wait`` makes two racing invocations retry instead of both inserting one)."""
    rows = db.rows(NB_GLOBAL)
    if rows:
        return next(iter(rows))
    db.verify_absent(NB_GLOBAL, [])
    return db.insert(NB_GLOBAL, {})


def bump_nb_cfg(db: WorkDb) -> int:
    return db.increment(NB_GLOBAL, ensure_nb_global(db), "nb_cfg")


def nb_cfg_reached(rows: Callable[[str], Any], wait: str, cfg: int) -> bool:
    column = "hv_cfg" if wait == "hv" else "sb_cfg"
    return any(row[column] >= cfg for row in rows(NB_GLOBAL).values())


def cmd_init(ctx: Ctx) -> None:
    ensure_nb_global(ctx.db)


def cmd_sync(ctx: Ctx) -> None:
    ctx.state.force_wait = True


def _specs() -> dict[str, CommandSpec]:
    specs: dict[str, CommandSpec] = {
        "init": CommandSpec("init", 0, 0, cmd_init, (), (), "init",
                            "initialize the database (create NB_Global)"),
        "show": SHOW_SPEC,
        "sync": CommandSpec("sync", 0, 0, cmd_sync, (), (), "sync",
                            "wait for earlier changes to take effect (with --wait)"),
    }  # fmt: skip
    specs.update(switch_commands())
    specs.update(db_commands(NB_ROW_IDS))
    return specs


TOOL = Tool(
    prog="ovn-nbctl",
    database="OVN_Northbound",
    specs=_specs(),
    row_ids=NB_ROW_IDS,
    db_env="OVN_NB_DB",
    db_sock="ovnnb_db.sock",
    init=ensure_nb_global,
    always_watch=(NB_GLOBAL,),
    wait_allowed=True,
    schema_name="nb",
    bump_cfg=bump_nb_cfg,
    cfg_reached=nb_cfg_reached,
    help_text="pyovn nbctl: OVN northbound DB management utility (ovn-nbctl syntax)\n"
    "usage: pyovn nbctl [OPTIONS] COMMAND [ARG...] [-- COMMAND [ARG...]]...",
)


def main(argv: list[str]) -> int:
    return run_tool(TOOL, argv)
