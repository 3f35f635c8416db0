"""Power by simulation (``evidence.Scaling.power``): the whole ``verify --from`` re-judgement of the published
quick and full runs (figures/, figures/full/), whose scaling rows spend most of it simulating tables.

Baseline, timed in the same run: the loop used before 2026-12-02 evening (one simulated table at a time, one
``np.polyfit`` per seed, ``Scaling.raw`` on each), re-implemented here. Both draw the same noise stream, so the
script also checks that every verdict, measured text and power is the same.

Run: python benchmarks/power.py
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np

from lottery_theory.evidence import Scaling

ROOT = Path(__file__).resolve().parents[1]


def loop_simulate(sc: Scaling, law, x, grid, rng, levels: dict, sd: float, n_sim: int):
    """The former simulation: one table at a time, one seed at a time, one x at a time (same noise stream)."""
    xs = np.unique(x)
    ys, ks = [], []
    for _ in range(n_sim):
        for s in levels:
            yy = np.exp(levels[s] + np.log(law(xs)) + rng.normal(0, sd, xs.size))
            for xi, v in zip(xs, yy):
                c = True
                if grid is not None and xi in grid:
                    g = np.asarray(grid[xi], float)
                    if not sc.quantise:
                        c, v = g[0] < v <= g[-1], min(v, g[-1])
                    else:
                        j = np.searchsorted(g, v - 1e-9 * v)
                        v, c = (g[-1], False) if j >= g.size else (g[j], j > 0)
                ys.append(v)
                ks.append(c)
    shape = (n_sim, len(levels), xs.size)
    return xs, np.asarray(ys).reshape(shape), np.asarray(ks).reshape(shape)


def loop_holds(sc: Scaling, xs, y, ok):
    """The former decision on each table: ``Scaling.raw`` (one ``np.polyfit`` per seed)."""
    seeds = np.repeat(np.arange(y.shape[1]), xs.size)
    return np.array([sc.raw(np.tile(xs, y.shape[1]), seeds, y[i].ravel(), ok[i].ravel())[0] == "holds"
                     for i in range(len(y))])


def judge_time(folder: Path, loop: bool) -> tuple[float, list]:
    """Seconds to re-judge every row of ``folder`` from its CSVs (``verify --from``), with the former loop
    simulation and decision in ``Scaling.power`` when ``loop``, and the rows."""
    from lottery_theory.verdicts import judge_checks

    saved = Scaling.simulate_many, Scaling.holds_many
    if loop:
        Scaling.simulate_many, Scaling.holds_many = loop_simulate, loop_holds
    try:
        t = time.perf_counter()
        rows = judge_checks(folder)
        return time.perf_counter() - t, rows
    finally:
        Scaling.simulate_many, Scaling.holds_many = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args()
    for folder in (ROOT / "figures", ROOT / "figures" / "full"):
        judge_time(folder, False)  # imports and caches warm for both runs
        old, rows_old = judge_time(folder, True)
        new, rows_new = judge_time(folder, False)
        key = [(r.check, r.row, r.verdict, r.measured, r.power) for r in rows_old]
        assert key == [(r.check, r.row, r.verdict, r.measured, r.power) for r in rows_new], "verdicts differ"
        print(f"verify --from {folder.relative_to(ROOT)} ({len(rows_new)} rows, every verdict and power equal): "
              f"loop power (baseline) {old:.2f} s, vectorised {new:.2f} s, {old / new:.1f}x")


if __name__ == "__main__":
    main()
