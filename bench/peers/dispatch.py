"""Dispatch peers: how many do-nothing trials per second, and the overhead on 1 s trials.

    python dispatch.py optuna --trials 200 --sleep-trials 64 --concurrency 16 --procs 1,2 --reps 3
    python dispatch.py ray    --trials 100 --sleep-trials 64 --concurrency 16

Optuna: journal-file storage (JournalStorage(JournalFileBackend)), RandomSampler (Trellis's
dispatch sweep uses random search too). No-op: P processes (multiprocessing, spawn) share the
journal, each runs study.optimize for its share of the trials; the clock runs from the moment
all of them are ready (imports done, study loaded) to the last one finishing. Each P in
--procs is run `reps` times (median kept) and the fastest P is reported as `noop`: with
several processes the journal's file lock (JournalFileSymlinkLock) backs off exponentially
(1 ms doubling up to 1 s) under contention, which makes multi-process runs slow and erratic
on 2 cores, so one process is often Optuna's best case here. JournalFileBackend also fsyncs
every append (several per trial), so its speed follows the disk's fsync latency, which varies a
lot on a shared machine; `noop_no_fsync` repeats the no-op runs with os.fsync disabled in the
worker processes, as a reference for Trellis's default LocalStore (which does not fsync).
Sleep: one process, study.optimize(n_jobs=concurrency) threads on the journal.

Ray Tune: ray.init(num_cpus=concurrency) so `concurrency` one-CPU trials run at once; a
function trainable with tune.report; Tuner with random search (BasicVariantGenerator),
reuse_actors=True (Ray's fastest setting; its default is False). A warm-up fit (4 trials)
runs first and is not timed, as Trellis's warm-up sweep.
"""
import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time

from common import clock, emit, log, missing, versions


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("peer", choices=["optuna", "ray"])
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--sleep-trials", type=int, default=64)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--procs", default="1,2", help="comma-separated process counts to try (the fastest is reported)")
    p.add_argument("--sleep", type=float, default=1.0)
    p.add_argument("--reps", type=int, default=3)
    return p.parse_args()


# ----------------------------------------------------------------------------------- Optuna


def _journal(path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(path))


def _optuna_worker(path, study_name, n_trials, seed, barrier, out, fsync, spawn=False):
    import optuna
    import subprocess

    if not fsync:
        os.fsync = lambda fd: None  # reference only: JournalFileBackend fsyncs every append

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=_journal(path), sampler=optuna.samplers.RandomSampler(seed=seed))

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        if spawn:
            # The same workload as Trellis's command runtime: one no-op process per trial.
            subprocess.run(["/bin/true"], check=True)
        return x

    barrier.wait()
    start = time.time()
    study.optimize(objective, n_trials=n_trials)
    out.put((start, time.time()))


def optuna_noop(args, tmp, fsync=True, spawn=False):
    """For each process count, `reps` runs on fresh journals (median run); the fastest count is `noop`."""
    by_procs = {}
    label = ("" if fsync else " (fsync disabled)") + (" spawning /bin/true per trial" if spawn else "")
    for procs in [int(p) for p in args.procs.split(",") if p]:
        log(f"optuna: {args.trials} no-op trials, {procs} process(es) on one journal file{label}")
        runs = [_optuna_noop_once(args, tmp, f"{procs}-{r}-{fsync}-{spawn}", procs, fsync, spawn) for r in range(args.reps)]
        for r in runs:
            log(f"optuna: {procs} process(es){label}: {r['trials']} no-op trials in {r['seconds']:.3f} s")
        walls = sorted(r["seconds"] for r in runs)
        wall = walls[len(walls) // 2]
        by_procs[str(procs)] = {"trials": args.trials, "runs_seconds": [r["seconds"] for r in runs], "seconds": wall, "trials_per_second": args.trials / wall, "processes": procs}
    best = max(by_procs.values(), key=lambda r: r["trials_per_second"])
    return best, by_procs


def _optuna_noop_once(args, tmp, rep, procs, fsync, spawn=False):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = os.path.join(tmp, f"noop-{rep}.journal")
    optuna.create_study(study_name="noop", storage=_journal(path), direction="maximize")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs)
    out = ctx.Queue()
    shares = [args.trials // procs + (1 if i < args.trials % procs else 0) for i in range(procs)]
    procs = [ctx.Process(target=_optuna_worker, args=(path, "noop", n, 100 + i, barrier, out, fsync, spawn)) for i, n in enumerate(shares)]
    for p in procs:
        p.start()
    spans = [out.get() for _ in procs]
    for p in procs:
        p.join()
    wall = max(e for _, e in spans) - min(s for s, _ in spans)
    study = optuna.load_study(study_name="noop", storage=_journal(path))
    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    if done != args.trials:
        raise RuntimeError(f"optuna completed {done} of {args.trials} trials")
    return {"trials": done, "seconds": wall}


def optuna_sleep(args, tmp):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = os.path.join(tmp, "sleep.journal")
    study = optuna.create_study(study_name="sleep", storage=_journal(path), direction="maximize", sampler=optuna.samplers.RandomSampler(seed=7))

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(args.sleep)
        return x

    t0 = clock()
    study.optimize(objective, n_trials=args.sleep_trials, n_jobs=args.concurrency)
    wall = clock() - t0
    ideal = -(-args.sleep_trials // args.concurrency) * args.sleep
    return {"trials": args.sleep_trials, "concurrency": args.concurrency, "seconds": wall, "ideal_seconds": ideal, "overhead_ratio": wall / ideal, "threads": args.concurrency}


# -------------------------------------------------------------------------------------- Ray


def ray_fit(trainable, n, concurrency, tmp, name):
    from ray import tune

    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(num_samples=n, max_concurrent_trials=concurrency, reuse_actors=True, search_alg=tune.search.BasicVariantGenerator(random_state=1)),
        run_config=tune.RunConfig(name=name, storage_path=tmp, verbose=0, log_to_file=False),
    )
    t0 = clock()
    grid = tuner.fit()
    wall = clock() - t0
    errors = len(grid.errors)
    return wall, len(grid) - errors, errors


def ray_run(args, tmp):
    import ray
    from ray import tune

    ray.init(num_cpus=args.concurrency, include_dashboard=False, log_to_driver=False, logging_level="ERROR", configure_logging=True)

    def noop(config):
        tune.report({"score": config["x"]})

    sleep_s = args.sleep

    def sleeper(config):
        time.sleep(sleep_s)
        tune.report({"score": config["x"]})

    log("ray: warm-up fit (4 trials, not timed)")
    ray_fit(noop, 4, args.concurrency, tmp, "warmup")
    log(f"ray: {args.trials} no-op trials, {args.concurrency} concurrent")
    wall, done, errors = ray_fit(noop, args.trials, args.concurrency, tmp, "noop")
    noop_result = {"trials": done, "errors": errors, "seconds": wall, "trials_per_second": done / wall, "concurrency": args.concurrency}
    log(f"ray: {args.sleep_trials} trials of {sleep_s} s, {args.concurrency} concurrent")
    wall, done, errors = ray_fit(sleeper, args.sleep_trials, args.concurrency, tmp, "sleep")
    ideal = -(-args.sleep_trials // args.concurrency) * sleep_s
    sleep_result = {"trials": done, "errors": errors, "concurrency": args.concurrency, "seconds": wall, "ideal_seconds": ideal, "overhead_ratio": wall / ideal}
    ray.shutdown()
    return noop_result, sleep_result


def main():
    args = parse()
    try:
        if args.peer == "optuna":
            import optuna  # noqa: F401
        else:
            import ray  # noqa: F401
            from ray import tune  # noqa: F401
    except ImportError:
        missing("optuna" if args.peer == "optuna" else "ray[tune]")
    tmp = tempfile.mkdtemp(prefix=f"trellis-bench-{args.peer}-")
    try:
        if args.peer == "optuna":
            noop, by_procs = optuna_noop(args, tmp)
            noop_nofsync, by_procs_nofsync = optuna_noop(args, tmp, fsync=False)
            noop_process, by_procs_process = optuna_noop(args, tmp, spawn=True)
            log(f"optuna: {args.sleep_trials} trials of {args.sleep} s, {args.concurrency} threads")
            slept = optuna_sleep(args, tmp)
            result = {
                "versions": versions(),
                "noop": noop,
                "noop_by_processes": by_procs,
                "noop_no_fsync": noop_nofsync,
                "noop_no_fsync_by_processes": by_procs_nofsync,
                "noop_process": noop_process,
                "noop_process_by_processes": by_procs_process,
                "sleep": slept,
                "storage": "JournalStorage(JournalFileBackend): fsync after every append",
                "sampler": "RandomSampler",
            }
        else:
            noop, slept = ray_run(args, tmp)
            result = {"versions": versions(), "noop": noop, "sleep": slept, "search": "BasicVariantGenerator (random)", "reuse_actors": True}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit(result)


if __name__ == "__main__":
    main()
