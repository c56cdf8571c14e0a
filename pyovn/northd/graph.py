"""northd's incremental-processing graph, wired in one place:

    NB (Logical_Switch, Logical_Switch_Port)  ->  northd  ->  lflow

* ``northd`` (nodes/northd_data.py): switches, ports, tunnel keys, container tags.
  Handles NB changes incrementally (``handle_nb``).
* ``lflow`` (nodes/lflow.py): logical flows by owner. Handles ``northd`` changes
  incrementally (``handle_northd``).
Southbound changes are not an engine input: the SB side is reconciled key by key
(sync.py), and tunnel keys already in SB are read only at a full recompute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyovn.engine.graph import Engine
from pyovn.northd.nodes.inputs import DbInput
from pyovn.northd.nodes.lflow import LflowData
from pyovn.northd.nodes.northd_data import ExistingKeys, NorthdData
from pyovn.ovsdb.client.replica import RowView

NB_TABLES = ("Logical_Switch", "Logical_Switch_Port")


@dataclass
class NorthdGraph:
    engine: Engine
    nb: DbInput
    northd: NorthdData
    lflow: LflowData


def build_graph(
    nb_rows: Callable[[str], dict[str, RowView]], existing_keys: Callable[[], ExistingKeys]
) -> NorthdGraph:
    nb = DbInput("NB", NB_TABLES, nb_rows)
    northd = NorthdData(nb, existing_keys)
    northd.add_input(nb, northd.handle_nb)
    lflow = LflowData(northd)
    lflow.add_input(northd, lflow.handle_northd)
    return NorthdGraph(Engine([nb, northd, lflow]), nb, northd, lflow)
