"""Suggest peer: Optuna's TPESampler time per suggestion on a pre-filled study.

    python suggest.py history-100.json history-1000.json ...

Each file holds the finished trials as [{"params": {...}, "value": v}, ...] (written by the
TypeScript suite, so both samplers see the same trials). The study (in-memory storage,
direction maximize) is filled with study.add_trials(create_trial(...)); then each timed call is
study.ask(fixed_distributions) — which runs sample_relative and sample_independent for the 4
params — followed by an untimed tell(FAIL), so the history stays the same.
"""
import json
import statistics
import sys
import time

from common import emit, log, missing, versions

try:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.trial import TrialState, create_trial
except ImportError:
    missing("optuna")

DISTRIBUTIONS = {
    "x": FloatDistribution(0.0, 1.0),
    "y": FloatDistribution(-5.0, 5.0),
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "kind": CategoricalDistribution(["a", "b", "c", "d"]),
}


def time_asks(history, multivariate, budget_s=3.0, min_calls=5, max_calls=100):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = optuna.samplers.TPESampler(seed=11, multivariate=multivariate)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.add_trials([create_trial(params=h["params"], distributions=DISTRIBUTIONS, value=h["value"]) for h in history])
    # Warm-up: the first ask builds caches (search space, trial cache).
    for _ in range(2):
        trial = study.ask(DISTRIBUTIONS)
        study.tell(trial, state=TrialState.FAIL)
    times = []
    start = time.perf_counter()
    for _ in range(max_calls):
        t0 = time.perf_counter()
        trial = study.ask(DISTRIBUTIONS)
        times.append((time.perf_counter() - t0) * 1000)
        study.tell(trial, state=TrialState.FAIL)
        if len(times) >= min_calls and time.perf_counter() - start > budget_s:
            break
    return {"n": len(history), "calls": len(times), "ms_median": statistics.median(times), "ms_mean": statistics.fmean(times)}


def main():
    out = {"versions": versions(), "univariate": {}, "multivariate": {}}
    for path in sys.argv[1:]:
        with open(path) as f:
            history = json.load(f)
        for mode, flag in (("univariate", False), ("multivariate", True)):
            timing = time_asks(history, flag)
            out[mode][str(len(history))] = timing
            log(f"optuna tpe {mode}, {len(history)} trials: {timing['ms_median']:.2f} ms (median of {timing['calls']})")
    emit(out)


if __name__ == "__main__":
    main()
