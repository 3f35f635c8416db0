"""The cache key of ``Ticket.realise`` (``tickets/construct.py: _state_key``) on the largest ticket of the quick
ticket sweep (10-20-20-1 target, fixed layout, p = 0.05, k = 32,768).

Baseline, timed in the same run: the key used before 2026-12-02 (per tensor: identity, version counter, storage,
float64 sum and sum of squares, in 4M-element chunks), re-implemented here. The key is computed twice per ticket
(construct() and sup_error() both call realise()).

Run: python benchmarks/state_key.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import time
import warnings

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import torch

from lottery_theory.experiments.builtin.ticket import spectral_target
from lottery_theory.tickets import construct
from lottery_theory.tickets.construct import _state_key


def sums_key(net: torch.nn.Module) -> tuple:
    """The former key: float64 sums (misses a swap of two weights written through ``.data``)."""
    def sums(t: torch.Tensor) -> tuple:
        flat, s1, s2 = t.detach().reshape(-1), 0.0, 0.0
        for i in range(0, flat.numel(), 1 << 22):
            c = flat[i:i + (1 << 22)].double()
            s1, s2 = s1 + float(c.sum()), s2 + float((c * c).sum())
        return s1, s2

    with torch.no_grad():
        return tuple((n, id(t), t._version, t.data_ptr(), tuple(t.shape)) + sums(t)
                     for n, t in net.state_dict(keep_vars=True).items())


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)  # as in a sweep worker
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tk = construct(spectral_target((10, 20, 20, 1), 0), density=0.05, eps=0.01, construction="2L",
                       width_multiplier=32768, max_items=20, assignment="fixed",
                       generator=torch.Generator().manual_seed(10_000))
    n = sum(t.numel() for t in tk.network.state_dict().values())
    mb = sum(t.numel() * t.element_size() for t in tk.network.state_dict().values()) / 2 ** 20
    old, new = best_of(lambda: sums_key(tk.network), args.repeats), best_of(lambda: _state_key(tk.network), args.repeats)
    print(f"ticket state: {n:,} elements ({mb:.0f} MiB); best of {args.repeats}, 1 thread")
    print(f"float64 sums key (baseline): {old * 1e3:.1f} ms")
    print(f"CRC-32 key:                  {new * 1e3:.1f} ms  ({old / new:.1f}x faster)")


if __name__ == "__main__":
    main()
