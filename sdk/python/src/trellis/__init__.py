"""Trellis SDK: the in-trial API for training programs run by Trellis's `command` runtime.

    import trellis
    p = trellis.params({"lr": 1e-3})
    for epoch in range(1, 11):
        ...
        trellis.report(step=epoch, val_loss=val_loss)
        if trellis.should_stop():
            break
"""

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
