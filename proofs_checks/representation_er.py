"""Representation (weak ticket) in an ER source of depth L+1 (statement 3; THEORY.md sec. 3).

Layout: source layer 1 holds K copies of each input (copy c of x_j uses edge j -> c);
source layer l+1 holds k_l copies of each target neuron of layer l (k_L = 1). A copy i'
of neuron i can compute i's pre-activation iff for every input j of i at least one copy
of j has a kept edge into i'. Claims: (a) the union bound on failure is >= the exact
failure probability; (b) a Monte Carlo over real ER masks agrees with the exact
probability within its 99% confidence interval; (c) the copies chosen by the union
bound reach success >= 1 - delta.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from lottery_theory.bounds import (
    representation_failure_union,
    representation_plan,
    representation_success_exact,
)
from lottery_theory.plotting import render
from lottery_theory.verdicts import Verdict, script_main

STATEMENT = __doc__


def simulate(widths, K, k, ps, trials, rng) -> float:
    """Fraction of trials where every (copy, target edge) pair is connected, drawing full ER masks."""
    L = len(widths) - 1
    ks = [None] + list(k) + [1]
    ok = np.ones(trials, dtype=bool)
    n0 = widths[0]
    # source layer 1: mask [K*n0, n0]; only the edge j -> (copies of group j) matters
    m1 = rng.random((trials, K * n0, n0)) < ps[0]
    group = np.repeat(np.arange(n0), K)
    copy_of = m1[:, np.arange(K * n0), group]  # [T, K*n0]: unit c is a live copy of x_group[c]
    m2 = rng.random((trials, ks[1] * widths[1], K * n0)) < ps[1]
    reach = m2 & copy_of[:, None, :]  # [T, k1*n1, K*n0]
    per_input = reach.reshape(trials, ks[1] * widths[1], n0, K).any(-1)  # [T, k1*n1, n0]
    ok &= per_input.all(axis=(1, 2))
    for l in range(2, L + 1):
        m = rng.random((trials, ks[l] * widths[l], ks[l - 1] * widths[l - 1])) < ps[l]
        per = m.reshape(trials, ks[l] * widths[l], widths[l - 1], ks[l - 1]).any(-1)
        ok &= per.all(axis=(1, 2))
    return float(ok.mean())


def wilson(phat: float, n: int, z: float = 2.576) -> tuple[float, float]:
    den = 1 + z * z / n
    c = (phat + z * z / (2 * n)) / den
    h = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / den
    return c - h, c + h


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list[Verdict]:
    rng = np.random.default_rng(7)
    trials = 2000 if quick else 20000
    widths = [3, 4, 2]
    rows = []
    bound_ok = sim_ok = True
    for p in [0.8, 0.6, 0.4]:
        ps = [p] * 3
        for K in [2, 4, 6, 9]:
            for k1 in [2, 4, 6]:
                exact = representation_success_exact(widths, K, [k1], ps)
                union = representation_failure_union(widths, K, [k1], ps)
                sim = simulate(widths, K, [k1], ps, trials, rng)
                lo, hi = wilson(sim, trials)
                bound_ok &= union >= 1 - exact - 1e-12
                inside = lo - 1e-9 <= exact <= hi + 1e-9
                sim_ok &= inside
                rows.append(dict(p=p, K=K, k1=k1, exact_failure=1 - exact, union_bound=min(union, 1.0),
                                 sim_failure=1 - sim, ci_lo=1 - hi, ci_hi=1 - lo, inside_ci=inside))
    df = pd.DataFrame(rows)
    df.to_csv(out_dir / "representation.csv", index=False)
    render("representation", out_dir / "representation.csv")
    plans = []
    for p in [0.5, 0.2, 0.1]:
        plan = representation_plan([8, 8, 8, 1], 0.01, p)
        plans.append((p, plan))
    plan_ok = all(pl["exact_success"] >= 0.99 for _, pl in plans)
    n_in = int(df["inside_ci"].sum())
    return [
        Verdict("union bound >= exact failure probability (36 settings, widths 3-4-2)",
                f"min(union - exact failure) = {(df['union_bound'] - df['exact_failure']).min():.2e}", ">= 0",
                "holds" if bound_ok else "violated"),
        Verdict("Monte Carlo over real ER masks matches the exact probability",
                f"{n_in}/{len(df)} inside the 99% Wilson interval ({trials} trials each)",
                "all inside (a few misses expected at 99%: >= 95% inside)",
                "holds" if n_in >= 0.95 * len(df) else "violated"),
        Verdict("union-bound copies give success >= 1 - delta (target 8-8-8-1, delta = 0.01)",
                "; ".join(f"p={p}: K={pl['K']}, k={pl['k']}, P={pl['exact_success']:.4f}" for p, pl in plans),
                ">= 0.99", "holds" if plan_ok else "violated"),
    ]


if __name__ == "__main__":
    script_main(globals())
