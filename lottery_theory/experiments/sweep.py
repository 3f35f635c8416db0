"""Sweeps (grids or lists of configs) on an executor: ``serial``, ``local`` (process pool) or ``dask``.

Each task runs its config and writes the result itself, so a finished result is on disk
before the next one starts, and a rerun skips it. Pointing at a cluster: start a Dask
scheduler with dask-jobqueue (``SLURMCluster(...).scheduler_address``) or dask-kubernetes,
then pass ``scheduler="tcp://host:8786"``; neither package is a dependency here.
"""
from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import tomllib
from tqdm import tqdm

from .._procs import die_with_parent
from .._validation import Registry, check_positive_int
from .config import ExperimentConfig, config_from_dict, get_experiment
from .schema import validate_spec
from .store import ResultStore, default_store

BUILTIN_SWEEPS = Registry("built-in sweep", "sweep")  # name -> sweep spec; a name can be added once


def grid(experiment: str, fixed: dict[str, Any] | None = None, **axes: Sequence[Any]) -> list[ExperimentConfig]:
    """Cartesian product of ``axes`` (field -> values) with ``fixed`` fields, as configs."""
    fixed = dict(fixed or {})
    keys = list(axes)
    return [config_from_dict(experiment, {**fixed, **dict(zip(keys, vals))})
            for vals in itertools.product(*(axes[k] for k in keys))]


def _run_one(cfg: ExperimentConfig, root: str, wait: bool = False) -> str:
    """Run ``cfg`` unless it is stored: ``"done"``, ``"skipped"`` (stored, by us or by another sweep) or
    ``"busy"`` (another process holds its lock; with ``wait=True`` wait for it instead)."""
    import torch
    from filelock import Timeout

    torch.set_num_threads(1)  # one process per core
    store = ResultStore(root)
    if store.done(cfg):
        return "skipped"
    try:
        with store.lock(cfg, timeout=-1 if wait else 0):
            if store.done(cfg):  # finished by another sweep while we waited
                return "skipped"
            store.clean_tmp(cfg)  # leftovers of a killed writer (nobody else writes while we hold the lock)
            _, fn = get_experiment(type(cfg).experiment)
            store.write(cfg, fn(cfg))
            return "done"
    except Timeout:
        return "busy"


def _die_with_parent(parent: int) -> None:
    """Pool-worker initializer: one subset-sum kernel thread per worker (one process per core), and exit when
    the sweep's main process (pid ``parent``) dies (:func:`lottery_theory._procs.die_with_parent`)."""
    os.environ.setdefault("LOTTERY_THEORY_THREADS", "1")  # one process per core: the subset-sum kernel too
    die_with_parent(parent)


_SHARED: list = []  # [(pool, workers)] while a shared_pool() block is open


def _new_pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing as mp

    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_die_with_parent, initargs=(os.getpid(),))


@contextmanager
def shared_pool(workers: int = 2) -> Iterator[None]:
    """Inside the block, every ``run_sweep(executor="local", workers=workers)`` reuses one process pool instead of
    starting its own (``verify`` runs all its checks in one: each fresh pool costs a few seconds per worker to
    import torch). The pool is shut down when the block ends, so no worker outlives it; nested blocks share the
    outer pool."""
    check_positive_int(workers, "workers")
    if _SHARED:
        yield
        return
    _SHARED.append((_new_pool(workers), workers))
    try:
        yield
    finally:
        pool = _SHARED.pop()[0]  # the current one (a broken pool is replaced)
        pool.shutdown(wait=True, cancel_futures=True)


def _run_local(todo: list, root: str, workers: int, finished: Callable) -> None:
    """The configs on the shared pool (:func:`shared_pool`) when one of ``workers`` is open, else on a pool of
    their own, shut down after them."""
    shared = _SHARED[0][0] if _SHARED and _SHARED[0][1] == workers else None
    pool = shared or _new_pool(workers)
    try:
        futs = {pool.submit(_run_one, c, root): c for c in todo}
        for f in as_completed(futs):
            finished(futs[f], f.result())
    except BrokenProcessPool:
        if shared is not None:  # a worker died: this sweep fails as before; the next one gets a fresh pool
            _SHARED[0] = (_new_pool(workers), workers)
            shared.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        if shared is None:
            pool.shutdown(wait=True, cancel_futures=True)


def run_sweep(configs: Iterable[ExperimentConfig], *, store: ResultStore | None = None, executor: str = "local",
              workers: int = 2, scheduler: str = "local", progress: bool = True) -> dict[str, int]:
    """Run every config whose result is missing; returns counts of done / skipped configs. ``executor``,
    ``workers`` (a positive integer) and ``scheduler`` are checked before anything starts."""
    if executor not in ("serial", "local", "dask"):
        raise ValueError(f"unknown executor={executor!r}; available: serial, local, dask")
    check_positive_int(workers, "workers")
    if not isinstance(scheduler, str) or not scheduler:
        raise ValueError(f"scheduler must be 'local' or a scheduler address string, got {scheduler!r}")
    store = store or default_store()
    cfgs = list(dict.fromkeys(configs))  # de-duplicate, keep order
    todo = [c for c in cfgs if not store.done(c)]
    counts = {"total": len(cfgs), "skipped": len(cfgs) - len(todo), "done": 0}
    if not todo:
        return counts
    bar = tqdm(total=len(todo), desc="sweep", unit="config", disable=not progress)
    root = str(store.root)
    status: dict[ExperimentConfig, str] = {}

    def finished(c, st):
        status[c] = st
        if st != "busy":
            counts["done" if st == "done" else "skipped"] += 1
            bar.update()

    if executor == "serial" or (executor == "local" and workers <= 1):
        for c in todo:
            finished(c, _run_one(c, root))
    elif executor == "local":
        _run_local(todo, root, workers, finished)
    elif executor == "dask":
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed

        cluster = None
        if scheduler == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler)
        try:
            futs = client.map(_run_one, todo, [root] * len(todo), pure=False)
            which = dict(zip([f.key for f in futs], todo))
            for f in dask_completed(futs):
                finished(which[f.key], f.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    for c in [c for c, st in status.items() if st == "busy"]:  # another sweep holds them: wait, then skip or run
        finished(c, _run_one(c, root, wait=True))
    bar.close()
    return counts


def sweep_name(base: str, quick: bool) -> str:
    """The registered built-in sweep for ``base`` on the quick or the full grid: ``base + "-quick"`` or ``base``
    (a check names its sweeps through this, never by gluing suffixes). A ValueError names the built-in sweeps when
    that grid is not registered."""
    name = f"{base}-quick" if quick else base
    if name not in BUILTIN_SWEEPS:
        raise ValueError(f"no built-in sweep {name!r} ({'quick' if quick else 'full'} grid of {base!r}); "
                         f"available: {', '.join(sorted(BUILTIN_SWEEPS))}")
    return name


def run_named(names: Sequence[str], *, store: ResultStore | None = None, executor: str = "local",
              workers: int = 2) -> ResultStore:
    """Run built-in sweeps by name (resuming) in one pool (one worker start-up, no idle worker between sweeps);
    returns the store that holds their results."""
    store = store or default_store()
    for name in names:
        if name not in BUILTIN_SWEEPS:
            raise ValueError(f"unknown built-in sweep {name!r}; available: {', '.join(sorted(BUILTIN_SWEEPS))}")
    run_sweep([c for name in names for c in sweep_from_spec(BUILTIN_SWEEPS[name])], store=store, executor=executor,
              workers=workers)
    return store


def load_sweep(sweep: str | dict, store: ResultStore | None = None):
    """The stored rows of exactly the configs of ``sweep`` (a built-in name or a spec), matched by config hash:
    results of other grids (other seeds, epochs, datasets) in the same store never leak into a check."""
    from .config import config_hash

    spec = BUILTIN_SWEEPS[sweep] if isinstance(sweep, str) else sweep
    hashes = {config_hash(c) for c in sweep_from_spec(spec)}
    df = (store or default_store()).load(spec["experiment"])
    return df[df["hash"].isin(hashes)].reset_index(drop=True)


MAX_SWEEP_FILE_BYTES = 16 << 20


def load_sweep_file(path: str | Path) -> list[ExperimentConfig]:
    """A sweep file (JSON or TOML), checked against the schema (:mod:`.schema`):
    ``{"experiment": name, "fixed": {...}, "grid": {field: [values]}}`` or ``{"experiment": name, "configs":
    [{...}, ...]}``."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"sweep file {p} does not exist")
    try:
        if p.suffix not in (".toml", ".json"):
            raise ValueError(f"sweep files are .json or .toml, got {p.suffix!r}")
        if p.stat().st_size > MAX_SWEEP_FILE_BYTES:
            raise ValueError(f"sweep file {p} holds {p.stat().st_size:,} bytes, more than {MAX_SWEEP_FILE_BYTES:,}")
        text = p.read_text(encoding="utf-8-sig")  # a UTF-8 byte-order mark is accepted
        spec = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"sweep file {p} is not valid {p.suffix[1:].upper()}: {e}") from None
    except RecursionError:
        raise ValueError(f"sweep file {p} is nested too deeply to be a sweep") from None
    return sweep_from_spec(spec, where=f"sweep file {p}")


def sweep_from_spec(spec: dict, where: str = "sweep") -> list[ExperimentConfig]:
    """The configs of a sweep spec, after checking it against the schema (:func:`.schema.validate_spec`)."""
    validate_spec(spec, where)
    name = spec["experiment"]
    if "configs" in spec:
        return [config_from_dict(name, {**spec.get("fixed", {}), **c}) for c in spec["configs"]]
    if "grid" not in spec:
        return [config_from_dict(name, dict(spec.get("fixed", {})))]
    return grid(name, spec.get("fixed", {}), **spec.get("grid", {}))


def describe_sweep(name: str) -> str:
    """A built-in sweep's spec (JSON) and its number of configs."""
    if name not in BUILTIN_SWEEPS:
        raise ValueError(f"unknown built-in sweep {name!r}; available: {', '.join(sorted(BUILTIN_SWEEPS))}")
    spec = BUILTIN_SWEEPS[name]
    return f"{json.dumps(spec, indent=1, default=list)}\n{len(sweep_from_spec(spec))} configs"


def run_sweep_cli(args) -> int:
    if args.config == "list":
        if getattr(args, "json", False):
            print(json.dumps({n: {"experiment": s["experiment"], "configs": len(sweep_from_spec(s))}
                              for n, s in sorted(BUILTIN_SWEEPS.items())}, indent=1))
            return 0
        print(f"{'sweep':<28} {'experiment':<20} configs")
        for name in sorted(BUILTIN_SWEEPS):
            print(f"{name:<28} {BUILTIN_SWEEPS[name]['experiment']:<20} {len(sweep_from_spec(BUILTIN_SWEEPS[name]))}")
        return 0
    if args.config == "show":
        if not args.name:
            raise ValueError("sweep show needs a built-in sweep name (see `lottery-theory sweep list`)")
        print(describe_sweep(args.name))
        return 0
    if args.config in BUILTIN_SWEEPS:
        cfgs = sweep_from_spec(BUILTIN_SWEEPS[args.config])
    elif os.path.exists(args.config):
        cfgs = load_sweep_file(args.config)
    else:
        raise ValueError(f"{args.config!r} is neither a sweep file nor a built-in sweep "
                         f"({', '.join(sorted(BUILTIN_SWEEPS))})")
    from .store import results_root

    root = results_root(args.results)
    store = ResultStore(root)
    mine = {c.hash() for c in cfgs}
    for exp in sorted({type(c).experiment for c in cfgs}):
        bad = {k: v for k, v in store.problems(exp).items() if k in mine}
        if bad:
            print(f"{len(bad)} damaged or incomplete result(s) of {exp!r} will be recomputed:", file=sys.stderr)
            for k, v in sorted(bad.items()):
                print(f"  {k}: {v}", file=sys.stderr)
    counts = run_sweep(cfgs, store=store, executor=args.executor, workers=args.workers, scheduler=args.scheduler)
    print(f"{counts['done']} run, {counts['skipped']} already stored, {counts['total']} in the sweep; "
          f"results under {root}")
    return 0
