"""Success of one 2L block at fractions of the proven width (docs/theory.md, eq. (AD-2)).

For a one-layer target W (n_out x n_in, U[-1/2, 1/2] weights and biases) in an ER source with densities
(p_A, p_B), build the ticket with ``construct(assignment="adaptive")`` at 1.0x, 0.7x, 0.5x, 0.35x and 0.25x of
``required_width(assignment="adaptive")`` and count the draws whose every subset sum meets its per-weight budget
(``Ticket.failures == 0``), i.e. the event the width is proven for, over ``--trials`` independent sources; the
greedy adaptive layout at its heuristic width (AD-1) is shown beside. 95% Wilson intervals.

    python benchmarks/matched_width.py [--trials 100]
"""
from __future__ import annotations

import argparse
import math
import time
import warnings

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import torch

from lottery_theory.bounds import required_width
from lottery_theory.tickets import construct
from lottery_theory.tickets.construct import BudgetMissed

SETTINGS = [(4, 4, 0.5, 0.5), (8, 2, 0.2, 0.2), (1, 4, 0.3, 0.3), (10, 5, 0.1, 0.1), (20, 2, 0.05, 0.5)]
EPS, DELTA = 0.1, 0.1
FRACTIONS = (1.0, 0.7, 0.5, 0.35, 0.25)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, c - h), min(1.0, c + h)


def success(n_in: int, n_out: int, pa: float, pb: float, k: int, assignment: str, trials: int) -> int:
    ok = 0
    for t in range(trials):
        g = torch.Generator().manual_seed(1000 * t + 7)
        target = torch.nn.Sequential(torch.nn.Linear(n_in, n_out))
        with torch.no_grad():
            target[0].weight.copy_(torch.rand(n_out, n_in, generator=g) - 0.5)
            target[0].bias.copy_(torch.rand(n_out, generator=g) - 0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BudgetMissed)
            tk = construct(target, density=[pa, pb], eps=EPS, delta=DELTA, width_multiplier=k, assignment=assignment,
                           generator=torch.Generator().manual_seed(t))
        ok += tk.failures == 0
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=100)
    args = ap.parse_args()
    print(f"eps = {EPS}, delta = {DELTA}, {args.trials} sources per cell; P(every weight within its budget) "
          "[95% Wilson]")
    print("| n_in, n_out, p_A, p_B | proven k | " + " | ".join(f"{f:g}x" for f in FRACTIONS) +
          " | AD-1 k (greedy) | greedy at AD-1 |")
    print("|---|---|" + "---|" * len(FRACTIONS) + "---|---|")
    for n_in, n_out, pa, pb in SETTINGS:
        t0 = time.perf_counter()
        ws = [n_in, n_out]
        km = required_width(ws, EPS, DELTA, [pa, pb], assignment="adaptive")[1] // (n_in + 1)
        ka = required_width(ws, EPS, DELTA, [pa, pb], assignment="greedy")[1] // (n_in + 1)
        cells = []
        for f in FRACTIONS:
            s = success(n_in, n_out, pa, pb, max(1, round(f * km)), "adaptive", args.trials)
            lo, hi = wilson(s, args.trials)
            cells.append(f"{s / args.trials:.3f} [{lo:.2f}, {hi:.2f}]")
        s = success(n_in, n_out, pa, pb, ka, "greedy", args.trials)
        lo, hi = wilson(s, args.trials)
        print(f"| {n_in}, {n_out}, {pa:g}, {pb:g} | {km} | " + " | ".join(cells) +
              f" | {ka} | {s / args.trials:.3f} [{lo:.2f}, {hi:.2f}] |  ({time.perf_counter() - t0:.0f} s)",
              flush=True)


if __name__ == "__main__":
    main()
