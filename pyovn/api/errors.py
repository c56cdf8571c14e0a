"""Neutron's error envelope: {"NeutronError": {"type", "message", "detail"}} + HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    type = "NeutronError"

    def __init__(self, message: str, type_: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if type_ is not None:
            self.type = type_
        if status is not None:
            self.status = status

    def body(self) -> dict[str, dict[str, str]]:
        return {"NeutronError": {"type": self.type, "message": self.message, "detail": ""}}


class BadRequest(ApiError):
    status = 400
    type = "HTTPBadRequest"


class NotFound(ApiError):
    status = 404

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(
            f"{kind.capitalize()} {ident} could not be found.", f"{kind.capitalize()}NotFound"
        )


class Conflict(ApiError):
    status = 409
    type = "Conflict"


class Unauthorized(ApiError):
    status = 401
    type = "HTTPUnauthorized"
