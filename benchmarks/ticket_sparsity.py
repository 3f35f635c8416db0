"""Kept weights of certified eps-tickets: fewest-items vs minimum-error subset sums, fixed vs adaptive layout.

For random spectral-norm-1 targets (4-6-2 and 20-20-1, as in the peers' experiments) in a dense source (p = 1)
and at p = 0.5, at the bound's width with the same per-weight budget (eps = 0.01): source and kept parameters,
and the sup-error bracket [attack, certificate] over [-1, 1]^n0 of the rebuilt ticket. Peers on a 4-6-2 target at
eps = 0.01 with the same budget (measured with their code, see the theory notes): LT-existence keeps 684 weights,
Pensia et al. 659.

Run: python benchmarks/ticket_sparsity.py
"""
from __future__ import annotations

import time

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import torch

from lottery_theory.experiments.builtin import spectral_target
from lottery_theory.tickets import construct

PEERS = {(4, 6, 2): "LT-existence 684, Pensia 659"}


def main() -> None:
    print(f"{'target':>10} {'p':>4} {'layout':>9} {'objective':>10} {'source':>9} {'kept':>7} {'kept/target':>11} "
          f"{'lower':>9} {'upper':>9} {'time s':>7}  peers")
    for widths in [(4, 6, 2), (20, 20, 1)]:
        target = spectral_target(widths, 0)
        for p in (1.0, 0.5):
            for layout in ("fixed", "adaptive"):
                for objective in ("min_error", "fewest"):
                    t0 = time.perf_counter()
                    tk = construct(target, density=p, eps=0.01, assignment=layout, objective=objective,
                                   generator=torch.Generator().manual_seed(1))
                    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(0))
                    print(f"{'-'.join(map(str, widths)):>10} {p:>4g} {layout:>9} {objective:>10} {tk.source_params:>9,} "
                          f"{tk.kept_params:>7,} {tk.kept_ratio:>11.1f} {br.lower:>9.2e} {br.upper:>9.2e} "
                          f"{time.perf_counter() - t0:>7.2f}  {PEERS.get(widths, '') if p == 1 else ''}")


if __name__ == "__main__":
    main()
