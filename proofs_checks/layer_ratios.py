"""Layer-wise ratios hit the global density exactly (foundation check).

Every registered ratio method (uniform, er, erk, balanced, pyramidal) must give
per-layer densities with sum_l d_l N_l = d N. The paper's reference code clips
ERK and balanced at 1 without redistributing, so for an MLP 784-300-100-10 at
d = 0.1 it keeps 0.097 (ERK) and 0.070 (balanced) of the weights.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from lottery_theory.plotting import render
from lottery_theory.sparsity import layer_densities
from lottery_theory.verdicts import Verdict, script_main

STATEMENT = __doc__
ARCHS = {
    "MLP 784-300-100-10": [(300, 784), (100, 300), (10, 100)],
    "conv 1-16-32 + 2048-64-10": [(16, 1, 3, 3), (32, 16, 3, 3), (64, 2048), (10, 64)],
}
METHODS = ["uniform", "er", "erk", "balanced", "pyramidal"]


def reference_clipped(shapes, d, method):
    """The reference code's ERK / balanced: scale to the target, then clip at 1, no redistribution."""
    counts = [math.prod(s) for s in shapes]
    n = sum(counts)
    if method == "erk":
        scores = [sum(s) / math.prod(s) for s in shapes]
        c = d * n / sum(sc * m for sc, m in zip(scores, counts))
        return [min(1.0, c * sc) for sc in scores]
    return [min(1.0, d * n / (len(shapes) * m)) for m in counts]  # balanced


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list[Verdict]:
    rows, worst = [], 0.0
    densities = [0.5, 0.2, 0.1, 0.05, 0.01]
    for arch, shapes in ARCHS.items():
        counts = [math.prod(s) for s in shapes]
        for d in densities:
            for method in METHODS:
                dens = layer_densities(shapes, d, method)
                got = sum(a * m for a, m in zip(dens, counts)) / sum(counts)
                worst = max(worst, abs(got - d) / d)
                if d == 0.1:
                    rows += [dict(arch=arch, method=method, layer=i, density=x, global_density=d)
                             for i, x in enumerate(dens)]
    data = out_dir / "layer_ratios.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    render("layer_ratios", data)
    lenet = ARCHS["MLP 784-300-100-10"]
    c = [math.prod(s) for s in lenet]
    ref = {m: sum(a * b for a, b in zip(reference_clipped(lenet, 0.1, m), c)) / sum(c) for m in ("erk", "balanced")}
    return [
        Verdict("every ratio method hits the global density (5 methods x 2 archs x 5 densities)",
                f"max relative miss {worst:.1e}", "<= 1e-12", "holds" if worst <= 1e-12 else "violated"),
        Verdict("reference clipping (no redistribution) misses the target for 784-300-100-10 at d=0.1",
                f"ERK {ref['erk']:.4f}, balanced {ref['balanced']:.4f}", "target 0.1000 (NOTES: 0.097, 0.070)",
                "holds" if abs(ref["erk"] - 0.097) < 1e-3 and abs(ref["balanced"] - 0.070) < 1e-3 else "violated"),
    ]


if __name__ == "__main__":
    script_main(globals())
