"""Solving a construction's subset sums on an executor (issue 17).

The instances of a layer are independent, and the exact solver's answer for an instance does not depend on
the batch it arrives in, so ``construct(..., executor=...)`` cuts each batch into chunks, solves them on the
executor and concatenates the answers in order: the ticket is bit-identical to the serial one (tested with a
Dask ``LocalCluster``). Executors: ``None``/``"serial"`` (in process), ``"local"`` (a spawn process pool of
``workers``), ``"dask"`` (a ``LocalCluster`` of ``workers`` processes), or any object with
``submit(fn, *args) -> future`` whose futures have ``result()``: a ``concurrent.futures`` executor or a
``dask.distributed.Client`` (for example one connected to a dask-jobqueue ``SLURMCluster``; README,
"Large targets on a cluster").
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from .._validation import check_positive_int
from ..subset_sum import solve

CHUNK = 16_384  # instances per task: ~0.2-1 s of kernel time at n = 20, small next to task overheads


def _solve_part(values: np.ndarray, targets: np.ndarray, present: np.ndarray, method: str, options: dict):
    r = solve(values, targets, method=method, present=present, **options)
    return r.selection, r.sums, r.error


def check_executor(executor, workers: int) -> None:
    if executor is None or executor in ("serial", "local", "dask"):
        pass
    elif isinstance(executor, str) or not callable(getattr(executor, "submit", None)):
        raise ValueError(f"executor must be None, 'serial', 'local', 'dask' or an object with submit(), got {executor!r}")
    check_positive_int(workers, "workers")


@contextlib.contextmanager
def opened(executor, workers: int) -> Iterator[object]:
    """The executor to submit to (None: in process); pools and clusters made here are closed on exit."""
    if executor in (None, "serial"):
        yield None
    elif executor == "local":
        import multiprocessing as mp
        import os
        from concurrent.futures import ProcessPoolExecutor

        from .._procs import die_with_parent

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=die_with_parent, initargs=(os.getpid(),)) as pool:  # no orphans
            yield pool
    elif executor == "dask":
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
                Client(c) as client:
            yield client
    else:
        yield executor


def solve_on(executor, values, targets, present, method: str, options: dict, chunk: int = CHUNK):
    """``solve`` on ``executor`` in chunks of ``chunk`` instances; (selection, sums, error) in input order."""
    if executor is None or len(targets) <= chunk:
        return _solve_part(values, targets, present, method, options)
    futs = [executor.submit(_solve_part, values[s:s + chunk], targets[s:s + chunk], present[s:s + chunk], method,
                            options) for s in range(0, len(targets), chunk)]
    parts = [f.result() for f in futs]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
