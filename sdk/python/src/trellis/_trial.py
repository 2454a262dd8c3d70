"""The in-trial API: what a training program uses to talk to Trellis's `command` runtime.

It speaks the runtime's existing contract (docs: worker/runtimes/command.ts, examples/pytorch/README.md)
and nothing more, so a script using it still runs alone outside Trellis:

* params come from ``TRELLIS_PARAMS`` (JSON), else the file ``TRELLIS_PARAMS_FILE``, else the
  defaults the script passes;
* reports are JSON lines on stdout, ``{"metrics": {...}, "step": N}``;
* the checkpoint directory is ``TRELLIS_CHECKPOINT_DIR`` (outside Trellis: ``./trellis-checkpoint``);
* a stop request (the coordinator pruned or cancelled the attempt, or the worker is shutting
  down) arrives as SIGTERM to the program's process group; :func:`should_stop` turns it into a
  flag the training loop polls, so the loop can save a checkpoint and return within
  ``trial.stopGraceSeconds`` (after which the runtime sends SIGKILL).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Dict, Mapping, Optional, TextIO, Union

Number = Union[int, float]

_stop = threading.Event()
_handler_installed = False
_lock = threading.Lock()


def in_trellis() -> bool:
    """True when this process runs as a Trellis trial attempt (the runtime sets TRELLIS_TRIAL_ID)."""
    return bool(os.environ.get("TRELLIS_TRIAL_ID"))


def params(defaults: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The trial's params (flat, dotted names as in the spec), over ``defaults``.

    Inside Trellis they come from ``TRELLIS_PARAMS``; outside, from the JSON file named by
    ``TRELLIS_PARAMS_FILE`` if set, else only the defaults.
    """
    merged: Dict[str, Any] = dict(defaults or {})
    text = os.environ.get("TRELLIS_PARAMS")
    source = "TRELLIS_PARAMS"
    if not text and os.environ.get("TRELLIS_PARAMS_FILE"):
        source = os.environ["TRELLIS_PARAMS_FILE"]
        text = Path(source).read_text(encoding="utf-8")
    if text:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{source} is not valid JSON: {err}") from err
        if not isinstance(value, dict):
            raise ValueError(f"{source} must hold a JSON object of params, got {type(value).__name__}")
        merged.update(value)
    return merged


def seed(default: int = 0) -> int:
    """The trial's seed, an integer in [0, 2**31 - 1] (``TRELLIS_SEED``); ``default`` outside Trellis."""
    text = os.environ.get("TRELLIS_SEED")
    if text is None or text == "":
        return default
    value = int(text)
    if not 0 <= value <= 2**31 - 1:
        raise ValueError(f"TRELLIS_SEED={text} is outside [0, 2**31 - 1]")
    return value


def attempt() -> int:
    """The attempt number (1 for the first try; higher after a retry or a resume)."""
    return int(os.environ.get("TRELLIS_ATTEMPT", "1"))


def resume_step() -> Optional[int]:
    """The step of the checkpoint restored into :func:`checkpoint_dir`, or None on a fresh start."""
    text = os.environ.get("TRELLIS_RESUME_STEP")
    return int(text) if text else None


def checkpoint_dir() -> Path:
    """The directory for this attempt's checkpoint (restored from the last one when resuming).

    Outside Trellis: ``./trellis-checkpoint`` (created).
    """
    text = os.environ.get("TRELLIS_CHECKPOINT_DIR")
    path = Path(text) if text else Path("trellis-checkpoint")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _to_number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError(f"metric {name!r}: a bool is not a metric value")
    if hasattr(value, "item"):  # numpy scalars, 0-d arrays, one-element torch tensors
        value = value.item()
    if not isinstance(value, (int, float)):
        raise TypeError(f"metric {name!r}: expected a number, got {type(value).__name__}")
    return float(value)


def _emit(record: Mapping[str, Any], stream: Optional[TextIO] = None) -> None:
    # allow_nan: a NaN objective must reach the runtime (it fails the attempt as diverged).
    line = json.dumps(record, allow_nan=True, separators=(",", ":"))
    out = stream or sys.stdout
    out.write(line + "\n")
    out.flush()


def report(step: Optional[int] = None, **metrics: Any) -> None:
    """Reports metrics for one step (epoch) as ``{"metrics": {...}, "step": N}`` on stdout.

    Without ``step`` the runtime counts steps up from the last one. Values must be numbers
    (numpy and torch scalars are converted). A non-finite value of the objective metric makes
    Trellis fail the attempt as diverged.
    """
    if not metrics:
        raise ValueError("report() needs at least one metric, e.g. report(step=1, val_loss=0.3)")
    record: Dict[str, Any] = {"metrics": {name: _to_number(name, v) for name, v in metrics.items()}}
    if step is not None:
        if isinstance(step, bool) or int(step) != step or step < 0:
            raise ValueError(f"report(step=...): expected a non-negative integer, got {step!r}")
        record["step"] = int(step)
    _emit(record)


def report_final(**metrics: Any) -> None:
    """Final results that are not a step (e.g. ``test_accuracy``): ``{"final": true, ...}``."""
    record: Dict[str, Any] = {"final": True}
    record["metrics"] = {name: _to_number(name, v) for name, v in metrics.items()}
    _emit(record)


def checkpoint_saved(step: int) -> None:
    """Says that :func:`checkpoint_dir` now holds the state after ``step`` (write files first)."""
    _emit({"checkpoint": True, "step": int(step)})


def outputs(**values: Any) -> None:
    """Sets this attempt's outputs (what later pipeline stages reference): ``{"outputs": {...}}``."""
    if not values:
        raise ValueError("outputs() needs at least one value")
    json.dumps(values)  # fails here, with the value's name in the traceback, if not JSON
    _emit({"outputs": values})


def _on_sigterm(previous: Any) -> Callable[[int, Optional[FrameType]], None]:
    def handler(signum: int, frame: Optional[FrameType]) -> None:
        _stop.set()
        if callable(previous) and previous not in (signal.SIG_IGN, signal.SIG_DFL):
            previous(signum, frame)

    return handler


def should_stop() -> bool:
    """True once Trellis asked this attempt to stop (pruned, cancelled, or the worker drains).

    The first call installs a SIGTERM handler (main thread only) that records the request
    instead of ending the process, so poll it in the training loop — e.g. after each epoch —
    save a checkpoint and return. Outside Trellis nothing is installed and it returns False
    unless :func:`request_stop` was called.
    """
    global _handler_installed
    if not _handler_installed and in_trellis():
        with _lock:
            if not _handler_installed and threading.current_thread() is threading.main_thread():
                previous = signal.getsignal(signal.SIGTERM)
                signal.signal(signal.SIGTERM, _on_sigterm(previous))
                _handler_installed = True
    return _stop.is_set()


def request_stop() -> None:
    """Sets the stop flag by hand (tests, or a script's own early-stopping rule)."""
    _stop.set()


def _reset_for_tests() -> None:
    global _handler_installed
    _stop.clear()
    if _handler_installed:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _handler_installed = False


