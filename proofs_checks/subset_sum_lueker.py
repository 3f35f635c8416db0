"""Random subset sum in an ER source (Lueker 1998; Gadhikar et al. 2023, statement 2).

n i.i.d. U[-1,1] values, each present independently with probability p (density).
Claim: once n >= C log(1/min(eps, delta)) / log(1/(1-p)), every z in [-1, 1] is within
eps of a sum of present values, with probability >= 1 - delta. We estimate, by Monte
Carlo, the smallest n that eps-covers the whole interval with probability >= 1 - delta
(delta = 0.1), for eps in {1e-1, 1e-2, 1e-3, 1e-4} and p in {1, 0.5, 0.2, 0.1, 0.05}; then
check that it grows linearly in log(1/eps), how it grows as p falls (the paper's
1/log(1/(1-p)) against 1/p), which single C covers the grid, and that it stays below
the bound with the package's default C.

Method: coverage is decided exactly. The sorted list of all 2^m subset sums of the
first m present values covers [-1, 1] iff its smallest relevant sum is <= -1+eps,
its largest >= 1-eps and no gap exceeds 2 eps. Presence is independent of the values,
so the present values are i.i.d. U[-1,1] whatever p is: the smallest covering count
m* is drawn once per trial and n* = m* + NegBin(m*, p) (the position of the m*-th
present item) per p, with common random numbers across p. A sample of trials is
re-checked with the exact subset-sum solver (mitm) on a fine target grid.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np
import pandas as pd

from lottery_theory.bounds import DEFAULT_C, er_factor, er_subset_sum_n
from lottery_theory.plotting import render
from lottery_theory.subset_sum import solve
from lottery_theory.evidence import Law, estimate_power, fixed2, law_slope, near_margin, powered, region_verdict
from lottery_theory.verdicts import Row, combine, judge_rows, read_csv, script_main, seeds_of

STATEMENT = __doc__
DELTA = 0.1
PS = [1.0, 0.5, 0.2, 0.1, 0.05]


def covers(sorted_sums: np.ndarray, eps: float) -> bool:
    """Exact: does the union of [s - eps, s + eps] over the sums contain [-1, 1]?"""
    s = sorted_sums[(sorted_sums >= -1 - eps) & (sorted_sums <= 1 + eps)]
    return s.size > 0 and s[0] <= -1 + eps and s[-1] >= 1 - eps and bool(np.all(np.diff(s) <= 2 * eps))


def min_cover_count(values: np.ndarray, eps: float, m_max: int = 24) -> int:
    """Smallest m such that the first m values eps-cover [-1, 1] (m_max + 1 if none does)."""
    sums = np.zeros(1)
    for m, v in enumerate(values[:m_max], start=1):
        sums = np.sort(np.concatenate([sums, sums + v]), kind="mergesort")
        if covers(sums, eps):
            return m
    return m_max + 1


EPS_GRID = [1e-1, 1e-2, 1e-3, 1e-4]
# Seeds: DEFAULT_C (lottery_theory.bounds) was fitted with `python proofs_checks/subset_sum_lueker.py --calibrate`
# on CALIBRATION_SEEDS; the verdicts use JUDGE_SEED, disjoint from them.
CALIBRATION_SEEDS = range(100, 105)
CALIBRATION_TRIALS = 400
JUDGE_SEED = {True: 2023, False: 2024}  # quick, full

def measure(seed: int, trials: int, eps_grid: list | None = None) -> pd.DataFrame:
    """The smallest n whose present values eps-cover [-1, 1] with probability >= 1 - DELTA, per (eps, p):
    columns eps, p, n_emp, bound_n (default C), plus the per-trial curves for the figure (attrs["curves"]).
    ``eps_grid`` (default EPS_GRID) must be a prefix of EPS_GRID: one random stream runs through the eps in order,
    so a prefix gives exactly the full run's rows for those eps (the tests recompute the cheap ones)."""
    eps_grid = EPS_GRID if eps_grid is None else list(eps_grid)
    if eps_grid != EPS_GRID[:len(eps_grid)] or not eps_grid:
        raise ValueError(f"eps_grid must be a non-empty prefix of {EPS_GRID}, got {eps_grid!r}")
    rng = np.random.default_rng(seed)
    curves, scaling = [], []
    for eps in eps_grid:
        vals = rng.uniform(-1, 1, (trials, 24))
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # numpy's sort releases the GIL
            m_star = np.array(list(pool.map(lambda v: min_cover_count(v, eps), vals)))  # noqa: B023 - used at once
        censored = float((m_star > 24).mean())  # such trials count as "needs more than 24"; the 90% quantile
        if censored >= DELTA:  # is exact as long as fewer than 10% are censored
            raise RuntimeError(f"eps={eps}: {censored:.0%} of trials need more than 24 present items")
        for t in range(3):  # cross-check: the m* present values reach a fine grid within eps (exact solver)
            r = solve(vals[t, :min(m_star[t], 24)], np.linspace(-1, 1, 401))
            assert m_star[t] > 24 or r.error.max() <= eps + 1e-12, "solver disagrees with the coverage check"
        for p in PS:
            n_star = m_star + (rng.negative_binomial(m_star, p) if p < 1 else 0)
            n_q = int(np.ceil(np.quantile(n_star, 1 - DELTA)))
            bound = int(er_subset_sum_n(eps, DELTA, p))
            grid_n = np.arange(1, int(n_star.max()) + 2)
            prob = (n_star[None, :] <= grid_n[:, None]).mean(1)
            curves += [dict(eps=eps, p=p, n=int(n), success=float(q), bound_n=bound, trials=trials, seed=seed)
                       for n, q in zip(grid_n, prob)]
            scaling.append(dict(eps=eps, p=p, n_emp=n_q, bound_n=bound, er_factor=er_factor(p), seed=seed,
                                trials=trials, n_times_log=n_q * (-np.log1p(-p)) if p < 1 else np.nan,
                                n_times_p=n_q * p))
    out = pd.DataFrame(scaling)
    out.attrs["curves"] = pd.DataFrame(curves)
    return out


def covering_C(t: pd.DataFrame) -> float:
    """The smallest C with n_emp <= C log(1/min(eps, delta)) max(1, rho(p)) in every cell."""
    return float(max(r.n_emp / (np.log(1 / min(r.eps, DELTA)) * max(1.0, er_factor(r.p))) for r in t.itertuples()))


def calibrate() -> float:
    """Fit C on the calibration seeds only (the verdicts never see them)."""
    return max(covering_C(measure(s, CALIBRATION_TRIALS)) for s in CALIBRATION_SEEDS)


# ---------------------------------------------------------------------------- decisions (pure)
# Each statistical row is decided on a 95% bootstrap interval over the trials (one judging seed: the spread is the
# trials'); "holds" when it lies inside the claim's region (half-way to the nearest rival) and the power vs the rival
# (lottery_theory.evidence.estimate_power at the bootstrap standard error) is >= 0.9, "violated" when it lies wholly
# outside, else "inconclusive".
B = 400  # bootstrap resamples per cell: the interval ends move by < 0.01 between bootstrap seeds
L_HI_LO = np.log(1e-4) / np.log(1e-1)  # = 4: the end slopes' ratio under a log^2(1/eps) rival (n' = 2bL)


def samples(curves: pd.DataFrame, trials: int) -> dict:
    """Per (eps, p): the trials' n* values, recovered from the published success curve P(n* <= n)."""
    out = {}
    for (eps, p), g in curves.groupby(["eps", "p"]):
        g = g.sort_values("n")
        counts = np.round(np.diff(np.concatenate([[0.0], g["success"].to_numpy()])) * trials).astype(int)
        out[(float(eps), float(p))] = np.repeat(g["n"].to_numpy(), np.clip(counts, 0, None))
    return out


def boot_quantiles(t: pd.DataFrame, seed: int = 0) -> dict:
    """Per (eps, p): B bootstrap draws of the 90% quantile n_emp (resampling the trials)."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, v in t.attrs["samples"].items():
        draws = v[rng.integers(0, v.size, (B, v.size))]
        out[key] = np.ceil(np.quantile(draws, 1 - DELTA, axis=1, method="linear"))
    return out


def end_slope_ratio(L: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Fit n = a + b L + c L^2 (least squares, rows of ``n`` are draws) and return log(n'(L_max) / n'(L_min)):
    0 for a law linear in L = log(1/eps), log 4 on this grid for n = a + b L^2 (log^2(1/eps)); NaN where the
    start slope is not positive."""
    X = np.column_stack([np.ones_like(L), L, L ** 2])
    coef = np.linalg.lstsq(X, np.atleast_2d(n).T, rcond=None)[0]
    d0, d1 = coef[1] + 2 * coef[2] * L.min(), coef[1] + 2 * coef[2] * L.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((d0 > 0) & (d1 > 0), np.log(d1 / d0), np.nan)


def _interval_row(stats_by: dict, claim: float, rival: float, label: str):
    """Verdict over groups: every group's bootstrap interval inside the claim's region (and power) to hold."""
    half = abs(rival - claim) / 2
    vs, parts, pws = [], [], []
    for key, draws in stats_by.items():
        est = draws[0]
        boot = draws[1][np.isfinite(draws[1])]
        if boot.size < 0.9 * B or not np.isfinite(est):
            vs.append("inconclusive")
            parts.append(f"{label(key)}: not estimable")
            continue
        lo, hi = np.quantile(boot, [0.025, 0.975])
        pw, sz = estimate_power(float(boot.std(ddof=1)), claim, rival, half)
        raw = region_verdict(lo, hi, claim, half)
        pws.append((pw, sz, near_margin(lo, hi, (claim - half, claim + half), pw if raw == "holds" else np.nan)))
        vs.append(powered(raw, pw))
        parts.append(f"{label(key)}: {fixed2(est)} [{fixed2(lo)}, {fixed2(hi)}] power {pw:.2f}")
    pw = min((x[0] for x in pws), default=0.0)
    sz = max((x[1] for x in pws), default=0.0)
    return combine(vs), "; ".join(parts), pw, sz, any(x[2] for x in pws)


def _curvature(t: pd.DataFrame, factor) -> dict:
    bq = boot_quantiles(t)
    out = {}
    for p, g in t.groupby("p"):
        g = g.sort_values("eps", ascending=False)
        L = np.log(1 / g["eps"].to_numpy(float))
        f = factor(float(p))
        est = float(end_slope_ratio(L, g["n_emp"].to_numpy(float) * f)[0])
        boot = end_slope_ratio(L, np.stack([bq[(float(e), float(p))] for e in g["eps"]], 1) * f)
        out[float(p)] = (est, boot)
    return out


def decide_dense_linear(t: pd.DataFrame):
    """n(eps) at p = 1: log(end slope / start slope) of a quadratic fit in L = log(1/eps); claim 0 (linear),
    nearest rival log 4 (n = a + b log^2(1/eps))."""
    v, txt, pw, sz, near = _interval_row(_curvature(t[t.p == 1.0], lambda p: 1.0), 0.0, np.log(L_HI_LO),
                                   lambda p: "log(end/start slope) at p=1")
    y = t[t.p == 1.0].sort_values("eps", ascending=False)["n_emp"]
    return v, f"n = {', '.join(f'{x:g}' for x in y)} (eps 1e-1..1e-4); {txt}", \
        {"seeds": seeds_of(t), "power": pw, "size": sz, "near": near, "interval": "95% bootstrap over trials"}


def decide_er_linear(t: pd.DataFrame):
    v, txt, pw, sz, near = _interval_row(_curvature(t[t.p < 1], lambda p: -np.log1p(-p)), 0.0, np.log(L_HI_LO),
                                   lambda p: f"p={p:g}")
    return v, "log(end/start slope) of n log(1/(1-p)) in log(1/eps): " + txt, \
        {"seeds": seeds_of(t), "power": pw, "size": sz, "near": near, "interval": "95% bootstrap over trials"}


def _p_slope(t: pd.DataFrame, claim: Law) -> dict:
    """Per eps: slope of log n_emp on log claim(p) over p < 1 (estimate and bootstrap draws)."""
    bq = boot_quantiles(t)
    out = {}
    for eps, g in t[t.p < 1].groupby("eps"):
        ps = g["p"].to_numpy(float)
        u = np.log(claim(ps))
        uc = u - u.mean()
        est = float((uc * np.log(g["n_emp"].to_numpy(float))).sum() / (uc ** 2).sum())
        boot = np.stack([bq[(float(eps), p)] for p in ps], 1)
        out[float(eps)] = (est, (np.log(boot) * uc).sum(1) / (uc ** 2).sum())
    return out


def decide_inverse_p(t: pd.DataFrame):
    r = law_slope(RHO, INV_P, PS_ER)
    v, txt, pw, sz, near = _interval_row(_p_slope(t, INV_P), 1.0, r, lambda e: f"eps={e:g}")
    return v, f"slope of log n on log(1/p), p < 1 (rival rho(p): slope {r:.2f}): " + txt, \
        {"seeds": seeds_of(t), "power": pw, "size": sz, "near": near, "interval": "95% bootstrap over trials"}


def decide_er_factor(t: pd.DataFrame):
    r = law_slope(INV_P, RHO, PS_ER)
    v, txt, pw, sz, near = _interval_row(_p_slope(t, RHO), 1.0, r, lambda e: f"eps={e:g}")
    return v, f"slope of log n on log rho(p), p < 1 (rival 1/p: slope {r:.2f}): " + txt, \
        {"seeds": seeds_of(t), "power": pw, "size": sz, "near": near, "interval": "95% bootstrap over trials"}


def decide_cover(t: pd.DataFrame):
    over = t[t["n_emp"] > t["bound_n"]]
    c = covering_C(t)
    return ("holds" if over.empty else "violated"), f"{len(t) - len(over)}/{len(t)} cells below the bound; " \
        f"smallest covering C on these seeds {c:.2f} (default C = {DEFAULT_C:g})", \
        {"seeds": f"judged on {seeds_of(t)}; C fitted on {CALIBRATION_SEEDS.start}-{CALIBRATION_SEEDS.stop - 1}"}


RHO = Law("rho(p)", er_factor)
INV_P = Law("1/p", lambda p: 1 / p)
PS_ER = [p for p in PS if p < 1]


# ---------------------------------------------------------------------------- synthetic tables (self-test)
def _law(n_of, rng, jitter: bool = True, trials: int = 2000) -> pd.DataFrame:
    """A scaling table under a law, with per-cell trial samples (spread 5%) whose 90% quantile is n_emp."""
    rows, smp = [], {}
    for eps in EPS_GRID:
        for p in PS:
            n = n_of(eps, p) * (1 + (rng.uniform(-0.01, 0.01) if jitter else 0))
            v = np.ceil(n * (1 + 0.05 * (rng.standard_normal(trials) - 1.2816)))
            smp[(float(eps), float(p))] = v
            rows.append(dict(eps=eps, p=p, n_emp=int(np.ceil(np.quantile(v, 1 - DELTA))),
                             bound_n=int(er_subset_sum_n(eps, DELTA, p)), seed=0))
    out = pd.DataFrame(rows)
    if jitter:  # the held-out-C row needs no trials (and pandas cannot concat tables carrying arrays in attrs)
        out.attrs["samples"] = smp
    return out


def _lin(eps, p):
    return (1.7 * np.log(1 / eps) + 6.5) / p


RULE = ("95% bootstrap interval (trials resampled) inside the claim's region, half-way to the nearest rival, and "
        "power >= 0.9 vs the rival to hold; wholly outside to be violated")
SRC = ("lueker_scaling.csv (columns eps, p, n_emp, bound_n, seed, trials) + lueker.csv (columns eps, p, n, success: "
       "the trials' empirical CDF of n*, for the bootstrap)")

ROWS = [
    Row("dense-log-eps", "dense (p = 1): the n needed grows linearly in log(1/eps); nearest rival: log^2(1/eps)",
        f"log(end slope / start slope) of n on L = log(1/eps) (quadratic fit): claim 0, rival log 4; {RULE}",
        decide_dense_linear, lambda rng: _law(_lin, rng),
        lambda rng: _law(lambda e, p: (0.6 * np.log(1 / e) ** 2 + 6.5) / p, rng),
        "n ~ log^2(1/eps)", rival="log^2(1/eps)", source=SRC),
    Row("er-log-eps", "ER: n log(1/(1-p)) grows linearly in log(1/eps), for each p in {0.5, 0.2, 0.1, 0.05}; "
        "nearest rival: log^2(1/eps)", f"as dense-log-eps, for every p; {RULE}", decide_er_linear,
        lambda rng: _law(_lin, rng), lambda rng: _law(lambda e, p: (0.6 * np.log(1 / e) ** 2 + 6.5) / p, rng),
        "n ~ log^2(1/eps) / p", rival="log^2(1/eps)", source=SRC),
    Row("n-times-p-flat", "ER: n(p) grows like 1/p (the present count is Bin(n, p)) over p < 1; nearest rival: "
        "rho(p) = 1/log(1/(1-p)) exactly", f"slope of log n on log(1/p) over p < 1 at every eps: claim 1, rival "
        f"{law_slope(RHO, INV_P, PS_ER):.2f}; {RULE}", decide_inverse_p,
        lambda rng: _law(_lin, rng), lambda rng: _law(lambda e, p: _lin(e, 1.0) * max(1.0, er_factor(p)), rng),
        "n ~ max(1, 1/log(1/(1-p))) (the ER factor as an exact law)", rival="rho(p) exactly", source=SRC),
    Row("er-factor-flat", "ER: n(p) grows exactly like rho(p) = 1/log(1/(1-p)) over p < 1, p = 0.5 included (the "
        "paper states the factor up to constants; this row asks for it exactly); nearest rival: 1/p",
        f"slope of log n on log rho(p) over p < 1 at every eps: claim 1, rival {law_slope(INV_P, RHO, PS_ER):.2f}; "
        f"{RULE}", decide_er_factor,
        lambda rng: _law(lambda e, p: _lin(e, 1.0) * er_factor(p) if p < 1 else _lin(e, 1.0), rng),
        lambda rng: _law(_lin, rng), "n ~ 1/p", rival="1/p", source=SRC),
    Row("held-out-C", f"one constant covers the grid: n_emp <= C log(1/min(eps, delta)) max(1, rho(p)) with "
        f"C = {DEFAULT_C:g} fitted on held-out seeds",
        "every cell below the bound", decide_cover,
        lambda rng: _law(lambda e, p: 0.8 * er_subset_sum_n(e, DELTA, p), rng, jitter=False),
        lambda rng: pd.concat([_law(lambda e, p: 0.8 * er_subset_sum_n(e, DELTA, p), rng, jitter=False).iloc[:-1],
                               _law(lambda e, p: 1.2 * er_subset_sum_n(e, DELTA, p), rng, jitter=False).iloc[-1:]]),
        "a grid with one cell above the bound", source="lueker_scaling.csv (columns eps, p, n_emp, bound_n)"),
]


def tables(out_dir: Path) -> dict:
    sc = read_csv(Path(out_dir) / "lueker_scaling.csv", ["eps", "p", "n_emp", "bound_n", "seed", "trials"])
    curves = read_csv(Path(out_dir) / "lueker.csv", ["eps", "p", "n", "success"])
    sc.attrs["samples"] = samples(curves, int(sc["trials"].iloc[0]))
    missing = {(float(e), float(p)) for e, p in zip(sc.eps, sc.p)} - set(sc.attrs["samples"])
    if missing:
        raise ValueError(f"lueker.csv has no success curve for (eps, p) = {sorted(missing)}")
    return {row.id: sc for row in ROWS}


def judge(out_dir: Path) -> list:
    t = tables(out_dir)
    return judge_rows(ROWS, t)


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list:
    trials = 1000 if quick else 3000  # 200 / 1000 left n(p) and the eps rows short of power 0.9 (docs/verdicts.md)
    sc = measure(JUDGE_SEED[quick], trials)
    sc.attrs["curves"].to_csv(out_dir / "lueker.csv", index=False)
    sc.to_csv(out_dir / "lueker_scaling.csv", index=False)
    render("lueker", out_dir / "lueker.csv")
    render("lueker_scaling", out_dir / "lueker_scaling.csv")
    return judge(out_dir)


if __name__ == "__main__":
    import sys

    if "--calibrate" in sys.argv[1:]:
        print(f"covering C on calibration seeds {list(CALIBRATION_SEEDS)} ({CALIBRATION_TRIALS} trials each): "
              f"{calibrate():.3f}")
        sys.exit(0)
    script_main(globals())
