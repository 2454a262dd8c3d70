"""Typed errors of the Trellis client: every failed gRPC call becomes one of these.

The mapping mirrors the coordinator's one table of error kinds (shared/errors.ts):
INVALID_ARGUMENT -> InvalidSpec (with the field paths the server named), NOT_FOUND -> NotFound,
FAILED_PRECONDITION -> FailedPrecondition, PERMISSION_DENIED -> PermissionDenied,
UNAUTHENTICATED -> Unauthenticated, UNAVAILABLE -> Unavailable, DEADLINE_EXCEEDED ->
DeadlineExceeded; anything else is a plain TrellisError. All carry `code` (the gRPC status
name) and `details` (the server's message).
"""

from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

__all__ = [
    "TrellisError",
    "InvalidSpec",
    "NotFound",
    "FailedPrecondition",
    "PermissionDenied",
    "Unauthenticated",
    "Unavailable",
    "DeadlineExceeded",
    "from_rpc_error",
]


class TrellisError(Exception):
    """Base of every error the client raises for a failed call."""

    code: str = "UNKNOWN"

    def __init__(self, details: str, code: Optional[str] = None) -> None:
        super().__init__(details)
        self.details = details
        if code is not None:
            self.code = code


# `search.space.lr: must be ...`: the server names the field first, then the rule.
_ISSUE = re.compile(r"^([A-Za-z0-9_$\[\].\-]+(?:, [A-Za-z0-9_$\[\].\-]+)*): (.*)$", re.S)


class InvalidSpec(TrellisError):
    """The spec or a request field is invalid (INVALID_ARGUMENT).

    `issues` lists (field path, message) pairs, one per problem the server found; `field` is the
    first path ("" when the server named none)."""

    code = "INVALID_ARGUMENT"

    def __init__(self, details: str, code: Optional[str] = None) -> None:
        super().__init__(details, code)
        self.issues: List[Tuple[str, str]] = []
        for line in details.split("\n"):
            if not line.strip():
                continue
            match = _ISSUE.match(line.strip())
            self.issues.append((match.group(1), match.group(2)) if match else ("", line.strip()))
        self.field: str = self.issues[0][0] if self.issues else ""


class NotFound(TrellisError):
    code = "NOT_FOUND"


class FailedPrecondition(TrellisError):
    """Valid request, but the state does not allow it (cancel a finished experiment)."""

    code = "FAILED_PRECONDITION"


class PermissionDenied(TrellisError):
    code = "PERMISSION_DENIED"


class Unauthenticated(TrellisError):
    code = "UNAUTHENTICATED"


class Unavailable(TrellisError):
    """The coordinator (or its store) cannot be reached."""

    code = "UNAVAILABLE"


class DeadlineExceeded(TrellisError):
    """A call or wait ran past its deadline."""

    code = "DEADLINE_EXCEEDED"


_BY_CODE = {
    "INVALID_ARGUMENT": InvalidSpec,
    "NOT_FOUND": NotFound,
    "FAILED_PRECONDITION": FailedPrecondition,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAUTHENTICATED": Unauthenticated,
    "UNAVAILABLE": Unavailable,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
}


def from_rpc_error(err: Any) -> TrellisError:
    """The TrellisError for a grpc.RpcError (anything with code() and details())."""
    status = err.code()
    name = getattr(status, "name", str(status))
    details = err.details() or name
    cls = _BY_CODE.get(name, TrellisError)
    return cls(details, name)
