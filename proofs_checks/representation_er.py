"""Representation (weak ticket) in an ER source of depth L+1 (statement 3; docs/theory.md, "Representation").

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

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np
import pandas as pd

from lottery_theory.bounds import (
    representation_failure_union,
    representation_plan,
    representation_success_exact,
)
from lottery_theory.plotting import render
from lottery_theory.verdicts import Row, judge_rows, read_csv, script_main

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


# Thresholds, fixed in advance.
MAX_OUTSIDE = 3  # 36 settings at 99% coverage: P(Bin(36, 0.01) >= 4) = 5e-4 under the claim
WIDTHS, PS_GRID, KS, K1S = [3, 4, 2], [0.8, 0.6, 0.4], [2, 4, 6, 9], [2, 4, 6]
DELTA = 0.01


def decide_union(t: pd.DataFrame):
    """Table: exact_failure, union_bound per setting."""
    gap = float((t["union_bound"] - t["exact_failure"]).min())
    return ("holds" if gap >= -1e-12 else "violated"), f"min(union - exact failure) = {gap:.2e} ({len(t)} settings)", {}


def decide_mc(t: pd.DataFrame):
    """Table: exact_failure, ci_lo, ci_hi (99% Wilson interval of the simulated failure) per setting."""
    out = int((~((t["ci_lo"] - 1e-9 <= t["exact_failure"]) & (t["exact_failure"] <= t["ci_hi"] + 1e-9))).sum())
    return ("holds" if out <= MAX_OUTSIDE else "violated"), f"{len(t) - out}/{len(t)} inside the 99% Wilson interval", {}


def decide_plan(t: pd.DataFrame):
    """Table: p, K, k, exact_success for the union-bound plan of an 8-8-8-1 target."""
    worst = float(t["exact_success"].min())
    txt = "; ".join(f"p={r.p}: K={r.K}, k={r.k}, P={r.exact_success:.4f}" for r in t.itertuples())
    return ("holds" if worst >= 1 - DELTA else "violated"), txt, {}


def _settings():
    for p in PS_GRID:
        for K in KS:
            for k1 in K1S:
                yield p, K, k1


def _mc_table(rng, trials: int, law=None) -> pd.DataFrame:
    """Simulated failures (``law(p) -> p'``: simulate at a wrong density for the self-test's alternative)."""
    rows = []
    for p, K, k1 in _settings():
        exact = representation_success_exact(WIDTHS, K, [k1], [p] * 3)
        union = representation_failure_union(WIDTHS, K, [k1], [p] * 3)
        if law is None:
            sim = simulate(WIDTHS, K, [k1], [p] * 3, trials, rng)
        else:
            sim = rng.binomial(trials, representation_success_exact(WIDTHS, K, [k1], [law(p)] * 3)) / trials
        lo, hi = wilson(sim, trials)
        rows.append(dict(p=p, K=K, k1=k1, exact_failure=1 - exact, union_bound=min(union, 1.0), sim_failure=1 - sim,
                         ci_lo=1 - hi, ci_hi=1 - lo, inside_ci=bool(lo - 1e-9 <= exact <= hi + 1e-9)))
    return pd.DataFrame(rows)


def _plan_table(shrink: float = 1.0) -> pd.DataFrame:
    rows = []
    for p in [0.5, 0.2, 0.1]:
        plan = representation_plan([8, 8, 8, 1], DELTA, p)
        K, k = max(1, int(plan["K"] * shrink)), [max(1, int(x * shrink)) for x in plan["k"]]
        rows.append(dict(p=p, K=K, k=k, exact_success=representation_success_exact([8, 8, 8, 1], K, k, p)))
    return pd.DataFrame(rows)


ROWS = [
    Row("union-bound", "union bound >= exact failure probability (36 settings, widths 3-4-2)", ">= 0 in every setting",
        decide_union, lambda rng: _mc_table(rng, 500, law=lambda p: p),
        lambda rng: _mc_table(rng, 500, law=lambda p: p).assign(union_bound=lambda d: d["exact_failure"] * 0.9),
        "a 'bound' 10% below the exact failure", source="representation.csv (columns exact_failure, union_bound)"),
    Row("monte-carlo", "Monte Carlo over real ER masks matches the exact probability",
        f"<= {MAX_OUTSIDE} of 36 outside their 99% interval (Bin(36, 0.01) tail 5e-4)", decide_mc,
        lambda rng: _mc_table(rng, 2000, law=lambda p: p), lambda rng: _mc_table(rng, 2000, law=lambda p: 0.9 * p),
        "masks drawn at 0.9 p (a density miss of 10%)", source="representation.csv (columns inside_ci: exact probability inside the 99% Wilson interval)",
        calibration="Bin(36, 0.01): more than 3 of 36 outside their 99% interval has probability 5e-4 under the claim"),
    Row("plan-success", "union-bound copies give success >= 1 - delta (target 8-8-8-1, delta = 0.01)", ">= 0.99",
        decide_plan, lambda rng: _plan_table(), lambda rng: _plan_table(0.5), "half the planned copies",
        source="representation_plan.csv (columns p, K, k, exact_success)"),
]


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list:
    df = _mc_table(np.random.default_rng(7), 2000 if quick else 20000)
    df.to_csv(out_dir / "representation.csv", index=False)
    render("representation", out_dir / "representation.csv")
    _plan_table().to_csv(out_dir / "representation_plan.csv", index=False)
    return judge(out_dir)


def judge(out_dir: Path) -> list:
    df = read_csv(Path(out_dir) / "representation.csv", ["p", "K", "k1", "exact_failure", "union_bound", "inside_ci"])
    plan = read_csv(Path(out_dir) / "representation_plan.csv", ["p", "K", "k", "exact_success"])
    return judge_rows(ROWS, {"union-bound": df, "monte-carlo": df, "plan-success": plan})


if __name__ == "__main__":
    script_main(globals())
