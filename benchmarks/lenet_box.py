"""The default LeNet ticket (``lottery-theory ticket --target lenet-mnist``) on its real input box [0, 1] against the
baseline of building it for the symmetric box [-1, 1] (both signs of every first-layer weight, as the command did
before 2026-12-02), at the width the command's search picks for p = 0.5 (k = 128), in the same run.

For images in [0, 1] a block unit with a negative first-layer weight never fires, so the first block needs each
weight once (s+): half the first layer's subset sums (docs/theory.md, "Non-negative input boxes"). Both tickets are
certified over [0, 1] with the certificates ``Ticket.sup_error`` uses.

Run: python benchmarks/lenet_box.py [--density 0.5] [--k 128]   (trains LeNet-300-100 once, cached in results/)
"""
from __future__ import annotations

import argparse
import time
import warnings

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import torch

from lottery_theory.experiments.lenet import lenet_mnist
from lottery_theory.tickets import construct
from lottery_theory.tickets.bracket import certify


def one(target, box, density: float, k: int) -> dict:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tk = construct(target, density=density, eps=0.01, width_multiplier=k, box=box, input_shape=(784,),
                       budget="norms", generator=torch.Generator().manual_seed(0))
    t1 = time.perf_counter()
    c = certify(tk, 0.0, 1.0, method="cheapest", stop_at=0.01)
    return dict(construct_s=t1 - t0, solve_s=tk.timings["t_solve_s"], certify_s=time.perf_counter() - t1,
                sums=tk.n_instances, kept=tk.kept_params, upper=c["upper"], method=c["method"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--density", type=float, default=0.5)
    ap.add_argument("--k", type=int, default=128)
    args = ap.parse_args()
    target, _ = lenet_mnist(seed=0)
    base = one(target, 1.0, args.density, args.k)
    ours = one(target, (0.0, 1.0), args.density, args.k)
    print(f"LeNet-300-100, p = {args.density}, k = {args.k}, eps = 0.01, certified over [0, 1]^784")
    print("| build box | subset sums | solve s | construct s | certify s | kept weights | certified upper |")
    print("|---|---|---|---|---|---|---|")
    for name, r in (("[-1, 1] (baseline: both signs)", base), ("[0, 1] (s+ only)", ours)):
        print(f"| {name} | {r['sums']:,} | {r['solve_s']:.1f} | {r['construct_s']:.1f} | {r['certify_s']:.1f} | "
              f"{r['kept']:,} | {r['upper']:.4f} ({r['method']}) |")
    print(f"ratio [0, 1] / baseline: construct {ours['construct_s'] / base['construct_s']:.2f}x, solve "
          f"{ours['solve_s'] / base['solve_s']:.2f}x, kept weights {ours['kept'] / base['kept']:.2f}x")


if __name__ == "__main__":
    main()
