"""pyovn sbctl: inspect (and, for testing, edit) the OVN Southbound database with
ovn-sbctl's syntax.

    pyovn sbctl [--db=REMOTE] [--timeout=SECS] CMD [ARG...] [-- CMD...]...

show, lflow-list/dump-flows, count-flows, chassis-add/del, lsp-bind/unbind and the generic
database commands behave as in ovn-sbctl; chassis-list is pyovn's own. See docs/cli.md.
"""

from __future__ import annotations

from typing import Any

from pyovn.cli.ctl.context import Ctx, Tool
from pyovn.cli.ctl.dbcmds import db_commands
from pyovn.cli.ctl.names import SB_ROW_IDS
from pyovn.cli.ctl.options import CommandSpec
from pyovn.cli.ctl.runner import main as run_tool
from pyovn.cli.ctl.sb_lflow import lflow_commands
from pyovn.cli.ctl.sb_show import chassis_commands
from pyovn.cli.ctl.workdb import WorkDb

SB_GLOBAL = "SB_Global"


def ensure_sb_global(db: WorkDb) -> Any:
    """Like ovn-sbctl: create the SB_Global row if there is none."""
    rows = db.rows(SB_GLOBAL)
    if rows:
        return next(iter(rows))
    db.verify_absent(SB_GLOBAL, [])
    return db.insert(SB_GLOBAL, {})


def cmd_init(ctx: Ctx) -> None:
    ensure_sb_global(ctx.db)


def _specs() -> dict[str, CommandSpec]:
    specs: dict[str, CommandSpec] = {
        "init": CommandSpec("init", 0, 0, cmd_init, (), (), "init",
                            "initialize the database (create SB_Global)"),
    }  # fmt: skip
    specs.update(chassis_commands())
    specs.update(lflow_commands())
    specs.update(db_commands(SB_ROW_IDS))
    return specs


TOOL = Tool(
    prog="ovn-sbctl",
    database="OVN_Southbound",
    specs=_specs(),
    row_ids=SB_ROW_IDS,
    db_env="OVN_SB_DB",
    db_sock="ovnsb_db.sock",
    init=ensure_sb_global,
    always_watch=(SB_GLOBAL,),
    wait_allowed=False,
    schema_name="sb",
    help_text="pyovn sbctl: OVN southbound DB management utility (ovn-sbctl syntax)\n"
    "usage: pyovn sbctl [OPTIONS] COMMAND [ARG...] [-- COMMAND [ARG...]]...",
)


def main(argv: list[str]) -> int:
    return run_tool(TOOL, argv)
