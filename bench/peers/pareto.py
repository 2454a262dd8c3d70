"""Multi-objective peers on ZDT1 / ZDT2 (Zitzler, Deb and Thiele 2000): 30 variables in [0, 1],
both objectives minimised. Sequential ask/tell, one trial at a time, like Trellis's side of the
suite (bench/pareto.ts), which computes every hypervolume from the points printed here with the
same code and reference point as its own.

    python pareto.py --sampler nsga2 --problem zdt1 --trials 300 --seeds 0,1,2,3,4

nsga2: optuna.samplers.NSGAIISampler(seed=seed), defaults (population 50, uniform crossover,
        mutation by resampling); tpe: optuna.samplers.TPESampler(seed=seed), defaults, with two
        objectives (Optuna's multi-objective TPE: rank + HSSP split, hypervolume weights).
"""
import argparse
import math

from common import clock, emit, log, missing, versions

DIMS = 30


def zdt(problem, x):
    f1 = x[0]
    g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
    h = 1 - math.sqrt(f1 / g) if problem == "zdt1" else 1 - (f1 / g) ** 2
    return f1, g * h


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sampler", choices=["nsga2", "tpe"], required=True)
    p.add_argument("--problem", choices=["zdt1", "zdt2"], required=True)
    p.add_argument("--trials", type=int, default=300)
    p.add_argument("--seeds", default="0,1,2,3,4")
    args = p.parse_args()
    try:
        import optuna
    except ImportError:
        missing("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runs = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        sampler = (
            optuna.samplers.NSGAIISampler(seed=seed)
            if args.sampler == "nsga2"
            else optuna.samplers.TPESampler(seed=seed)
        )
        study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
        start = clock()
        points = []
        for _ in range(args.trials):
            trial = study.ask()
            x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(DIMS)]
            f = zdt(args.problem, x)
            study.tell(trial, list(f))
            points.append(list(f))
        seconds = clock() - start
        log(f"optuna {args.sampler} {args.problem} seed {seed}: {seconds:.1f} s")
        runs.append({"seed": seed, "points": points, "seconds": seconds})
    emit({"versions": versions(), "runs": runs})


if __name__ == "__main__":
    main()
