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

import numpy as np

from lottery_theory.evidence import N_SIM, Scaling

ROOT = Path(__file__).resolve().parents[1]


def loop_power(sc: Scaling, x, seed, y, ok, grid=None, n_sim: int = N_SIM, rs: int = 0) -> tuple[float, float]:
    """The former power: per table, per seed, per x in Python; ``Scaling.raw`` decides each table."""
    rng = np.random.default_rng(rs)
    if not ok.any():
        return 0.0, 0.0
    sd = max(sc.noise(x, seed, y, ok), 1e-3)
    out = []
    for law in (sc.claim, sc.rival):
        levels = {}
        for s in np.unique(seed):
            m = (seed == s) & ok
            xm, ym = (x[m], y[m]) if m.any() else (x[ok], y[ok])
            levels[s] = float(np.mean(np.log(ym)) - np.mean(np.log(law(xm))))
        xs = np.unique(x)
        hits = 0
        for _ in range(n_sim):
            ys, ks = [], []
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
            xx, ss = np.tile(xs, len(levels)), np.repeat(list(levels), xs.size)
            hits += sc.raw(xx, ss, np.asarray(ys), np.asarray(ks))[0] == "holds"
        out.append(hits / n_sim)
    return out[0], out[1]


def judge_time(folder: Path, power) -> tuple[float, list]:
    """Seconds to re-judge every row of ``folder`` from its CSVs (``verify --from``) with ``power`` as
    ``Scaling.power``, and the rows."""
    from lottery_theory.verdicts import judge_checks

    saved = Scaling.power
    Scaling.power = power
    try:
        t = time.perf_counter()
        rows = judge_checks(folder)
        return time.perf_counter() - t, rows
    finally:
        Scaling.power = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args()
    for folder in (ROOT / "figures", ROOT / "figures" / "full"):
        judge_time(folder, Scaling.power)  # imports and caches warm for both runs
        old, rows_old = judge_time(folder, loop_power)
        new, rows_new = judge_time(folder, Scaling.power)
        key = [(r.check, r.row, r.verdict, r.measured, r.power) for r in rows_old]
        assert key == [(r.check, r.row, r.verdict, r.measured, r.power) for r in rows_new], "verdicts differ"
        print(f"verify --from {folder.relative_to(ROOT)} ({len(rows_new)} rows, every verdict and power equal): "
              f"loop power (baseline) {old:.2f} s, vectorised {new:.2f} s, {old / new:.1f}x")


if __name__ == "__main__":
    main()
