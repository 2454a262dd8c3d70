"""Search peers on the learning-curve surrogate (curve.py): best-so-far after each epoch.

    python search.py optuna --seeds 0,1,2,3,4 --budget 600 --max-epochs 27 --concurrency 4
    python search.py ray    --seeds 0,1       --budget 600 --max-epochs 27 --concurrency 4

Optuna: TPESampler(seed) + HyperbandPruner(min_resource=1, max_resource=max_epochs,
reduction_factor=3), driven with ask/tell in the same round-robin clock as Trellis's simulator
(bench/simulate.ts): `concurrency` trials at once; each tick every running trial trains one
epoch, calls trial.report(acc, epoch) and trial.should_prune(); a pruned trial is told PRUNED
(Optuna records its last reported value), a trial at max_epochs is told its value; the freed
slot asks for a new trial at once. This is what study.optimize(n_jobs=4) does, minus the
thread scheduling, which would make the order of reports (and so the run) irreproducible.

Ray Tune: Tuner with a function trainable (tune.report every epoch), ASHAScheduler(grace 1,
reduction 3, max_t = max_epochs), random search (BasicVariantGenerator(random_state=seed)),
max_concurrent_trials = concurrency; a Stopper counts reports (one per epoch) in arrival order,
records the best so far, and stops the experiment when the budget is spent.
"""
import argparse
import os
import shutil
import tempfile

from common import clock, emit, log, missing, versions
from curve import OPTIMIZERS, accuracy, true_value


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("peer", choices=["optuna", "ray"])
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--budget", type=int, default=600)
    p.add_argument("--max-epochs", type=int, default=27)
    p.add_argument("--concurrency", type=int, default=4)
    return p.parse_args()


def optuna_run(seed, budget, max_epochs, concurrency):
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # A fixed study name: HyperbandPruner assigns trials to brackets by crc32(study name, trial
    # number), and create_study's default name is random, which made runs irreproducible.
    study = optuna.create_study(
        study_name=f"bench-search-{seed}",
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3),
    )

    def start():
        trial = study.ask()
        params = {
            "lr": trial.suggest_float("lr", 1e-4, 1.0, log=True),
            "momentum": trial.suggest_float("momentum", 0.0, 1.0),
            "dropout": trial.suggest_float("dropout", 0.0, 0.6),
            "optimizer": trial.suggest_categorical("optimizer", OPTIMIZERS),
        }
        return {"trial": trial, "params": params, "epoch": 0}

    slots = [start() for _ in range(concurrency)]
    best, incumbent, top, top_true = [], [], float("-inf"), float("nan")
    completed = pruned = 0
    while len(best) < budget:
        for s in range(len(slots)):
            if len(best) >= budget:
                break
            run = slots[s]
            run["epoch"] += 1
            value = accuracy(run["params"], run["epoch"])
            if value > top:
                top, top_true = value, true_value(run["params"], max_epochs)
            best.append(top)
            incumbent.append(top_true)
            trial = run["trial"]
            trial.report(value, run["epoch"])
            if trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                pruned += 1
            elif run["epoch"] >= max_epochs:
                study.tell(trial, value)
                completed += 1
            else:
                continue
            slots[s] = start()
    return {"seed": seed, "best": best, "incumbent": incumbent, "trials": len(study.trials), "completed": completed, "pruned": pruned}


def ray_run(seed, budget, max_epochs, concurrency, tmp):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    class BudgetStopper(tune.Stopper):
        def __init__(self):
            self.best = []
            self.incumbent = []
            self.top = float("-inf")
            self.top_true = float("nan")

        def __call__(self, trial_id, result):
            if len(self.best) < budget and "acc" in result:
                if result["acc"] > self.top:
                    config = result["config"]
                    params = {k: config[k] for k in ("lr", "momentum", "dropout", "optimizer")}
                    self.top, self.top_true = result["acc"], true_value(params, max_epochs)
                self.best.append(self.top)
                self.incumbent.append(self.top_true)
            return False

        def stop_all(self):
            return len(self.best) >= budget

    def trainable(config):
        params = {k: config[k] for k in ("lr", "momentum", "dropout", "optimizer")}
        for epoch in range(1, max_epochs + 1):
            tune.report({"acc": accuracy(params, epoch), "epoch": epoch})

    stopper = BudgetStopper()
    tuner = tune.Tuner(
        trainable,
        param_space={
            "lr": tune.loguniform(1e-4, 1.0),
            "momentum": tune.uniform(0.0, 1.0),
            "dropout": tune.uniform(0.0, 0.6),
            "optimizer": tune.choice(OPTIMIZERS),
        },
        tune_config=tune.TuneConfig(
            metric="acc",
            mode="max",
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=max_epochs, grace_period=1, reduction_factor=3),
            search_alg=tune.search.BasicVariantGenerator(random_state=seed),
            num_samples=budget,
            max_concurrent_trials=concurrency,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(name=f"search-{seed}", storage_path=tmp, verbose=0, stop=stopper, log_to_file=False),
    )
    grid = tuner.fit()
    return {"seed": seed, "best": stopper.best, "incumbent": stopper.incumbent, "trials": len(grid)}


def main():
    args = parse()
    seeds = [int(s) for s in args.seeds.split(",") if s != ""]
    try:
        if args.peer == "optuna":
            import optuna  # noqa: F401
        else:
            import ray  # noqa: F401
            from ray import tune  # noqa: F401
    except ImportError:
        missing("optuna" if args.peer == "optuna" else "ray[tune]")
    runs = []
    t0 = clock()
    if args.peer == "optuna":
        for seed in seeds:
            runs.append(optuna_run(seed, args.budget, args.max_epochs, args.concurrency))
            log(f"optuna seed {seed}: best {runs[-1]['best'][-1]:.4f} after {args.budget} epochs, {runs[-1]['trials']} trials")
        result = {"versions": versions(), "method": "TPESampler + HyperbandPruner (ask/tell, round-robin epochs)", "runs": runs}
    else:
        import ray

        ray.init(num_cpus=args.concurrency, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        tmp = tempfile.mkdtemp(prefix="trellis-bench-ray-search-")
        try:
            for seed in seeds:
                t = clock()
                run = ray_run(seed, args.budget, args.max_epochs, args.concurrency, tmp)
                if len(run["best"]) < args.budget:
                    raise RuntimeError(f"ray seed {seed}: only {len(run['best'])} of {args.budget} epochs reported")
                runs.append(run)
                log(f"ray seed {seed}: best {run['best'][-1]:.4f}, {run['trials']} trials, {clock() - t:.0f} s")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            ray.shutdown()
        result = {"versions": versions(), "method": "Tuner + ASHAScheduler + random search (BasicVariantGenerator)", "runs": runs}
    result["seconds"] = clock() - t0
    emit(result)


if __name__ == "__main__":
    main()
