"""The ``_Server`` database: one Database row per served database, so clients that
monitor ``_Server`` first (ovn-nbctl, ovsdb-client, the C and Python IDLs) find what they need.
"""

from __future__ import annotations

from typing import Any

from pyovn.ovsdb.jsonio import dumps
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import execute

SERVER_DB = "_Server"

SERVER_SCHEMA_JSON: dict[str, Any] = {
    "name": SERVER_DB,
    "version": "1.2.0",
    "tables": {
        "Database": {
            "columns": {
                "name": {"type": "string"},
                "model": {
                    "type": {
                        "key": {
                            "type": "string",
                            "enum": ["set", ["clustered", "relay", "standalone"]],
                        }
                    }
                },
                "connected": {"type": "boolean"},
                "leader": {"type": "boolean"},
                "schema": {"type": {"key": "string", "min": 0}},
                "cid": {"type": {"key": "uuid", "min": 0}},
                "sid": {"type": {"key": "uuid", "min": 0}},
                "index": {"type": {"key": "integer", "min": 0}},
            }
        }
    },
}


def new_server_database() -> Database:
    return Database(DatabaseSchema.from_json(SERVER_SCHEMA_JSON))


def add_database_row(server_db: Database, schema: DatabaseSchema) -> None:
    """Record a served (standalone) database in ``_Server``."""
    schema_text = dumps(schema.to_json())
    row = {
        "name": schema.name,
        "model": "standalone",
        "connected": True,
        "leader": True,
        "schema": schema_text,
    }
    result = execute(server_db, [{"op": "insert", "table": "Database", "row": row}])
    assert result.commit is not None, result.results
    server_db.apply(result.commit)
