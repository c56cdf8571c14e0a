"""SQL for the API's hot path without SQLAlchemy's per-statement work: statements written once
with SQLAlchemy Core (so that tables and columns stay defined in models.py), compiled once
for the engine's dialect, then run on the driver's own cursor with plain parameters.

Running a prebuilt Core statement costs SQLAlchemy 50-80 µs of Python (execution context,
result proxy, type processing); SQLite itself needs about 15 µs for the statements of a
port create. What SQLAlchemy's types would do is done by the caller: JSON columns go in as
text (``json_text``) and come back as text from SQLite and as Python values from psycopg
(``json_value`` reads both); booleans come back as 0/1 from SQLite (``bool()`` them).

``Db`` is the small interface the port code reads through: ``CursorDb`` (this module's fast
path, which also inserts) and ``SessionDb`` (the same statements on an ORM session, for the
paths that change ORM objects), so the checks and allocations are written once for both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement


def json_text(value: Any) -> str:
    return json.dumps(value)


def json_value(value: Any) -> Any:
    """A JSON column's value as the driver returned it (text from SQLite)."""
    return json.loads(value) if isinstance(value, str) else value


class Prepared:
    """``stmt`` compiled for a dialect: its SQL text and how to pass its parameters."""

    __slots__ = ("names", "sql")

    def __init__(self, stmt: ClauseElement, engine: Engine, column_keys: list[str] | None) -> None:
        compiled = stmt.compile(dialect=engine.dialect, column_keys=column_keys)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("expanding or literal-execute parameters cannot be prepared")
        self.sql = str(compiled)
        self.names: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )

    def args(self, params: dict[str, Any]) -> Any:
        if self.names is None:
            return params
        return tuple(params[name] for name in self.names)


class Db(Protocol):
    def rows(self, stmt: ClauseElement, params: dict[str, Any]) -> Sequence[Sequence[Any]]: ...

    def first(self, stmt: ClauseElement, params: dict[str, Any]) -> Sequence[Any] | None: ...

    def scalars(self, stmt: ClauseElement, params: dict[str, Any]) -> list[Any]: ...


class RawSql:
    """Prepared statements of one engine, and transactions on its pooled DB-API
    connections (a connection's pool events, such as SQLite's pragmas, still apply)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.integrity_error: type[Exception] = engine.dialect.loaded_dbapi.IntegrityError
        self._prepared: dict[tuple[int, tuple[str, ...] | None], tuple[ClauseElement, Prepared]]
        self._prepared = {}

    def prepared(self, stmt: ClauseElement, columns: list[str] | None = None) -> Prepared:
        key = (id(stmt), tuple(columns) if columns is not None else None)
        hit = self._prepared.get(key)
        if hit is None or hit[0] is not stmt:  # (the statement is kept: its id stays unique)
            hit = (stmt, Prepared(stmt, self.engine, columns))
            self._prepared[key] = hit
        return hit[1]

    @contextmanager
    def transaction(self, begin: str | None = None) -> Iterator[CursorDb]:
        """A cursor in a transaction that commits when the block ends without an
        exception and rolls back otherwise. ``begin``: the statement that starts it (for
        SQLite's ``BEGIN IMMEDIATE``); without it the driver starts it as it does."""
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                if begin is not None:
                    cursor.execute(begin)
                yield CursorDb(self, cursor)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool


class CursorDb:
    def __init__(self, raw: RawSql, cursor: Any) -> None:
        self.raw = raw
        self.cursor = cursor

    def rows(self, stmt: ClauseElement, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        p = self.raw.prepared(stmt)
        self.cursor.execute(p.sql, p.args(params))
        return list(self.cursor.fetchall())

    def first(self, stmt: ClauseElement, params: dict[str, Any]) -> Sequence[Any] | None:
        p = self.raw.prepared(stmt)
        self.cursor.execute(p.sql, p.args(params))
        row: Sequence[Any] | None = self.cursor.fetchone()
        return row

    def scalars(self, stmt: ClauseElement, params: dict[str, Any]) -> list[Any]:
        return [row[0] for row in self.rows(stmt, params)]

    def insert(self, stmt: ClauseElement, rows: list[dict[str, Any]], columns: list[str]) -> None:
        p = self.raw.prepared(stmt, columns)
        for row in rows:  # (executemany cannot take PostgreSQL's implicit RETURNING)
            self.cursor.execute(p.sql, p.args(row))

    @contextmanager
    def savepoint(self) -> Iterator[CursorDb]:
        """A nested transaction: what the block wrote is undone if it raises (the outer
        transaction goes on)."""
        self.cursor.execute("SAVEPOINT pyovn_job")
        try:
            yield self
        except BaseException:
            self.cursor.execute("ROLLBACK TO SAVEPOINT pyovn_job")
            self.cursor.execute("RELEASE SAVEPOINT pyovn_job")
            raise
        self.cursor.execute("RELEASE SAVEPOINT pyovn_job")


class SessionDb:
    """The same read statements on an ORM session's connection (SQLAlchemy's types apply,
    so JSON columns come back as Python values)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def rows(self, stmt: ClauseElement, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        return list(self.session.connection().execute(stmt, params).all())  # type: ignore[arg-type]

    def first(self, stmt: ClauseElement, params: dict[str, Any]) -> Sequence[Any] | None:
        row = self.session.connection().execute(stmt, params).first()  # type: ignore[arg-type]
        return row

    def scalars(self, stmt: ClauseElement, params: dict[str, Any]) -> list[Any]:
        return [row[0] for row in self.rows(stmt, params)]
