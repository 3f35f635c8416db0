"""Figures of the constructive tickets (proofs_checks/tickets_er.py)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..bounds import er_factor, path_factor, reach_factor
from .core import panels, register_figure, styles


@register_figure("ticket_error_width")
def _ticket_error_width(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Sup-error bracket of the rebuilt tickets vs width multiplier, one panel per layout: certified upper
    (solid) and attack lower (dotted, open markers), median over seeds, one grey/marker per density; the
    bound's k marked."""
    if "layout" not in df:
        df = df.assign(layout="fixed")
    n_seeds = df["seed"].nunique()
    pairs = panels(df, fig, "layout", lambda lay: f"{lay} layout", reverse=True)
    for ax, sub in pairs:
        for (p, g), (mk, ls, c) in zip(sub.groupby("density", sort=True), styles()):
            agg = g.groupby("width_multiplier")[["upper", "lower"]].median()
            ax.plot(agg.index, agg["upper"], marker=mk, ls="-", color=c, ms=4, label=f"p={p:g}")
            ax.plot(agg.index, agg["lower"], marker=mk, ls=":", color=c, ms=4, mfc="none")
            ax.fill_between(agg.index, agg["lower"], agg["upper"], color=c, alpha=0.10)
            ax.axvline(g["bound_k"].iloc[0], ls=ls, color=c, lw=0.8)
        ax.axhline(0.01, color="0.5", lw=0.8, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width multiplier k (units per input, log2)")
    pairs[0][0].set_ylabel("sup over [-1,1]^10 of |ticket(x) - target(x)|")
    pairs[0][0].annotate("eps = 0.01", (0.02, 0.012), xycoords=("axes fraction", "data"), fontsize=7, color="0.3")
    last = pairs[-1][0]
    last.plot([], [], ls="-", color="0.0", label="certified upper (solid)")
    last.plot([], [], ls=":", color="0.0", marker="o", mfc="none", label="attack lower (dotted, open)")
    fig.set_layout_engine("constrained")  # the legend below both panels (inside either one it covered curves)
    fig.legend(*last.get_legend_handles_labels(), fontsize=6, ncol=7, loc="outside lower center")
    fig.suptitle(f"2L tickets for 10-20-20-1 targets: bracket [attack, certificate] (shaded), median of {n_seeds} "
                 "seeds; vertical lines: the bound's k for eps = 0.01 (same line style as the density)", fontsize=8)


@register_figure("ticket_width_scaling")
def _ticket_width_scaling(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Smallest certified width k_min vs density, with reference slopes 1/log(1/(1-p)) and 1/log(1/(1-p^2/2))."""
    ax = fig.subplots()
    gm = df.groupby("density")["k_min"].apply(lambda v: float(np.exp(np.log(v).mean())))
    for _, r in df.iterrows():
        ax.plot(r["density"], r["k_min"], "x", color="0.6", ms=4)
    ax.plot(gm.index, gm.values, "o-", color="0.0", label=f"k_min (geometric mean of {df['seed'].nunique()} seeds; "
            "x = each seed)")
    below = [q for q in gm.index if q < 1]
    p_ref = max(below) if below else gm.index.max()  # the per-layer factor vanishes at p = 1
    for f, ls, lab, top in ((path_factor, "--", "~ 1/log(1/(1-p^2/2)) (2-edge path, ~2/p^2)",
                             gm.index.max()),
                            (er_factor, ":", "~ 1/log(1/(1-p)) (per-layer, ~1/p)", p_ref)):
        p = np.geomspace(gm.index.min(), top, 50)
        ax.plot(p, gm[p_ref] * f(p) / f(p_ref), ls=ls, color="0.3", label=lab)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("density p of the ER source (fraction kept; sparsity = 1 - p)")
    ax.set_ylabel("k_min: smallest k with certified upper <= eps = 0.01")
    ax.set_title(f"fixed 2L layout, 10-20-20-1; references through k_min at p = {p_ref:g}", fontsize=8)
    ax.legend(fontsize=7)


@register_figure("ticket_sparsity")
def _ticket_sparsity(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Kept and source parameters of the smallest certified eps-ticket, relative to the target, vs density,
    per layout (median over seeds)."""
    ax = fig.subplots()
    if "layout" not in df:
        df = df.assign(layout="fixed")
    for (lay, g), mk, kls in zip(df.groupby("layout", sort=False), ["o", "s"], ["-", "-."]):
        m = g.groupby("density")[["kept_ratio", "source_ratio"]].median()
        # the two layouts keep nearly the same number of weights: line style and marker size keep both visible
        ax.plot(m.index, m["kept_ratio"], marker=mk, ls=kls, color="0.0", ms=7 if mk == "s" else 5,
                mfc="none" if mk == "s" else "0.0", label=f"{lay}: kept ticket / target")
        ax.plot(m.index, m["source_ratio"], marker=mk, ls="--", color="0.5", mfc="none",
                label=f"{lay}: ER source / target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("density p of the ER source (fraction kept)")
    ax.set_ylabel("parameters relative to the target")
    ax.set_title(f"smallest certified eps-ticket (upper <= {df['eps'].min():g}), 2L, target 10-20-20-1; median of "
                 f"{df['seed'].nunique()} seeds", fontsize=8)
    ax.legend(fontsize=7)


@register_figure("construction_scaling")
def _construction_scaling(df: pd.DataFrame, fig: plt.Figure) -> None:
    """k_min (smallest certified eps-ticket) vs p for the fixed and adaptive 2L layouts, each seed (x) and the
    geometric mean, with reference slopes and the 3-layer lower bound's critical width per input."""
    ax = fig.subplots()
    km = df.dropna(subset=["k_min"])
    for (lay, g), (mk, ls) in zip(km.groupby("layout", sort=False), [("o", "-"), ("s", "-")]):
        gm = g.groupby("density")["k_min"].apply(lambda v: float(np.exp(np.log(v).mean())))
        ax.plot(g["density"], g["k_min"], "x", color="0.6", ms=4)
        ax.plot(gm.index, gm.values, marker=mk, ls=ls, color="0.0" if lay == "fixed" else "0.35",
                label=f"{lay} layout: k_min (geometric mean of {g['seed'].nunique()} seeds)")
        ps = np.geomspace(gm.index.min(), gm.index.max(), 50)
        n0 = int(df["n0"].dropna().iloc[0]) if "n0" in df and df["n0"].notna().any() else 10
        f = path_factor if lay == "fixed" else (lambda q, n0=n0: reach_factor(q, n0))
        ref = 0.5 if 0.5 in gm.index else gm.index.max()
        ax.plot(ps, gm[ref] * f(ps) / f(ref), ls="--" if lay == "fixed" else ":", color="0.5",
                label="~ 1/log(1/(1-p^2/2)) (two edges)" if lay == "fixed" else
                "~ 1/((1-(1-p)^n0) log(1/(1-p/2))) (one edge, n0 = 10 inputs)")
    if "lower_bound_per_input" in df:
        lb = df.dropna(subset=["lower_bound_per_input"]).sort_values("density")
        ax.plot(lb["density"], lb["lower_bound_per_input"], "-.", color="0.2", marker="v", ms=4,
                label="3-layer lower bound: critical width n*/d (connectivity only; d = 10, delta = 0.01)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("density p of the ER source (fraction kept; sparsity = 1 - p)")
    ax.set_ylabel("units per target input (block layer width / (n_in + 1))")
    ax.set_title("2L tickets for 10-20-20-1 targets, eps = 0.01 certified; reference lines anchored at p = 0.5",
                 fontsize=8)
    ax.legend(fontsize=6)


def _draw_kmin(ax: plt.Axes, df: pd.DataFrame, eps: float, ceiling_label: str, mean_label: str):
    """k_min per (density, seed) of a ticket table (smallest width with upper <= eps; NaN when none of the grid
    certified), drawn as x per seed, a triangle at the grid's ceiling for censored seeds, and the geometric mean
    over the uncensored ones (``mean_label`` with ``{n}`` = seeds). Returns (k_min table, geometric means)."""
    rows = []
    for (p, s), g in df.groupby(["density", "seed"]):
        ok = g[g["upper"] <= eps]["width_multiplier"]
        rows.append((p, s, float(ok.min()) if len(ok) else np.nan, float(g["width_multiplier"].max())))
    km = pd.DataFrame(rows, columns=["density", "seed", "k_min", "ceiling"])
    found, cens = km.dropna(subset=["k_min"]), km[km["k_min"].isna()]
    ax.plot(found["density"], found["k_min"], "x", color="0.55", ms=5, label="k_min of one seed")
    if len(cens):
        ax.plot(cens["density"], cens["ceiling"], "^", color="0.55", mfc="none", ms=6, label=ceiling_label)
    gm = found.groupby("density")["k_min"].apply(lambda v: float(np.exp(np.log(v).mean())))
    ax.plot(gm.index, gm.values, "o-", color="0.0", label=mean_label.format(n=km["seed"].nunique()))
    return km, gm


@register_figure("ticket_wide")
def _ticket_wide(df: pd.DataFrame, fig: plt.Figure) -> None:
    """k_min (smallest width whose certified upper bound is <= eps) vs p for the 200-input target, adaptive layout:
    each seed (x; a triangle at the grid's ceiling when no width of the grid certified), the geometric mean over
    the uncensored seeds, and the laws rho(p), rho(p)^1.5 and the two-edge path factor anchored at p = 0.5."""
    ax = fig.subplots()
    eps = float(df["eps"].iloc[0])
    km, gm = _draw_kmin(ax, df, eps, "no width of the grid certified (k_min above this ceiling)",
                        "geometric mean of {n} seeds (uncensored)")
    ps = np.geomspace(km["density"].min(), km["density"].max(), 60)
    ref = 0.5 if 0.5 in gm.index else gm.index.max()
    rho = er_factor
    for f, ls, lab in [(rho, "--", "~ rho(p) = 1/log(1/(1-p)) (the paper's factor)"),
                       (lambda q: rho(q) ** 1.5, ":", "~ rho(p)^1.5 (nearest rival)"),
                       (path_factor, "-.", "~ 1/log(1/(1-p^2/2)) (two edges)")]:
        ax.plot(ps, gm[ref] * f(ps) / f(ref), ls=ls, color="0.45", label=lab)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("density p of the ER source (fraction kept; sparsity = 1 - p)")
    ax.set_ylabel("k_min: units per target input, certified eps-ticket")
    ax.set_title(f"adaptive 2L tickets (greedy ties) for 200-20-1 targets (n_in p >= 4 at every p), eps = {eps:g}; reference "
                 "lines anchored at p = 0.5", fontsize=8)
    ax.legend(fontsize=6)




@register_figure("ticket_l1_width")
def _ticket_l1_width(df: pd.DataFrame, fig: plt.Figure) -> None:
    """L+1 tickets: k_min (smallest width whose certified upper bound is <= eps) vs p, one panel per target
    (4 and 16 inputs): each seed (x; a triangle at the ceiling when none certified), the geometric mean, the
    first block's law 1/((1-(1-p)^n) log(1/(1-p/2))) and its rival (power 1.5) anchored at p = 1, and the paper's
    rho(p) anchored at p = 0.5."""
    eps = float(df["eps"].iloc[0])
    pairs = panels(df, fig, "n_in", lambda n: f"{int(n)} inputs ({int(n)}-8-1 target)")
    rho = er_factor
    for ax, sub in pairs:
        n = int(sub["n_in"].iloc[0])
        half = lambda q, n=n: reach_factor(q, n)  # noqa: E731
        km, gm = _draw_kmin(ax, sub, eps, "none of the grid certified (k_min above)", "geometric mean, {n} seeds")
        ps = np.geomspace(km["density"].min(), km["density"].max(), 60)
        top, below_one = gm.index.max(), [q for q in gm.index if q < 1]
        mid = 0.5 if 0.5 in gm.index else max(below_one, default=None)  # rho(1) is infinite: anchor below 1
        ax.plot(ps, gm[top] * half(ps) / half(top), "--", color="0.3", label="~ 1/((1-(1-p)^n) log(1/(1-p/2))) "
                "(first block, claim)")
        ax.plot(ps, gm[top] * half(ps) ** 1.5 / half(top) ** 1.5, ":", color="0.3", label="~ (same)^1.5 "
                "(nearest rival)")
        if mid is not None:
            below = ps[ps <= 0.8]  # rho(p) -> 0 as p -> 1
            ax.plot(below, gm[mid] * rho(below) / rho(mid), "-.", color="0.6", label="~ rho(p) = 1/log(1/(1-p)) "
                    "(the paper's factor)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted(km["density"].unique())
        ax.set_xticks(ticks, [f"{q:g}" for q in ticks])
        ax.minorticks_off()
    pairs[0][0].set_ylabel("k_min: units per input = copies per neuron")
    fig.supxlabel("density p of the ER source (fraction kept; sparsity = 1 - p)", fontsize=9)
    pairs[0][0].legend(fontsize=6, loc="lower left")
    fig.suptitle(f"L+1 tickets (adaptive first block, greedy ties; fewest subsets under the gain-rescaled budget), eps = {eps:g}; "
                 "the block law and its rival anchored at p = 1, rho(p) at p = 0.5 (or the largest p < 1)", fontsize=8)
