"""Strong tickets inside ER sources, built explicitly (Gadhikar et al. 2023, central claim; our 2L construction).

An ER source of density p, wide enough, contains a subnetwork approximating the target within eps
without training. We build the ticket with the subset-sum engine for random 10-20-20-1 targets
(U[-1,1] weights, spectral norm <= 1) over width multipliers k (units per target input in each
block layer) and p in {1, 0.5, 0.2, 0.1} (+0.05 in the full run). Every ticket's sup error over
[-1, 1]^10 is a bracket: `lower` from an attack (random samples + sign-gradient ascent, re-evaluated
on the rebuilt ticket) and `upper` from interval propagation of its realised weights (a certificate).
A ticket is an eps-ticket only when upper <= eps; k_min(p) is the smallest k that is one.

Two layouts of the 2L block layer are built (construct(assignment=...)): **fixed** (unit u serves input
u // k, so a path needs both of its edges: item presence p^2/2) and **adaptive** (each unit serves one of
its surviving inputs, balanced: presence p/2, one ER factor per layer; docs/theory.md). The adaptive rows were
measured with the units tied least-loaded first (assignment="greedy", labelled "greedy"; its width AD-1 is a
heuristic); construct()'s default ties them by a matching whose width (AD-2) is proven.

Rows: (a) lower <= upper <= composition bound for every ticket; (b) at the bound's width (per layout) the
tickets are certified eps-tickets; (c) the fixed layout needs k_min ~ 1/log(1/(1-p^2/2)); (d) the paper's
per-layer factor on the fixed layout (violated: a property of that layout of ours, not of the paper);
(e) the adaptive layout needs k_min ~ 1/((1-(1-p)^10) log(1/(1-p/2))) (a unit must reach an input; the
first target layer has 10); (f) the paper's per-layer factor on the adaptive layout, a finding (small fan-in; judged on the 200-input target in the full run); (g) fixed / adaptive
follows the ratio of the two laws. In quick mode the bound's width is built for p >= 0.1 only. A LeNet-300-100 (trained on real MNIST, mnist5k) ticket at p = 0.5 is reported as a finding.
The full run adds L+1 tickets (Burkholz 2022 layout): certified at the bound's width, and k_min(p) on 4-8-1 and
16-8-1 targets (the small-fan-in and the reach-1 regime), judged like the 2L rows.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np
import pandas as pd

from lottery_theory.bounds import er_factor, lower_bound_width, path_factor, reach_factor, units_per_input
from lottery_theory.experiments import default_store, run_sweep
from lottery_theory.experiments.builtin.ticket import L1_EPS, L1_PS, L1_TARGETS, WIDE_PS, WIDE_TARGET, TicketConfig
from lottery_theory.experiments.sweep import BUILTIN_SWEEPS, load_sweep, run_named, sweep_from_spec, sweep_name
from lottery_theory.plotting import render
from lottery_theory.tickets.bracket import SPLIT_BOXES
from lottery_theory.evidence import Law, Scaling, fixed2, law_slope, log_crossing
from lottery_theory.verdicts import Row, finding, read_csv, script_main, seeds_of

STATEMENT = __doc__
EPS = [0.1, 0.03, 0.01]
# The adaptive layout as the published results built it: units tied least-loaded first (assignment="greedy", its
# width AD-1 a heuristic). construct()'s default "adaptive" ties them by a matching with the proven width (AD-2);
# the two differ only in which surviving edge a unit serves. The CSVs label these rows layout "greedy".
GREEDY = "greedy"
WIDTHS = (10, 20, 20, 1)


def bound_k(p: float, eps: float = 0.01, layout: str = "fixed") -> int:
    return units_per_input(WIDTHS, eps, 0.01, p, assignment=layout)


# Thresholds, fixed in advance.
SLACK = 1e-9  # lower is a float64 evaluation; upper is exact arithmetic of the same weights
QUICK_PS, FULL_PS = (1.0, 0.5, 0.2, 0.1), (1.0, 0.5, 0.2, 0.1, 0.05)


def reach_half(n0: int):
    """The adaptive block's law with ``n0`` inputs, :func:`lottery_theory.bounds.reach_factor` (docs/theory.md)."""
    return lambda p: reach_factor(p, n0)


half_factor = reach_half(WIDTHS[0])  # 10-20-20-1: the target layer with the fewest inputs has 10
half_factor_wide = reach_half(WIDE_TARGET[0])  # the 200-input target (reach ~ 1 on its grid)


def ratio_law(p):
    """Predicted k_fixed / k_adaptive: path_factor / half_factor (about 1/p where every unit reaches an input)."""
    return path_factor(p) / half_factor(p)


def kmin_table(wide: pd.DataFrame, eps: float = 0.01) -> pd.DataFrame:
    """Smallest k whose ticket is a certified eps-ticket (upper <= eps), per (density, seed), with censoring:
    ``censored`` is "floor" when the grid's smallest k already certifies (only k_min <= floor is known) and
    "above" when no k of the grid certifies (k_min NaN)."""
    rows = []
    for p, gp in wide.groupby("density"):
        grid = sorted(gp["width_multiplier"].unique())
        for seed, g in gp.groupby("seed"):
            ok = g[g["upper"] <= eps]
            if not len(ok):
                rows.append(dict(eps=eps, density=p, seed=seed, k_min=np.nan, censored="above"))
                continue
            k = int(ok["width_multiplier"].min())
            r = ok[ok.width_multiplier == k].iloc[0]
            rows.append(dict(eps=eps, density=p, seed=seed, k_min=k, k_cross=k_crossing(g, k, grid, eps),
                             censored="floor" if k == grid[0] else "",
                             kept_ratio=r.kept_params / r.target_params,
                             source_ratio=r.source_params / r.target_params))
    return pd.DataFrame(rows)


def k_crossing(g: pd.DataFrame, k_min: float, grid: list, eps: float) -> float:
    """Where the certified upper bound crosses eps: linear in (log k, log upper) between the grid width just below
    ``k_min`` (not an eps-ticket) and ``k_min`` (one), so it lies in (previous k, k_min]; ``k_min`` itself at the
    grid's floor (censored there). It removes the sqrt(2) grid's rounding (up to a factor 1.41 per point) from
    the slopes the rows fit."""
    i = grid.index(k_min)
    if i == 0:
        return float(k_min)
    up = g.groupby("width_multiplier")["upper"].first()
    return log_crossing(grid[i - 1], k_min, float(up[grid[i - 1]]), float(up[k_min]), eps)


def grid_of(wide: pd.DataFrame, layout: str | None = None) -> dict:
    """The k grid per density (what a simulated k_min is rounded up to, as the measurement was)."""
    w = wide if layout is None else wide[wide["layout"] == layout]
    return {float(p): sorted(float(k) for k in g["width_multiplier"].unique()) for p, g in w.groupby("density")}


def decide_bracket(t: pd.DataFrame):
    """Table: lower, upper, certified_error (composition) per ticket."""
    bad = t[(t["lower"] > t["upper"] + SLACK) | (t["upper"] > t["certified_error"] * (1 + 1e-9) + SLACK)]
    ratio = (t["upper"] / t["lower"].clip(lower=1e-300))
    return ("holds" if bad.empty else "violated"), f"{len(t) - len(bad)}/{len(t)} tickets; upper/lower median " \
        f"{ratio.median():.2f}, max {ratio.max():.2f}", {}


def decide_at_bound(t: pd.DataFrame):
    """Table: upper, eps, width_multiplier, bound_k for tickets at or above the bound's width."""
    at = t[t["width_multiplier"] >= t["bound_k"]]
    if at.empty:
        return "inconclusive", "no ticket at the bound's width", {}
    ok = at["upper"] <= at["eps"]
    return ("holds" if ok.all() else "violated"), f"{int(ok.sum())}/{len(at)} certified eps-tickets (max upper " \
        f"{at['upper'].max():.2e})", {}


# Laws of k_min(p) and the nearest rival of each row (fixed here, before judging).
PATH = Law("1/log(1/(1-p^2/2))", path_factor)
PATH_34 = Law("(1/log(1/(1-p^2/2)))^0.75", lambda p: path_factor(p) ** 0.75)
HALF = Law("1/((1-(1-p)^10) log(1/(1-p/2)))", half_factor)
HALF_15 = Law("(1/((1-(1-p)^10) log(1/(1-p/2))))^1.5", lambda p: half_factor(p) ** 1.5)
RHO = Law("rho(p) = 1/log(1/(1-p))", er_factor)
RHO_15 = Law("rho(p)^1.5", lambda p: er_factor(p) ** 1.5)
HALF_W = Law("1/((1-(1-p)^200) log(1/(1-p/2)))", half_factor_wide)
HALF_W_15 = Law("(1/((1-(1-p)^200) log(1/(1-p/2))))^1.5", lambda p: half_factor_wide(p) ** 1.5)
L1_N = {regime: widths[0] for regime, widths in L1_TARGETS.items()}  # inputs of the L+1 targets: 4 and 16
L1_HALF = {r: Law(f"1/((1-(1-p)^{n}) log(1/(1-p/2)))", reach_half(n)) for r, n in L1_N.items()}
L1_HALF_15 = {r: Law(f"(1/((1-(1-p)^{n}) log(1/(1-p/2))))^1.5", lambda p, n=n: reach_half(n)(p) ** 1.5)
              for r, n in L1_N.items()}
RATIO = Law("path/half factor (about 1/p)", ratio_law)
RATIO_HALF = Law("(path/half factor)^0.5 (about 1/sqrt(p))", lambda p: ratio_law(p) ** 0.5)


def _scaling(claim: Law, rival: Law, below_one: bool = False, what: str = "k_min (interpolated crossing of eps)",
             y: str = "k_cross"):
    sc = Scaling(claim, rival, x="density", y=y, what=what, quantise=False)  # k_cross is continuous; the grid censors

    def decide(t: pd.DataFrame):
        g = t.attrs.get("grid")
        t = t[t.density < 1] if below_one else t
        return sc.decide(t, grid=g)
    return decide


def ratio_table(kmin: pd.DataFrame) -> pd.DataFrame:
    """Per (density, seed): k_fixed / k_adaptive (censored when either is)."""
    w = kmin.pivot_table(index=["density", "seed"], columns="layout", values="k_cross", aggfunc="first")
    c = kmin.assign(c=kmin["censored"].fillna("").astype(str)).pivot_table(
        index=["density", "seed"], columns="layout", values="c", aggfunc="first")
    out = pd.DataFrame({"ratio": w.get("fixed") / w.get(GREEDY),
                        "censored": np.where((c.get("fixed", "") != "") | (c.get(GREEDY, "") != ""), "either",
                                             "")}).reset_index()
    return out


def _law(law, rng, ps=FULL_PS, n_seeds: int = 5) -> pd.DataFrame:
    """k_min on the sqrt(2) grid under a law, five seeds, each rounded up to the grid; k_cross the law's own
    (continuous) value, as the interpolated crossing measures it."""
    rows = []
    for p in ps:
        for seed in range(n_seeds):
            k = law(p) * math.exp(rng.uniform(-0.1, 0.1))
            rows.append(dict(density=p, seed=seed, k_min=2 ** (math.ceil(2 * math.log2(k)) / 2), k_cross=k,
                             censored=""))
    return pd.DataFrame(rows)


def _ratio(fixed, adaptive):
    def make(rng):
        return ratio_table(pd.concat([_law(fixed, rng, FULL_PS).assign(layout="fixed"),
                                      _law(adaptive, rng, FULL_PS).assign(layout=GREEDY)]))
    return make


ACT_CSV = "ticket_activations.csv"


def activation_tickets(quick: bool) -> pd.DataFrame:
    """Tickets for the 10-20-20-1 targets with Tanh, Sigmoid or LeakyReLU(0.1) in place of ReLU, at the bound's
    width (adaptive layout, eps = 0.01), p in {1, 0.5}: their brackets (a few seconds each; computed here, not in
    the result store, because the ticket experiment's configs have no activation field)."""
    import torch

    from lottery_theory.experiments.builtin.ticket import spectral_target
    from lottery_theory.tickets import construct

    acts = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "leaky_relu": lambda: torch.nn.LeakyReLU(0.1)}
    rows = []
    for name, act in acts.items():
        for p in (1.0, 0.5):
            for seed in range(3 if quick else 5):
                t = spectral_target(list(WIDTHS), seed)
                t = torch.nn.Sequential(*[act() if isinstance(m, torch.nn.ReLU) else m for m in t])
                tk = construct(t, density=p, eps=0.01, assignment=GREEDY,
                               generator=torch.Generator().manual_seed(10_000 + seed))
                br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(20_000 + seed))
                rows.append(dict(activation=name, density=p, seed=seed, eps=0.01, lower=br.lower, upper=br.upper,
                                 certified_error=tk.certified_error, failures=tk.failures,
                                 width_multiplier=bound_k(p, 0.01, GREEDY)))
    return pd.DataFrame(rows)


L1_CSV = "ticket_l1.csv"


def l1_tickets(seeds=(0, 1, 2), ps=(1.0, 0.5)) -> pd.DataFrame:
    """L+1 tickets (Burkholz 2022 layout: one block layer, then copy layers) of the 10-20-20-1 targets at the
    bound's width (``l1_plan``), eps = 0.01, fewest subsets under the gain-rescaled budget (docs/theory.md LB-1): the attack's lower bound and both certificates
    (one box each: the copy layers make a box pass cost seconds). Full run only (about 30 s per ticket)."""
    import torch

    from lottery_theory.experiments.builtin.ticket import spectral_target
    from lottery_theory.tickets import construct

    rows = []
    for p in ps:
        for seed in seeds:
            t = spectral_target(list(WIDTHS), seed)
            tk = construct(t, density=p, eps=0.01, construction="L+1", assignment=GREEDY,
                           generator=torch.Generator().manual_seed(10_000 + seed))
            # the bracket as Ticket.sup_error computes it: attack + float64 recheck on the rebuilt networks, both
            # certificates (one box here: more than SPLIT_MAX_COPIES copies per layer)
            br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(20_000 + seed), restarts=8,
                              steps=60, samples=1000)
            rows.append(dict(density=p, seed=seed, eps=0.01, lower=br.lower, rho=tk.layout["rho"][0],
                             interval=br.interval, upper=br.upper,
                             source_params=tk.source_params, kept_params=tk.kept_params))
    return pd.DataFrame(rows)


L1W_CSV = "ticket_l1_width.csv"  # full run only
L1_SWEEPS = ("tickets-l1", "tickets-l1-wide")  # the 4-8-1 and 16-8-1 targets (experiments/builtin/ticket.py)


def l1_width_table(store) -> pd.DataFrame:
    """The L+1 k_min sweeps (``tickets-l1``: 4-8-1 targets; ``tickets-l1-wide``: 16-8-1) as one table, a row
    per ticket: n_in, density, width_multiplier, seed, eps, lower, upper, certified_error, parameter counts."""
    parts = []
    for name in L1_SWEEPS:
        df = load_sweep(name, store)
        w = df.pivot_table(index=["density", "width_multiplier", "seed", "eps"], columns="metric",
                           values="value").reset_index()
        parts.append(w.assign(n_in=int(df["target_widths"].iloc[0][0])))
    return pd.concat(parts, ignore_index=True)


def l1_kmin(w: pd.DataFrame) -> dict:
    """k_min per (density, seed) for each L+1 regime ("small", "wide"), censoring and grid as for 2L."""
    out = {}
    for regime, n in L1_N.items():
        g = w[w["n_in"] == n]
        if g.empty:
            continue
        km = kmin_table(g, float(g["eps"].iloc[0]))
        km.attrs["grid"] = grid_of(g)
        out[regime] = km
    return out


def decide_l1(t: pd.DataFrame):
    """Table: density, seed, eps, lower, upper (differential), interval: every L+1 ticket a certified eps-ticket."""
    ok = (t["upper"] <= t["eps"]) & (t["lower"] <= t["upper"] + SLACK)
    extra = f"; the interval certificate alone certifies {int((t.interval <= t.eps).sum())}/{len(t)} (median " \
        f"{t.interval.median():.2e})" if "interval" in t else ""
    return ("holds" if ok.all() else "violated"), f"{int(ok.sum())}/{len(t)} certified eps-tickets; upper median " \
        f"{t.upper.median():.2e}, max {t.upper.max():.2e}; upper / lower median {(t.upper / t.lower).median():.1f}" + \
        extra, {"seeds": seeds_of(t)}


def decide_activations(t: pd.DataFrame):
    """Table: activation, density, seed, lower, upper, eps: every ticket a certified eps-ticket with lower <= upper."""
    ok = (t["upper"] <= t["eps"]) & (t["lower"] <= t["upper"] + SLACK)
    worst = t.groupby("activation")["upper"].max()
    return ("holds" if ok.all() else "violated"), f"{int(ok.sum())}/{len(t)} certified eps-tickets; max upper " + \
        ", ".join(f"{a} {u:.2e}" for a, u in worst.items()), {"seeds": seeds_of(t)}


EXACT_CSV = "ticket_exact.csv"
EXACT_TARGETS = ([3, 4, 1], [4, 6, 2], [2, 3, 3, 1])
TIGHT = 1.5  # issue 24's goal: a certificate within 1.5x of the exact sup error at the median
TIGHT_MAX = 3.0  # ... and within 3x on every ticket of the suite


def _small_target(widths, seed):
    import torch

    g = torch.Generator().manual_seed(seed)
    mods = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        lin = torch.nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_((torch.rand(b, a, generator=g) * 2 - 1) * 0.6)
            lin.bias.copy_((torch.rand(b, generator=g) * 2 - 1) * 0.2)
        mods += [lin] + ([torch.nn.ReLU()] if i < len(widths) - 2 else [])
    return torch.nn.Sequential(*mods)


def exact_suite(seeds, eps: float = 0.05, progress=None) -> pd.DataFrame:
    """Small 2L tickets (targets EXACT_TARGETS, U[-0.6, 0.6] weights, p in {1, 0.5, 0.2}, fixed and adaptive
    (greedy ties), widths 4, 8 and the bound's): attack lower bound, exact sup error (MILP, tickets/exact.py), the certified
    upper bound ``Ticket.sup_error`` reports (the smaller of the interval and differential certificates, and which
    one), each certificate alone, and the composition certificate."""
    import warnings

    import torch

    from lottery_theory.tickets import construct
    from lottery_theory.tickets.construct import BudgetMissed
    from lottery_theory.bounds.differential import differential_certificate
    from lottery_theory.tickets.exact import exact_sup_error

    rows = []
    for widths in EXACT_TARGETS:
        for p in (1.0, 0.5, 0.2):
            for layout in ("fixed", GREEDY):
                kb = units_per_input(widths, eps, 0.01, p, assignment=layout)
                for k in (4, 8, kb):
                    for seed in seeds:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", BudgetMissed)
                            tk = construct(_small_target(widths, seed), density=p, eps=eps, width_multiplier=k,
                                           assignment=layout, generator=torch.Generator().manual_seed(100 + seed))
                        br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(seed))
                        ex = exact_sup_error(tk)
                        one_box = differential_certificate(tk.target, tk.realise(), -1.0, 1.0).upper
                        rows.append(dict(target="-".join(map(str, widths)), density=p, layout=layout, k=k, seed=seed,
                                         at_bound=k == kb, lower=br.lower, exact=ex.value, exact_bound=ex.bound,
                                         optimal=ex.optimal, upper=br.upper, method=br.method, interval=br.interval,
                                         differential=br.differential, differential_1box=one_box,
                                         composition=tk.certified_error))
                        if progress:
                            progress(rows[-1])
    return pd.DataFrame(rows)


L1_EXACT_TARGETS = EXACT_TARGETS + ([1, 4, 1], [1, 3, 3, 1])  # L+1 suite: one-input targets are exact at any width
L1_MAX_BINARIES = 400  # multi-input L+1 MILPs: one binary per unstable copy; larger ones take minutes unproven


def exact_suite_l1(seeds, eps: float = 0.05, progress=None, time_limit: float = 30.0, targets=L1_EXACT_TARGETS,
                   ks=(4, 8, None)) -> pd.DataFrame:
    """Small L+1 tickets (targets L1_EXACT_TARGETS, weights as ``exact_suite``; p in {1, 0.5, 0.2}, fixed and
    adaptive (greedy ties) first layers, ``ks`` = 4, 8 and the bound's width (None)): lower, exact (one input: every kink; else
    the MILP with one variable per copy when it has at most L1_MAX_BINARIES binaries and is proven optimal within
    ``time_limit`` per MILP, else NaN), the reported upper and each certificate alone."""
    import time
    import warnings

    import torch

    from lottery_theory.bounds.certificate import interval_certificate
    from lottery_theory.bounds.differential import differential_certificate
    from lottery_theory.tickets import construct
    from lottery_theory.tickets.construct import BudgetMissed
    from lottery_theory.tickets.exact import exact_sup_error

    rows = []
    for widths, p, layout, k, seed in itertools.product(targets, (1.0, 0.5, 0.2), ("fixed", GREEDY), ks, seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BudgetMissed)
            tk = construct(_small_target(widths, seed), density=p, eps=eps, construction="L+1", assignment=layout,
                           generator=torch.Generator().manual_seed(100 + seed),
                           **({} if k is None else {"width_multiplier": k}))
        real = tk.realise()
        t0 = time.perf_counter()
        br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(seed))
        t1 = time.perf_counter()
        try:
            ex = exact_sup_error(tk, max_binaries=L1_MAX_BINARIES, time_limit=time_limit)
            exact, bound, how = (ex.value, ex.bound, ex.method) if ex.optimal else (np.nan, np.nan, "-")
        except ValueError:  # too many binaries for a MILP
            exact, bound, how = np.nan, np.nan, "-"
        rows.append(dict(target="-".join(map(str, widths)), density=p, layout=layout, seed=seed,
                         k=k if k is not None else -1, at_bound=k is None, units=int(tk.network[0].out_features),
                         copies=max(len(r.rows) for r in real),
                         lower=br.lower, exact=exact, exact_bound=bound, exact_method=how, upper=br.upper,
                         method=br.method, interval=interval_certificate(tk.target, real, -1.0, 1.0).upper,
                         differential_1box=differential_certificate(tk.target, real, -1.0, 1.0).upper,
                         t_bracket=t1 - t0, t_exact=time.perf_counter() - t1))
        if progress:
            progress(rows[-1])
    return pd.DataFrame(rows)


def decide_exact_inside(t: pd.DataFrame):
    """Table: lower, exact, exact_bound, upper, optimal: the exact sup inside every bracket."""
    # exact_bound carries the MILP's 1e-6 relative solver margin (tickets/exact.py): the comparisons allow it
    ok = (t["lower"] <= t["exact_bound"]) & (t["exact"] <= t["upper"] * (1 + 1e-6) + SLACK) & t["optimal"].astype(bool)
    return ("holds" if ok.all() else "violated"), f"{int(ok.sum())}/{len(t)} tickets solved to optimality with " \
        f"lower <= exact <= upper; exact/lower median {(t.exact / t.lower).median():.2f}, max " \
        f"{(t.exact / t.lower).max():.2f}", {"seeds": seeds_of(t)}


def decide_tight(t: pd.DataFrame):
    """Table: exact, upper: median of upper / exact <= TIGHT and max <= TIGHT_MAX."""
    r = t["upper"] / t["exact"]
    med, mx = float(r.median()), float(r.max())
    extra = f"; interval certificate alone: median {(t.interval / t.exact).median():.2f}" if "interval" in t else ""
    return ("holds" if med <= TIGHT and mx <= TIGHT_MAX else "violated"), f"certified upper / exact: median " \
        f"{med:.2f}, max {mx:.2f} over {len(t)} tickets{extra} (composition / exact: median " \
        f"{(t.composition / t.exact).median():.2f})", {"seeds": seeds_of(t)}


def _brackets(rng, lie: bool = False) -> pd.DataFrame:
    up = rng.uniform(0.01, 1, 50)
    low = up * rng.uniform(0.1, 1, 50)
    if lie:
        low[3] = up[3] * 1.5
    return pd.DataFrame(dict(lower=low, upper=up, certified_error=up * 1.5))


REGIME = ("regime: n_in p >= 1 (a unit reaches an input) only for p >= 0.1 on the 10-input first layer; the "
          "(1-(1-p)^10) term carries the small-fan-in regime")
SLOPE_RULE = ("per-seed slope of log k_min on log (claim law), k_min read where the certified upper bound crosses "
              "eps (interpolated in (log k, log upper) between the two grid widths around the crossing, not rounded "
              "up to the sqrt(2) grid), 95% t-interval over seeds wholly inside the claim's region (1 +- half the "
              "distance to the rival's slope on this grid) and power >= 0.9 vs the rival to hold; wholly outside to "
              "be violated; censored k_min (grid floor/ceiling) left out")
CSV = "ticket_error_width.csv"
WIDE_CSV = "ticket_wide.csv"  # full run only
REGIME_WIDE = "regime: n_in p >= 4 at every p of the grid (200 inputs, p down to 0.02): every unit reaches an input"
L1_REGIME = {"small": "regime: 4 inputs, n_in p = 0.8 at p = 0.2 (a block unit must reach an input: the "
                      "(1-(1-p)^4) term)", "wide": "regime: 16 inputs, n_in p >= 3.2 on the grid (reach ~ 1)"}
L1_WHAT = ("L+1 tickets (one adaptive block layer with greedy ties, then copy layers; Burkholz 2022 layout) of {t} targets, eps = "
           f"{L1_EPS:g}, p in {{{{{', '.join(f'{p:g}' for p in L1_PS)}}}}}, construct()'s other defaults: k_min (units per "
           "input = copies per neuron)")


def _l1_rows(regime: str) -> list:
    """The L+1 k_min rows of one regime: the first block's one-factor law (the copy layers' items are present
    w.p. p, a smaller factor, so the block sets k) and, where every block unit reaches an input (the wide regime),
    the paper's per-layer factor, each against its rival. In the small-fan-in regime the paper's factor is reported
    as a finding (:func:`paper_factor_finding`)."""
    t = "-".join(map(str, L1_TARGETS[regime]))
    half, half15, tag = L1_HALF[regime], L1_HALF_15[regime], "l1" if regime == "small" else "l1-wide"
    src = f"{L1W_CSV}, n_in = {L1_N[regime]} ({COLS})"
    return [
        Row(f"{tag}-one-factor", f"{L1_WHAT.format(t=t)} grows like the first block's one ER factor with its sign "
            f"on the units that reach an input, {half.name}; nearest rival: {half15.name}; {L1_REGIME[regime]} "
            "(full run only)", SLOPE_RULE, _scaling(half, half15),
            lambda rng: _law(lambda p: 20 * float(half(p)), rng, L1_PS),
            lambda rng: _law(lambda p: 3 * path_factor(p), rng, L1_PS), "k_min ~ 1/log(1/(1-p^2/2)) (both edges)",
            rival=half15.name, source=src),
        *([] if regime == "small" else [Row(
            f"{tag}-paper-factor", f"the paper's per-layer factor on L+1: {L1_WHAT.format(t=t)} ~ {RHO.name}, "
            f"p < 1; nearest rival: {RHO_15.name}; {L1_REGIME[regime]} (full run only)", SLOPE_RULE,
            _scaling(RHO, RHO_15, below_one=True),
            lambda rng: _law(lambda p: 20 * er_factor(p) if p < 1 else 20, rng, L1_PS),
            lambda rng: _law(lambda p: 3 * path_factor(p), rng, L1_PS), "k_min ~ 1/log(1/(1-p^2/2))",
            rival=RHO_15.name, source=src)]),
    ]

def paper_factor_finding(row: str, kmin: pd.DataFrame, one: Law, what: str, regime: str):
    """The paper's per-layer factor where a unit need not reach an input (n_in p < 1 somewhere on the grid): a finding,
    not a verdict. There the construction's law is the one-factor law with its reach term (its own row, against its
    rival), whose slope on log rho(p) lies between rho's 1 and rho^1.5's 1.5 on these grids (1.27 and 1.29), so no
    number of seeds could tell rho from rho^1.5 there; the paper's factor is judged on the wide targets (n_in p >= 1,
    rows wide-paper-factor and l1-wide-paper-factor). Reported: the measured slope of log k_min on log rho(p) (p < 1),
    95% t-interval over seeds, beside the slopes the one-factor law and rho^1.5 have on this grid."""
    t = kmin[kmin.density < 1]
    sc = Scaling(RHO, RHO_15, x="density", y="k_cross", quantise=False)
    x, seed, y, ok = sc.arrays(t)
    _, m, lo, hi, n = sc.raw(x, seed, y, ok)
    xs = np.unique(x[ok])
    return finding(row, f"the paper's per-layer factor rho(p) on {what} in the small-fan-in regime ({regime}): slope "
                   "of log k_min on log rho(p), p < 1", f"{fixed2(m)} [{fixed2(lo)}, {fixed2(hi)}] ({n} seeds); on this grid the "
                   f"one-factor law {one.name} has slope {law_slope(one, RHO, xs):.2f} and rho^1.5 has 1.50",
                   "no verdict: here the construction's law is the one-factor law (its own row); the paper's factor "
                   "is judged where every unit reaches an input (the wide targets)", seeds=seeds_of(t))


COLS = ("columns layout, density, width_multiplier, seed, eps, lower, upper, certified_error, bound_k; k_min per "
        "(layout, density, seed) = the smallest width_multiplier with upper <= eps")

ROWS = [
    Row("bracket", "every ticket's bracket is consistent: attack lower <= certified upper <= composition bound",
        f"all tickets (slack {SLACK:g})", decide_bracket, lambda rng: _brackets(rng), lambda rng: _brackets(rng, True),
        "a certificate that some attack beats (an unsound upper bound)", source=f"{CSV} ({COLS})"),
    Row("eps-at-bound", "at the bound's width (required_width, default C, per layout; quick: p >= 0.1) every ticket "
        "is a certified eps-ticket (upper <= eps = 0.01)", "upper <= eps for all", decide_at_bound,
        lambda rng: pd.DataFrame(dict(upper=[0.004, 0.006], eps=0.01, width_multiplier=[100, 200], bound_k=100)),
        lambda rng: pd.DataFrame(dict(upper=[0.004, 0.02], eps=0.01, width_multiplier=[100, 200], bound_k=100)),
        "one ticket at the bound's width certified above eps", source=f"{CSV} ({COLS})"),
    Row("fixed-layout-path-factor", "our fixed 2L layout: k_min grows like the factor of a two-edge path, "
        f"{PATH.name} (a property of our construction, not the paper's claim); nearest rival: {PATH_34.name}",
        SLOPE_RULE, _scaling(PATH, PATH_34),
        lambda rng: _law(lambda p: 3 * path_factor(p), rng), lambda rng: _law(lambda p: 40 * er_factor(p) if p < 1
                                                                         else 40, rng),
        "k_min ~ 1/log(1/(1-p)) (one ER factor per layer)", rival=PATH_34.name, source=f"{CSV}, layout fixed ({COLS})"),
    Row("fixed-layout-layer-factor", f"the paper's per-layer factor on our fixed 2L layout: k_min ~ {RHO.name}, "
        f"p < 1 (violated = our layout pays the factor twice; see the adaptive layout); nearest rival: {PATH.name}",
        SLOPE_RULE, _scaling(RHO, PATH, below_one=True),
        lambda rng: _law(lambda p: 40 * er_factor(p) if p < 1 else 40, rng),
        lambda rng: _law(lambda p: 3 * path_factor(p), rng), "k_min ~ 1/log(1/(1-p^2/2)) (both edges of a path)",
        rival=PATH.name, source=f"{CSV}, layout fixed ({COLS})"),
    Row("adaptive-layout-one-factor", "adaptive 2L layout (a unit serves one of its surviving inputs; greedy ties, AD-1): k_min grows "
        f"like one ER factor with its sign on the units that reach an input, {HALF.name} (the order of the 3-layer "
        f"lower bound); nearest rival: {HALF_15.name}; {REGIME}", SLOPE_RULE, _scaling(HALF, HALF_15),
        lambda rng: _law(lambda p: 10 * half_factor(p), rng, FULL_PS), lambda rng: _law(lambda p: 3 * path_factor(p),
                                                                                        rng, FULL_PS),
        "k_min ~ 1/log(1/(1-p^2/2)) (both edges of a path, as in the fixed layout)", rival=HALF_15.name,
        source=f"{CSV}, layout greedy ({COLS})"),
    Row("fixed-over-adaptive", f"k_fixed / k_adaptive (seed-paired) follows the derived ratio {RATIO.name}; nearest "
        f"rival: {RATIO_HALF.name}", SLOPE_RULE.replace("log k_min", "log(k_fixed / k_adaptive)"),
        _scaling(RATIO, RATIO_HALF, what="k_fixed / k_adaptive", y="ratio"),
        _ratio(lambda p: 3 * path_factor(p), lambda p: 10 * half_factor(p)),
        _ratio(lambda p: 3 * path_factor(p), lambda p: 3 * path_factor(p)), "both layouts need the same width",
        rival=RATIO_HALF.name, source=f"{CSV}, both layouts, seed-paired ({COLS})"),
    Row("activation-at-bound", "targets with Tanh, Sigmoid or LeakyReLU(0.1) in place of ReLU (10-20-20-1, the "
        "activations of Burkholz 2022's class): at the bound's width (adaptive with greedy ties and its AD-1 width, p in {1, 0.5}) every 2L ticket is a "
        "certified eps-ticket (upper <= eps = 0.01, lower <= upper)", "upper <= eps for all", decide_activations,
        lambda rng: pd.DataFrame(dict(activation=["tanh", "sigmoid"], seed=0, lower=[1e-3, 1e-3], upper=[4e-3, 5e-3],
                                      eps=0.01)),
        lambda rng: pd.DataFrame(dict(activation=["tanh", "sigmoid"], seed=0, lower=[1e-3, 1e-3], upper=[4e-3, 0.02],
                                      eps=0.01)),
        "one ticket certified above eps", source=f"{ACT_CSV} (columns activation, density, seed, eps, lower, upper)"),
    Row("l1-at-bound", "L+1 tickets (one block layer, then copy layers; Burkholz 2022) of the 10-20-20-1 targets "
        "at the bound's width, p in {1, 0.5} (p = 0.2 takes minutes per ticket), fewest subsets under the budget "
        "rescaled by the copy layers' realised gains (LB-1): certified eps-tickets at eps = 0.01 by the "
        "differential certificate, with lower <= upper (full run only)", "upper <= eps and lower <= upper for all",
        decide_l1,
        lambda rng: pd.DataFrame(dict(density=[1.0, 0.5], seed=0, lower=[1e-5, 2e-5], upper=[3e-3, 4e-3],
                                      interval=[0.04, 0.05], eps=0.01)),
        lambda rng: pd.DataFrame(dict(density=[1.0, 0.5], seed=0, lower=[1e-5, 2e-5], upper=[3e-3, 0.04],
                                      interval=[0.04, 0.05], eps=0.01)),
        "one L+1 ticket certified above eps", source=f"{L1_CSV} (columns density, seed, eps, lower, upper, interval)"),
    Row("exact-inside-bracket", "on a suite of small 2L tickets (3-4-1, 4-6-2, 2-3-3-1; p in {1, 0.5, 0.2}; fixed "
        "and adaptive with greedy ties; widths 4, 8 and the bound's) the exact sup error (MILP, proven optimal) lies inside every "
        "bracket [attack lower, certified upper]", "every ticket (lower <= the MILP's bound; the MILP's optimum <= upper up to its 1e-6 solver margin)",
        decide_exact_inside,
        lambda rng: pd.DataFrame(dict(lower=[0.1, 0.2], exact=[0.1, 0.21], exact_bound=[0.1, 0.21],
                                      upper=[0.3, 0.4], optimal=True, seed=0)),
        lambda rng: pd.DataFrame(dict(lower=[0.1, 0.2], exact=[0.1, 0.21], exact_bound=[0.1, 0.21],
                                      upper=[0.3, 0.2], optimal=True, seed=0)),
        "an upper bound below the exact sup (an unsound certificate)",
        source=f"{EXACT_CSV} (columns lower, exact, exact_bound, optimal, upper)"),
    Row("certificate-tightness", f"the certified upper bound of Ticket.sup_error (the smaller of the interval and "
        f"the differential certificate, input splitting up to {SPLIT_BOXES} boxes) is within {TIGHT:g}x of the exact sup "
        f"error at the median and {TIGHT_MAX:g}x at the max over the small-ticket suite (issue 24's goal)",
        f"median upper / exact <= {TIGHT:g} and max <= {TIGHT_MAX:g}", decide_tight,
        lambda rng: pd.DataFrame(dict(exact=[0.1, 0.2, 0.3], upper=[0.12, 0.25, 0.33], composition=0.5, seed=0)),
        lambda rng: pd.DataFrame(dict(exact=[0.1, 0.2, 0.3], upper=[0.3, 0.6, 0.9], composition=1.0, seed=0)),
        "a certificate 3x above the exact sup", source=f"{EXACT_CSV} (columns exact, upper, composition)"),
    Row("wide-one-factor", f"adaptive 2L layout (greedy ties) on a 200-20-1 target: k_min grows like one ER factor, {HALF_W.name}; "
        f"nearest rival: {HALF_W_15.name}; {REGIME_WIDE} (full run only)", SLOPE_RULE, _scaling(HALF_W, HALF_W_15),
        lambda rng: _law(lambda p: 10 * half_factor_wide(p), rng, WIDE_PS),
        lambda rng: _law(lambda p: 3 * path_factor(p), rng, WIDE_PS), "k_min ~ 1/log(1/(1-p^2/2)) (both edges)",
        rival=HALF_W_15.name, source=f"{WIDE_CSV} ({COLS})"),
    Row("wide-paper-factor", f"the paper's per-layer factor on the adaptive layout of a 200-20-1 target: k_min ~ "
        f"{RHO.name}; nearest rival: {RHO_15.name}; {REGIME_WIDE} (full run only)", SLOPE_RULE, _scaling(RHO, RHO_15),
        lambda rng: _law(lambda p: 20 * er_factor(p), rng, WIDE_PS),
        lambda rng: _law(lambda p: 3 * path_factor(p), rng, WIDE_PS), "k_min ~ 1/log(1/(1-p^2/2))",
        rival=RHO_15.name, source=f"{WIDE_CSV} ({COLS})"),
    *_l1_rows("small"), *_l1_rows("wide"),
]


def tables(out_dir: Path) -> dict:
    """Every row's table, read from the CSVs in ``out_dir`` (docs/verdicts.md)."""
    wide = read_csv(out_dir / CSV, ["layout", "density", "width_multiplier", "seed", "eps", "lower", "upper",
                                    "certified_error", "bound_k", "kept_params", "target_params", "source_params"])
    if wide["eps"].nunique() != 1:
        raise ValueError(f"{CSV} mixes eps values {sorted(wide['eps'].unique())}; k_min needs one")
    eps = float(wide["eps"].iloc[0])
    kmin = pd.concat([kmin_table(g, eps).assign(layout=lay) for lay, g in wide.groupby("layout")], ignore_index=True)
    kf, ka = kmin[kmin.layout == "fixed"].copy(), kmin[kmin.layout == GREEDY].copy()
    kf.attrs["grid"], ka.attrs["grid"] = grid_of(wide, "fixed"), grid_of(wide, GREEDY)
    ratio = ratio_table(kmin)
    out = {"bracket": wide, "eps-at-bound": wide, "fixed-layout-path-factor": kf, "fixed-layout-layer-factor": kf,
           "adaptive-layout-one-factor": ka, "fixed-over-adaptive": ratio}
    if (Path(out_dir) / EXACT_CSV).exists():
        ex = read_csv(Path(out_dir) / EXACT_CSV, ["lower", "exact", "exact_bound", "optimal", "upper", "composition",
                                                  "seed"])
        out["exact-inside-bracket"] = out["certificate-tightness"] = ex
    if (Path(out_dir) / ACT_CSV).exists():
        out["activation-at-bound"] = read_csv(Path(out_dir) / ACT_CSV, ["activation", "density", "seed", "eps",
                                                                        "lower", "upper"])
    if (Path(out_dir) / L1_CSV).exists():  # written by the full run only
        out["l1-at-bound"] = read_csv(Path(out_dir) / L1_CSV, ["density", "seed", "eps", "lower", "upper", "interval"])
    if (Path(out_dir) / L1W_CSV).exists():  # written by the full run only
        km = l1_kmin(read_csv(Path(out_dir) / L1W_CSV, ["n_in", "density", "width_multiplier", "seed", "eps",
                                                         "upper"]))
        for regime, tag in (("small", "l1"), ("wide", "l1-wide")):
            if regime in km:
                out[f"{tag}-one-factor"] = km[regime]
                if regime == "wide":
                    out[f"{tag}-paper-factor"] = km[regime]
    if (Path(out_dir) / WIDE_CSV).exists():  # written by the full run only
        w = read_csv(Path(out_dir) / WIDE_CSV, ["density", "width_multiplier", "seed", "eps", "upper"])
        kw = kmin_table(w, float(w["eps"].iloc[0]))
        kw.attrs["grid"] = grid_of(w)
        out["wide-one-factor"] = out["wide-paper-factor"] = kw
    return out


def judge(out_dir: Path) -> list:
    """Every row (and finding) of this check from the CSVs in ``out_dir``; computes nothing."""
    t = tables(out_dir)
    rows = [row.judge(t[row.id]) for row in ROWS if row.id in t]
    rows.append(paper_factor_finding("adaptive-layout-paper-factor", t["adaptive-layout-one-factor"], HALF,
                                     "the adaptive 2L layout (greedy ties) of the 10-20-20-1 targets", REGIME))
    if "l1-one-factor" in t:
        rows.append(paper_factor_finding("l1-paper-factor", t["l1-one-factor"], L1_HALF["small"],
                                         f"L+1 tickets of {'-'.join(map(str, L1_TARGETS['small']))} targets",
                                         L1_REGIME["small"]))
    lenet = Path(out_dir) / "ticket_lenet.csv"
    if not lenet.exists():  # written by the full run only
        return rows
    lv = read_csv(lenet, ["metric", "value"]).set_index("metric")["value"]
    return rows + [
        finding("lenet-mnist5k", "LeNet-300-100 trained on mnist5k, its 2L ticket (fixed layout) at p = 0.5 (k = 160): "
                "sup error bracket over [0,1]^784 and test accuracies", f"bracket [{lv['lower_01']:.3g}, "
                f"{lv['upper_01']:.3g}] (random max {lv['random_max_01']:.3g}); accuracy target "
                f"{lv['target_test_accuracy']:.4f}, ticket {lv['ticket_test_accuracy']:.4f}; "
                f"{lv['kept_params'] / lv['target_params']:.1f}x target params, {lv['t_total_s']:.0f} s",
                "not an eps-ticket unless upper <= eps", seeds="0"),
    ]


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list:
    store = default_store()
    fixed, adaptive = sweep_name("tickets", quick), sweep_name("tickets-adaptive", quick)
    run_named([fixed, adaptive], store=store)
    if not quick:  # the LeNet-300-100 ticket (a finding) and the 200-input target only in the full run (cost)
        run_sweep(sweep_from_spec(BUILTIN_SWEEPS["ticket-lenet-check"]), store=store, executor="serial")
        run_sweep(sweep_from_spec(BUILTIN_SWEEPS["tickets-wide"]), store=store, executor="local", workers=2)
        w = load_sweep("tickets-wide", store).pivot_table(index=["density", "width_multiplier", "seed", "eps"],
                                                           columns="metric", values="value").reset_index()
        w.assign(layout=GREEDY).to_csv(out_dir / WIDE_CSV, index=False)
        render("ticket_wide", out_dir / WIDE_CSV)
        run_named(list(L1_SWEEPS), store=store)
        l1_width_table(store).to_csv(out_dir / L1W_CSV, index=False)
        render("ticket_l1_width", out_dir / L1W_CSV)
    df = pd.concat([load_sweep(fixed, store), load_sweep(adaptive, store)], ignore_index=True)
    legacy = TicketConfig.legacy["assignment"]  # records stored before the field existed
    df["layout"] = df["assignment"].fillna(legacy) if "assignment" in df else legacy
    # eps comes from each stored config (TicketConfig.eps), never re-typed here
    wide = df.pivot_table(index=["layout", "density", "width_multiplier", "seed", "eps"], columns="metric",
                          values="value").reset_index()
    if wide["eps"].nunique() != 1:
        raise ValueError(f"the ticket sweeps mix eps values {sorted(wide['eps'].unique())}; k_min needs one")
    wide["bound_k"] = [bound_k(p, e, layout=lay) for lay, p, e in zip(wide["layout"], wide["density"], wide["eps"])]
    wide.to_csv(out_dir / "ticket_error_width.csv", index=False)
    render("ticket_error_width", out_dir / "ticket_error_width.csv")

    eps = float(wide["eps"].iloc[0])
    kmin = pd.concat([kmin_table(g, eps).assign(layout=lay) for lay, g in wide.groupby("layout")], ignore_index=True)
    kmin = kmin[kmin["censored"] != "above"]
    kf = kmin[kmin.layout == "fixed"]
    kf.to_csv(out_dir / "ticket_width_scaling.csv", index=False)
    render("ticket_width_scaling", out_dir / "ticket_width_scaling.csv")
    kmin.to_csv(out_dir / "ticket_sparsity.csv", index=False)
    render("ticket_sparsity", out_dir / "ticket_sparsity.csv")
    lb = pd.DataFrame([dict(density=p, lower_bound_per_input=lower_bound_width(WIDTHS[0], 0.01, p) / WIDTHS[0])
                       for p in sorted(kmin["density"].unique()) if p < 1])
    pd.concat([kmin.assign(n0=WIDTHS[0]), lb], ignore_index=True).to_csv(out_dir / "construction_scaling.csv",
                                                                          index=False)
    render("construction_scaling", out_dir / "construction_scaling.csv")
    activation_tickets(quick).to_csv(out_dir / ACT_CSV, index=False)
    exact_suite([0] if quick else [0, 1]).to_csv(out_dir / EXACT_CSV, index=False)
    if not quick:
        load_sweep("ticket-lenet-check", store)[["metric", "value"]].to_csv(out_dir / "ticket_lenet.csv", index=False)
        l1_tickets().to_csv(out_dir / L1_CSV, index=False)
    return judge(out_dir)


if __name__ == "__main__":
    script_main(globals())
