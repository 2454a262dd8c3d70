"""Optuna on the two-objective fairness sweep (bench/pareto-fairness.ts, examples/fairness-pareto.yaml).

    python pareto_fairness.py --sampler nsga2 --seed 0 --trials 40 --population 8 \
        --space '{...}' --objectives '[...]' --test-metrics '[...]' --evaluator '["node", "dist/bench/fairness-trial.js"]'

The search space is Trellis's, handed over as JSON (normalised domains: choice, uniform,
loguniform, int; `when` conditions on a choice): a conditional parameter is suggested only in
trials where its condition holds (Optuna's define-by-run), parents before children. Every
configuration is scored by the same evaluator process as Trellis's side (one JSON line in, one
out), so only the search differs. Sequential ask/tell, one trial at a time.

nsga2: optuna.samplers.NSGAIISampler(population_size=P, seed=seed), other settings default;
tpe:   optuna.samplers.TPESampler(seed=seed), defaults, two objectives (Optuna's multi-objective TPE).
A trial whose evaluation fails is told FAIL.
"""
import argparse
import json
import subprocess

from common import clock, emit, log, missing, versions


def holds(domain, params):
    for parent, expected in (domain.get("when") or {}).items():
        if parent not in params:
            return False
        allowed = expected if isinstance(expected, list) and not isinstance(params[parent], list) else [expected]
        if params[parent] not in allowed:
            return False
    return True


def ordered(space):
    """Parameter names with every parent before the parameters conditioned on it."""
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        for parent in (space[name].get("when") or {}):
            visit(parent)
        order.append(name)

    for name in sorted(space):
        visit(name)
    return order


def suggest(trial, space):
    params = {}
    for name in ordered(space):
        d = space[name]
        if not holds(d, params):
            continue
        kind = d["kind"]
        if kind == "choice":
            params[name] = trial.suggest_categorical(name, d["values"])
        elif kind == "uniform":
            params[name] = trial.suggest_float(name, d["low"], d["high"])
        elif kind == "loguniform":
            params[name] = trial.suggest_float(name, d["low"], d["high"], log=True)
        elif kind == "int":
            params[name] = trial.suggest_int(name, d["low"], d["high"], log=bool(d.get("log")))
        else:
            raise ValueError(f"unknown domain kind {kind}")
    return params


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sampler", choices=["nsga2", "tpe"], required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--trials", type=int, required=True)
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--space", required=True)
    p.add_argument("--objectives", required=True)
    p.add_argument("--test-metrics", required=True)
    p.add_argument("--evaluator", required=True)
    args = p.parse_args()
    try:
        import optuna
        from optuna.trial import TrialState
    except ImportError:
        missing("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = json.loads(args.space)
    objectives = json.loads(args.objectives)
    test_metrics = json.loads(args.test_metrics)
    evaluator = subprocess.Popen(json.loads(args.evaluator), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    sampler = (
        optuna.samplers.NSGAIISampler(population_size=args.population, seed=args.seed)
        if args.sampler == "nsga2"
        else optuna.samplers.TPESampler(seed=args.seed)
    )
    directions = ["maximize" if o["mode"] == "max" else "minimize" for o in objectives]
    study = optuna.create_study(directions=directions, sampler=sampler)
    start = clock()
    points, test, failed = [], [], 0
    for _ in range(args.trials):
        trial = study.ask()
        params = suggest(trial, space)
        evaluator.stdin.write(json.dumps({"params": params}) + "\n")
        evaluator.stdin.flush()
        answer = json.loads(evaluator.stdout.readline() or '{"error": "evaluator closed"}')
        metrics = answer.get("metrics") or {}
        values = [metrics.get(o["metric"]) for o in objectives]
        if "error" in answer or any(v is None for v in values):
            study.tell(trial, state=TrialState.FAIL)
            failed += 1
            continue
        study.tell(trial, values)
        points.append(values)
        test.append([metrics[m] for m in test_metrics])
    seconds = clock() - start
    evaluator.stdin.close()
    evaluator.wait()
    log(f"optuna {args.sampler} fairness seed {args.seed}: {seconds:.1f} s")
    emit({"versions": versions(), "run": {"seed": args.seed, "points": points, "test": test, "failed": failed, "seconds": seconds}})


if __name__ == "__main__":
    main()
