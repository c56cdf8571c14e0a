"""The RFC 7047 error object: {"error": <name>, "details": <text>, "syntax": <json>}."""

from __future__ import annotations

from typing import Any


class OvsdbError(Exception):
    """An error that becomes an RFC 7047 error object in a reply."""

    def __init__(self, error: str, details: str | None = None, syntax: Any = None) -> None:
        super().__init__(f"{error}: {details}" if details else error)
        self.error = error
        self.details = details
        self.syntax = syntax

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error}
        if self.details is not None:
            out["details"] = self.details
        if self.syntax is not None:
            import json

            # the offending JSON as text (a string value is quoted, as in ovsdb-server)
            out["syntax"] = json.dumps(self.syntax, separators=(",", ":"), sort_keys=True)
        return out


def syntax_error(details: str, syntax: Any = None) -> OvsdbError:
    return OvsdbError("syntax error", details, syntax)


def constraint_violation(details: str, syntax: Any = None) -> OvsdbError:
    return OvsdbError("constraint violation", details, syntax)
