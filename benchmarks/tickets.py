"""Constructing a strong ticket for LeNet-300-100 (784-300-100-10, 266,610 parameters) inside an ER source.

Prints the phase times of ``construct``, the ticket's measured error (from running the rebuilt
ticket), peak memory, and the subset-sum throughput against per-weight MILP (scipy/HiGHS) timed
on a sample of the same instances in the same run.

Run: python benchmarks/tickets.py [--density 0.5] [--k 160] [--max-items 20] [--milp-sample 10]
Peer, for scale: Pensia et al. needed 77,266 s on 36 cores (21.5 h) for 397k weights with Gurobi.
"""
from __future__ import annotations

import argparse
import resource
import time

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np
import torch

from lottery_theory.nets import mlp
from lottery_theory.subset_sum import solve
from lottery_theory.tickets import construct


def sample_instances(tk, k: int, max_items: int, count: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Re-create ``count`` layer-1 instances (positive part) from the source: items a_u b_iu, target w_ij."""
    A, B = tk.source[0], tk.source[2]
    W = tk.target[0].weight.detach().double().numpy()
    vals, pres, tgt = [], [], []
    for _ in range(count):
        i, j = int(rng.integers(W.shape[0])), int(rng.integers(W.shape[1]))
        u = np.arange(j * k, (j + 1) * k)
        a = A.weight.detach().double().numpy()[u, j]
        p = A.mask.numpy()[u, j] & (a > 0) & B.mask.numpy()[i, u]
        v = a * B.weight.detach().double().numpy()[i, u]
        top = np.argsort(-np.where(p, np.abs(v), -1))[:max_items]
        vals.append(v[top])
        pres.append(p[top])
        tgt.append(W[i, j])
    return np.array(vals), np.array(pres), np.array(tgt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--density", type=float, default=0.5)
    ap.add_argument("--k", type=int, default=160, help="units per input in each block layer")
    ap.add_argument("--max-items", type=int, default=20)
    ap.add_argument("--eps", type=float, default=0.01)
    ap.add_argument("--milp-sample", type=int, default=10)
    args = ap.parse_args()
    target = mlp([784, 300, 100, 10], generator=torch.Generator().manual_seed(0))  # PyTorch-default-scale weights
    t0 = time.perf_counter()
    tk = construct(target, density=args.density, eps=args.eps, width_multiplier=args.k, max_items=args.max_items,
                   generator=torch.Generator().manual_seed(1))
    wall = time.perf_counter() - t0
    x = torch.rand(5000, 784, generator=torch.Generator().manual_seed(2))  # inputs in [0, 1]^784
    err = tk.measure_error(x)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"target 784-300-100-10 ({tk.target_params} params), ER density {args.density}, k = {args.k}, "
          f"max_items = {args.max_items}")
    for key, val in tk.timings.items():
        print(f"  {key:>22}: {val:8.2f}")
    print(f"  construct wall time  : {wall:8.2f} s   (goal < 120 s)")
    print(f"  peak RSS             : {rss:8.2f} GiB (goal < 8 GiB)")
    print(f"  source params {tk.source_params:,}; kept {tk.kept_params:,} = {tk.kept_ratio:.1f} x target")
    print(f"  subset-sum instances {tk.n_instances:,}; missed eps' = {tk.eps_weight:.2e}: {tk.failures:,}; "
          f"median instance error {np.median(tk.instance_errors):.2e}")
    t2 = time.perf_counter()
    br = tk.sup_error((0.0, 1.0), generator=torch.Generator().manual_seed(4), restarts=16, steps=100)
    t_br = time.perf_counter() - t2
    br_pm = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(5), restarts=16, steps=100)
    print(f"  random max on 5000 inputs in [0,1]^784 (a sample, NOT the sup): {err['max']:.2e} (mean {err['mean']:.2e})")
    print(f"  sup error on [0,1]^784:  bracket [{br.lower:.3g}, {br.upper:.3g}] (attack lower, interval certificate; "
          f"{t_br:.1f} s)")
    print(f"  sup error on [-1,1]^784: bracket [{br_pm.lower:.3g}, {br_pm.upper:.3g}]; composition certificate "
          f"{tk.certified_error:.3g}")
    print(f"  eps-ticket (upper <= {args.eps}): {br.upper <= args.eps}")
    rng = np.random.default_rng(3)
    v, p, t = sample_instances(tk, args.k, args.max_items, args.milp_sample, rng)
    t1 = time.perf_counter()
    r_milp = solve(v, t, method="milp", present=p)
    milp_rate = len(t) / (time.perf_counter() - t1)
    r_mitm = solve(v, t, method="mitm", present=p)
    engine_rate = tk.n_instances / tk.timings["t_solve_s"]
    print(f"  per-weight MILP on {len(t)} sampled instances: {milp_rate:.3g} inst/s; mitm in construct: "
          f"{engine_rate:.4g} inst/s -> ratio {engine_rate / milp_rate:,.0f}x; "
          f"max |err_milp - err_mitm| = {np.abs(r_milp.error - r_mitm.error).max():.1e}")
    print(f"  per-weight MILP for all {tk.n_instances:,} instances would take ~{tk.n_instances / milp_rate / 3600:.1f} h "
          f"on this machine; Pensia et al.: 0.19 s/weight on 36 cores.")


if __name__ == "__main__":
    main()
