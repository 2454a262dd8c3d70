"""Trellis SDK: the in-trial API for training programs run by Trellis's `command` runtime, and
`trellis.Client`, a client of the coordinator's gRPC API.

    import trellis
    p = trellis.params({"lr": 1e-3})
    for epoch in range(1, 11):
        ...
        trellis.report(step=epoch, val_loss=val_loss)
        if trellis.should_stop():
            break

    client = trellis.Client("127.0.0.1:50051")
    exp = client.wait(client.submit("sweep.yaml").id)

The in-trial API needs nothing beyond the standard library; `Client` (imported on first use)
needs grpcio and protobuf.
"""

from typing import Any

from .errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidSpec,
    NotFound,
    PermissionDenied,
    TrellisError,
    Unauthenticated,
    Unavailable,
)

from ._trial import (
    attempt,
    checkpoint_dir,
    checkpoint_saved,
    in_trellis,
    outputs,
    params,
    report,
    report_final,
    request_stop,
    resume_step,
    seed,
    should_stop,
)

__all__ = [
    "Client",
    "DeadlineExceeded",
    "FailedPrecondition",
    "InvalidSpec",
    "NotFound",
    "PermissionDenied",
    "TrellisError",
    "Unauthenticated",
    "Unavailable",
    "attempt",
    "checkpoint_dir",
    "checkpoint_saved",
    "in_trellis",
    "outputs",
    "params",
    "report",
    "report_final",
    "request_stop",
    "resume_step",
    "seed",
    "should_stop",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The client imports grpc; a training program that only reports never pays for it.
    if name == "Client":
        from .client import Client

        return Client
    raise AttributeError(f"module 'trellis' has no attribute {name!r}")
