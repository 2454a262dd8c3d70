"""Helpers shared by the peer scripts: progress on stderr, the one JSON result on stdout."""
import json
import math
import os
import sys
import time

SETUP_HINT = "run bench/peers/setup"


def log(message):
    """A progress line (the TypeScript driver echoes lines starting with 'peer:')."""
    print(f"peer: {message}", file=sys.stderr, flush=True)


def emit(result):
    """Prints the result as the last stdout line and exits."""
    sys.stdout.write(json.dumps(result, default=_jsonable) + "\n")
    sys.stdout.flush()
    # Ray leaves threads behind; do not wait for them.
    os._exit(0)


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def missing(module):
    emit({"missing": f"{SETUP_HINT} ({module} is not installed in bench/.venv)"})


def versions():
    out = {"python": sys.version.split()[0]}
    try:
        import optuna

        out["optuna"] = optuna.__version__
    except ImportError:
        pass
    try:
        import ray

        out["ray"] = ray.__version__
    except ImportError:
        pass
    return out


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def sd(values):
    if len(values) < 2:
        return 0.0
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def clock():
    return time.perf_counter()
