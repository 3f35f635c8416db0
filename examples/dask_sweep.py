"""A sweep on a Dask cluster, and a ticket whose subset sums are solved on it.

1. Runs a small grid of the `ticket` experiment (two densities x two seeds) on a Dask LocalCluster of two
   worker processes, storing each result under results/ (a rerun skips what is stored), then reads the table
   back and prints the certified error per density.
2. Builds one ticket with `construct(..., executor=client)` on the same cluster and checks that it is
   bit-identical to the serial one.

On a real cluster replace LocalCluster by dask-jobqueue's SLURMCluster (README, "Large targets on a cluster").
Run: python examples/dask_sweep.py [--fast] [--results DIR]
"""
import argparse
import tempfile

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np
import torch
from dask.distributed import Client, LocalCluster
from torch import nn

from lottery_theory.experiments import run_sweep
from lottery_theory.experiments.store import ResultStore
from lottery_theory.experiments.sweep import sweep_from_spec
from lottery_theory.tickets import construct


def main(fast: bool, results: str | None) -> None:
    spec = {"experiment": "ticket", "description": "example: certified error against density",
            "fixed": {"target_widths": [4, 8, 1], "width_multiplier": 16 if fast else 48, "eps": 0.05,
                      "n_eval": 200, "attack_restarts": 2, "attack_steps": 10},
            "grid": {"density": [0.5, 1.0], "seed": [0, 1]}}
    store = ResultStore(results or tempfile.mkdtemp(prefix="lt-results-"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        counts = run_sweep(sweep_from_spec(spec), store=store, executor="dask", scheduler=cluster.scheduler_address,
                           progress=False)
        print(f"sweep: {counts['done']} run, {counts['skipped']} already stored, {counts['total']} in all "
              f"(store {store.root})")
        df = store.load("ticket")
        cert = df[df["metric"] == "certified_error"].groupby("density")["value"].agg(["mean", "max", "count"])
        print(cert.to_string())
        target = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
        kw = dict(density=0.5, eps=0.05, width_multiplier=24, generator=None)
        a = construct(target, **{**kw, "generator": torch.Generator().manual_seed(0)})
        b = construct(target, **{**kw, "generator": torch.Generator().manual_seed(0)}, executor=client)
        same = np.array_equal(a.instance_errors, b.instance_errors) and all(
            torch.equal(x, y) for x, y in zip(a.network.state_dict().values(), b.network.state_dict().values()))
        print(f"ticket solved on the cluster is bit-identical to the serial one: {same}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fast", action="store_true", help="narrower sources (what CI runs)")
    ap.add_argument("--results", help="result store (default: a fresh temporary folder)")
    a = ap.parse_args()
    main(a.fast, a.results)
