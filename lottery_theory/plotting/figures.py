"""Figure registry. Every figure: labelled axes with units, density/sparsity said explicitly,
a legend, and markers + line styles so it reads in grayscale."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .._validation import Registry  # noqa: E402

FigureFn = Callable[[pd.DataFrame, plt.Figure], None]
_FIGURES = Registry("figure", "name")
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", ":", "-."]


def register_figure(name: str) -> Callable[[FigureFn], FigureFn]:
    return _FIGURES.register(name)


def available_figures() -> list[str]:
    return _FIGURES.names()


def styles():
    """Cycle of (marker, linestyle, grey level) triples for grayscale-readable curves."""
    greys = ["0.0", "0.35", "0.6", "0.2", "0.5"]
    return itertools.cycle(zip(itertools.cycle(MARKERS), itertools.cycle(LINESTYLES), itertools.cycle(greys)))


def render(name: str, data_path: str | Path, out_png: str | Path | None = None) -> Path:
    """Draw figure ``name`` from the CSV at ``data_path``; write ``out_png`` (default: same stem, .png)."""
    fn = _FIGURES.get_checked(name)
    data_path = Path(data_path)
    if not data_path.exists():
        raise FileNotFoundError(f"figure {name!r} needs its data file {data_path}; run the check or sweep that writes it")
    df = pd.read_csv(data_path)
    fig = plt.figure(figsize=(7.5, 4.8))
    fn(df, fig)
    import textwrap

    if fig._suptitle is not None:  # long captions wrap instead of running off the page
        fig._suptitle.set_text(textwrap.fill(fig._suptitle.get_text(), 120))
    for ax in fig.axes:
        if len(ax.get_title()) > 70:
            ax.set_title(textwrap.fill(ax.get_title(), 70), fontsize=ax.title.get_fontsize())
    out = Path(out_png) if out_png else data_path.with_suffix(".png")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def t_interval(v) -> tuple[float, float]:
    """Mean and half-width of the 95% Student-t interval over seeds (half-width 0 for one seed)."""
    from scipy import stats

    v = np.asarray(v, float)
    if v.size < 2:
        return float(v.mean()), 0.0
    return float(v.mean()), float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))


def seed_agg(g: pd.DataFrame, by: str, value: str = "value") -> pd.DataFrame:
    """Per value of ``by``: mean and 95% t half-width over seeds."""
    rows = {k: t_interval(x[value]) for k, x in g.groupby(by)}
    return pd.DataFrame(rows, index=["mean", "half"]).T.sort_index()


def panels(df: pd.DataFrame, fig: plt.Figure, by: str, title: Callable[[Any], str], *, reverse: bool = False
           ) -> list[tuple[plt.Axes, pd.DataFrame]]:
    """One panel per value of column ``by`` (sorted, shared y axis), titled ``title(value)``;
    returns (axis, rows of that value) pairs, the first axis being the one that carries the y label."""
    values = sorted(df[by].unique(), reverse=reverse)
    axes = fig.subplots(1, len(values), sharey=True, squeeze=False)[0]
    out = []
    for ax, v in zip(axes, values):
        ax.set_title(title(v), fontsize=9)
        out.append((ax, df[df[by] == v]))
    return out


@register_figure("layer_ratios")
def _layer_ratios(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Per-layer densities of each ratio method at one global density; the reference code's clipped ERK and
    balanced (no redistribution) in grey. er and erk coincide on MLPs (no kernel dimensions), so erk is offset."""
    archs = list(dict.fromkeys(df["arch"]))
    axes = fig.subplots(1, len(archs), squeeze=False)[0]
    for ax, arch in zip(axes, archs):
        sub = df[df["arch"] == arch]
        methods = list(dict.fromkeys(sub["method"]))
        ours = [m for m in methods if "reference" not in m]
        for j, (method, (mk, ls, c)) in enumerate(zip(ours, styles())):
            g = sub[sub["method"] == method]
            off = (j - (len(ours) - 1) / 2) * 0.06
            ax.plot(g["layer"] + 1 + off, g["density"], marker=mk, ls=ls, color=c, label=method, mfc="none" if
                    method == "erk" else c)
        for method, mk in zip([m for m in methods if "reference" in m], ["x", "+"]):
            g = sub[sub["method"] == method]
            ax.plot(g["layer"] + 1, g["density"], marker=mk, ls="none", color="0.45", ms=9, label=method)
        ax.axhline(sub["global_density"].iloc[0], color="0.6", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xlabel("layer (1 = input side)")
        ax.set_title(f"{arch}, global density {sub['global_density'].iloc[0]:g} (dashed)", fontsize=9)
        ax.set_xticks(sorted(sub["layer"].unique() + 1))
    axes[0].set_ylabel("layer density (fraction kept, log scale)")
    axes[-1].legend(fontsize=7)
    fig.suptitle("ours hit the global density exactly; the reference clipping (x, +) keeps 0.0969 (ERK) and "
                 "0.0704 (balanced) of LeNet at 0.1", fontsize=8)


@register_figure("lueker")
def _lueker(df: pd.DataFrame, fig: plt.Figure) -> None:
    """P(present values eps-cover [-1,1]) vs n, one panel per eps, one curve per density; the bound's n per
    density marked with a labelled tick on the 90% line."""
    pairs = panels(df, fig, "eps", lambda eps: f"eps = {eps:g}", reverse=True)
    for ax, sub in pairs:
        for (p, g), (mk, ls, c) in zip(sub.groupby("p", sort=False), styles()):
            ax.plot(g["n"], g["success"], ls=ls, color=c, label=f"p={p:g}", marker=mk, markevery=max(1, len(g) // 6),
                    ms=4, lw=1.6 if p == 0.2 else 1.0)
            b = g["bound_n"].iloc[0]
            ax.plot([b, b], [0.85, 0.95], color=c, lw=1.5)
            ax.annotate(f"{p:g}", (b, 0.95), fontsize=6, ha="center", va="bottom", color=c)
        ax.axhline(0.9, color="0.6", lw=0.7, ls="--")
        ax.set_xscale("log")
    fig.supxlabel("n = number of U[-1,1] items, each present with probability p (log scale)", fontsize=9)
    ax0 = pairs[0][0]
    ax0.set_ylabel("P(every z in [-1,1] within eps)")
    ax0.legend(fontsize=7, title="density p", title_fontsize=7)
    fig.suptitle("ER random subset sum: coverage vs n. Ticks at 0.9 (labelled by p): the bound's n with C = 8, "
                 "fitted on held-out seeds (smallest covering C there 7.23)", fontsize=8)


@register_figure("lueker_scaling")
def _lueker_scaling(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Left: n (90% coverage) vs p per eps, with the two laws anchored at n(1) = the measured n at p = 1 for
    the same eps. Right: the normalised products the verdict rows check, n p and n log(1/(1-p))."""
    ax, ax2 = fig.subplots(1, 2)
    for (eps, g), (mk, ls, c) in zip(df.groupby("eps"), styles()):
        g = g.sort_values("p")
        ax.plot(g["p"], g["n_emp"], marker=mk, ls="none", color=c, label=f"measured, eps={eps:g}")
        n1 = float(g[g["p"] == 1.0]["n_emp"].iloc[0])
        ps = np.linspace(g["p"].min(), 1, 100)
        rho = np.where(ps < 1, -1 / np.log1p(-np.minimum(ps, 1 - 1e-12)), 0)
        ax.plot(ps, n1 * np.maximum(1, rho), ls="-", color=c, lw=1)
        ax.plot(ps, n1 / ps, ls=":", color=c, lw=1)
        sp = g[g["p"] < 1]
        ax2.plot(sp["p"], sp["n_emp"] * sp["p"] / n1, marker=mk, ls="-", color=c, label=f"n p / n(1), eps={eps:g}")
        ax2.plot(sp["p"], sp["n_emp"] * -np.log1p(-sp["p"]) / n1, marker=mk, ls=":", color=c, mfc="none")
    ax.plot([], [], "k-", label="n(1) max(1, 1/log(1/(1-p)))")
    ax.plot([], [], "k:", label="n(1) / p")
    for a in (ax, ax2):
        a.set_xscale("log")
        a.set_xlabel("density p (fraction present; sparsity = 1 - p)")
    ax.set_yscale("log")
    ax.set_ylabel("n needed for 90% coverage")
    ax.legend(fontsize=6)
    ax2.plot([], [], "k:", marker="o", mfc="none", label="n log(1/(1-p)) / n(1)")
    ax2.set_ylabel("normalised product (flat = law fits)")
    ax2.legend(fontsize=6)
    fig.suptitle("n(1) = measured n at p = 1 for the same eps; lines of one grey belong to one eps", fontsize=8)


@register_figure("representation")
def _representation(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Failure probability of the L+1 representation of a 3-4-2 target: exact, union bound and simulation,
    per density; K = copies of each input in source layer 1, k1 = copies of each hidden target neuron. Points
    with exact failure > 0.5 (where the union bound is vacuous) are left out."""
    df = df[df["exact_failure"] <= 0.5]
    pairs = panels(df, fig, "p", lambda p: f"density p = {p:g} (every layer)", reverse=True)
    for ax, sub in pairs:
        for (k1, g), (mk, ls, c) in zip(sub.groupby("k1"), styles()):
            ax.plot(g["K"], g["exact_failure"], ls=ls, color=c, label=f"exact, k1={k1}")
            ax.plot(g["K"], g["union_bound"], ls=ls, color=c, lw=0.6, marker="_", ms=8, label=f"union bound, k1={k1}")
            ax.errorbar(g["K"], g["sim_failure"].clip(lower=1e-4), fmt=mk, color=c, ms=4, capsize=2, mfc="none",
                        yerr=[(g["sim_failure"] - g["ci_lo"]).clip(lower=0), g["ci_hi"] - g["sim_failure"]],
                        label=f"simulation (99% CI), k1={k1}")
        ax.set_yscale("log")
        ax.set_xlabel("K = copies of each input (source layer 1)")
    ax0 = pairs[0][0]
    ax0.set_ylabel("P(representation fails)")
    pairs[-1][0].legend(fontsize=5, ncol=1)
    fig.suptitle("L+1 representation of a 3-4-2 target in an ER source; k1 = copies of each hidden neuron; "
                 "simulated zero failures drawn at 1e-4", fontsize=8)


@register_figure("lower_bound")
def _lower_bound(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Left: P(all inputs connected) vs width, exact and simulated, critical widths n* labelled. Right: the
    critical width times the factor named in each legend entry, over log(d/delta)."""
    ax1, ax2 = fig.subplots(1, 2)
    cur = df[df["kind"] == "curve"]
    for ((p1, p2), g), (mk, ls, c) in zip(cur.groupby(["p1", "p2"], sort=False), styles()):
        g = g.sort_values("n")
        ax1.plot(g["n"], g["exact"], ls=ls, color=c, label=f"p1={p1:g}, p2={p2:g}")
        ax1.plot(g["n"], g["sim"], mk, color=c, ms=5, mfc="none")
        ns = g["n_star"].iloc[0]
        ax1.axvline(ns, ls=ls, color=c, lw=0.6)
        ax1.annotate(f"n*={ns}", (ns, 0.02 + 0.09 * (len(ax1.texts) % 5)), fontsize=6, color=c, rotation=90,
                     ha="right")
    ax1.axhline(0.95, color="0.6", lw=0.6, ls="--")
    ax1.set_xscale("log")
    ax1.set_xlabel("hidden width n (d = 20 inputs; vertical lines: n* for delta = 0.05)")
    ax1.set_ylabel("P(every input has a kept path to the output)")
    ax1.plot([], [], "ko", mfc="none", label="simulation")
    ax1.legend(fontsize=6)
    sc = df[df["kind"] == "scaling"]
    for (p2, g), (mk, ls, c) in zip(sc.groupby("p2"), styles()):
        g = g.sort_values("p1")
        lab = "dense output: n* log(1/(1-p))" if p2 == 1 else f"ER output p2={p2:g}: n* log(1/(1-p p2))"
        ax2.plot(g["p1"], g["exact"], marker=mk, ls=ls, color=c, label=lab)
    ax2.axhline(1.0, color="0.5", lw=0.6)
    ax2.set_xscale("log")
    ax2.set_ylim(0, 2.2)
    ax2.set_xlabel("first-layer density p (sparsity = 1 - p)")
    ax2.set_ylabel("n* x (factor in legend) / log(d/delta)")
    ax2.set_title("d = 784, delta = 0.01 (1 = the ER factor explains n*)", fontsize=9)
    ax2.legend(fontsize=7)


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
            ax.plot(agg.index, agg["upper"], marker=mk, ls="-", color=c, ms=4, label=f"p={p:g}: certified upper")
            ax.plot(agg.index, agg["lower"], marker=mk, ls=":", color=c, ms=4, mfc="none",
                    label=f"p={p:g}: attack lower")
            ax.fill_between(agg.index, agg["lower"], agg["upper"], color=c, alpha=0.10)
            ax.axvline(g["bound_k"].iloc[0], ls=ls, color=c, lw=0.8)
        ax.axhline(0.01, color="0.5", lw=0.8, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width multiplier k (units per input, log2)")
    pairs[0][0].set_ylabel("sup over [-1,1]^10 of |ticket(x) - target(x)|")
    pairs[0][0].annotate("eps = 0.01", (0.02, 0.012), xycoords=("axes fraction", "data"), fontsize=7, color="0.3")
    pairs[-1][0].legend(fontsize=5, ncol=2)
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
    for f, ls, lab, top in ((lambda q: 1 / -np.log1p(-q * q / 2), "--", "~ 1/log(1/(1-p^2/2)) (2-edge path, ~2/p^2)",
                             gm.index.max()),
                            (lambda q: 1 / -np.log1p(-q), ":", "~ 1/log(1/(1-p)) (per-layer, ~1/p)", p_ref)):
        p = np.geomspace(gm.index.min(), top, 50)
        ax.plot(p, gm[p_ref] * f(p) / f(p_ref), ls=ls, color="0.3", label=lab)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("density p of the ER source (fraction kept; sparsity = 1 - p)")
    ax.set_ylabel("k_min: smallest k with certified upper <= eps = 0.01")
    ax.set_title(f"fixed 2L layout, target 10-20-20-1; reference lines anchored at p = {p_ref:g}", fontsize=8)
    ax.legend(fontsize=7)


@register_figure("ticket_sparsity")
def _ticket_sparsity(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Kept and source parameters of the smallest certified eps-ticket, relative to the target, vs density,
    per layout (median over seeds)."""
    ax = fig.subplots()
    if "layout" not in df:
        df = df.assign(layout="fixed")
    for (lay, g), mk in zip(df.groupby("layout", sort=False), ["o", "s"]):
        m = g.groupby("density")[["kept_ratio", "source_ratio"]].median()
        ax.plot(m.index, m["kept_ratio"], marker=mk, ls="-", color="0.0", label=f"{lay}: kept ticket / target")
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
        f = (lambda q: 1 / -np.log1p(-q * q / 2)) if lay == "fixed" else \
            (lambda q: 1 / ((1 - (1 - q) ** n0) * -np.log1p(-q / 2)))
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


@register_figure("edge_popup_teacher")
def _edge_popup_teacher(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Relative MSE and sup error (on held-out inputs) of edge-popup tickets vs source width per density:
    mean and 95% t-interval over seeds; the level 0.3 and, per density, the width predicted by rho(p)
    from the p = 0.5 width marked."""
    ax1, ax2 = fig.subplots(1, 2)
    n_seeds = df["seed"].nunique()
    need = {}
    for (p, g), (mk, ls, c) in zip(df.groupby("density", sort=True), styles()):
        for ax, col in ((ax1, "relative_mse"), (ax2, "sup_error")):
            a = seed_agg(g, "width_multiplier", col)
            ax.errorbar(a.index, a["mean"], yerr=a["half"], marker=mk, ls=ls, color=c, label=f"p={p:g}", capsize=2)
        a = seed_agg(g, "width_multiplier", "relative_mse")
        ok = a[a["mean"] <= 0.3]
        need[p] = (float(ok.index.min()) if len(ok) else None, c, ls)
    if need.get(0.5, (None,))[0]:
        k05 = need[0.5][0]
        for p, (_, c, ls) in need.items():
            if p < 1:
                kp = k05 * (1 / -np.log1p(-p)) / (1 / -np.log1p(-0.5))
                ax1.plot([kp], [0.3], marker="v", color=c, ms=8, ls="none")
        ax1.plot([], [], "kv", ls="none", label="predicted width: k(0.5) rho(p)/rho(0.5)")
    for ax, lab in ((ax1, "relative MSE of the ticket (held-out inputs)"),
                    (ax2, "max |ticket - teacher| on held-out inputs (a sample)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width multiplier of the ER source")
        ax.set_ylabel(lab)
        ax.legend(title="density p (fraction kept)", fontsize=6, title_fontsize=6)
    ax1.axhline(0.3, color="0.5", lw=0.8, ls="--")
    ax1.annotate("level 0.3 (the verdict's)", (1, 0.31), fontsize=7, color="0.3")
    fig.suptitle(f"Edge-popup tickets for a 20-40-40-1 teacher (ticket keeps half of the ER support); mean and 95% "
                 f"interval over {n_seeds} seeds", fontsize=8)


@register_figure("edge_popup_class")
def _edge_popup_class(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Test accuracy at final density 0.1 by method (mean and 95% t-interval over seeds, each seed a dot),
    one panel per architecture; "dense, trained" = the dense network trained with Adam (no mask)."""
    archs = sorted(df["arch"].unique(), reverse=True)
    axes = fig.subplots(1, len(archs), squeeze=False)[0]
    labels = sorted(df["label"].unique())
    n_seeds = df["seed"].nunique()
    for ax, arch in zip(axes, archs):
        sub = df[df["arch"] == arch]
        for i, lab in enumerate(labels):
            v = sub[sub["label"] == lab]["value"].to_numpy()
            m, h = t_interval(v)
            ax.errorbar([i], [m], yerr=[h], fmt="s", color="0.0", capsize=4, ms=6)
            ax.plot(np.full(len(v), i) + np.linspace(-0.12, 0.12, len(v)), v, "o", color="0.55", ms=3)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([l.replace("edge-popup, ", "edge-popup\n") for l in labels], fontsize=7)
        lo, hi = sub["value"].min(), sub["value"].max()
        ax.set_ylim(lo - 0.05, min(1.0, hi + 0.02))
        ax.set_title(ARCH_TITLES.get(arch, arch), fontsize=9)
    axes[0].set_ylabel("test accuracy (y axis does not start at 0)")
    fig.suptitle(f"final density 0.1 for every edge-popup ticket; mean and 95% interval over {n_seeds} seeds (dots); "
                 "dense, trained = the unmasked network trained with Adam", fontsize=8)


ARCH_TITLES = {"mlp": "LeNet-300-100 on MNIST (mnist5k)", "conv": "conv net on digits"}


def arch_panels(df: pd.DataFrame, fig: plt.Figure) -> list[tuple[plt.Axes, pd.DataFrame]]:
    """:func:`panels` per architecture, log x axis, accuracy on the y axis."""
    pairs = panels(df, fig, "arch", lambda arch: ARCH_TITLES.get(arch, arch))
    for ax, _ in pairs:
        ax.set_xscale("log")
    pairs[0][0].set_ylabel("test accuracy")
    return pairs


@register_figure("ratio_comparison")
def _ratio_comparison(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Test accuracy vs global density per layer-wise ratio (mean and 95% t-interval over seeds), per
    architecture; chance (0.1) marked; er dashed with open markers so it stays visible under erk."""
    n_seeds = df["seed"].nunique()
    for i, (ax, sub) in enumerate(arch_panels(df, fig)):
        for j, ((ratio, g), (mk, ls, c)) in enumerate(zip(sub.groupby("ratio"), styles())):
            a = seed_agg(g, "density")
            ax.errorbar(a.index * (1 + 0.04 * (j - 2)), a["mean"], yerr=a["half"], marker=mk, ls=ls, color=c,
                        label=ratio, capsize=2, mfc="none" if ratio == "er" else c)
        ax.axhline(0.1, color="0.6", lw=0.8, ls="--")
        ax.annotate("chance", (sub["density"].min(), 0.11), fontsize=7, color="0.4")
        ax.set_xlabel("global density (fraction kept)", fontsize=8)
        if i == 0:
            ax.legend(title="layer-wise ratio", fontsize=7, title_fontsize=7)
    fig.suptitle(f"training inside ER masks; mean and 95% interval over {n_seeds} seeds (points offset "
                 "horizontally)", fontsize=8)


@register_figure("sparse_to_sparse")
def _sparse_to_sparse(df: pd.DataFrame, fig: plt.Figure) -> None:
    """IMP (lines over its rounds) and one-shot pruners (points) vs density: filled markers = dense start,
    open markers = inside an ER mask of density 0.5; mean over seeds; the ER path's training cost relative to
    the dense path annotated for IMP."""
    n_seeds = df["seed"].nunique()
    for ax, sub in arch_panels(df, fig):
        for (method, g), (mk, _, c) in zip(sub.groupby("method"), styles()):
            for start, ls, fill in ((1.0, "-", c), (0.5, "--", "none")):
                h = g[g["start_density"] == start]
                if h.empty:
                    continue
                a = seed_agg(h, "density_point")
                lab = f"{method}, {'dense' if start == 1.0 else 'ER 0.5'} start"
                if method == "imp":
                    ax.errorbar(a.index, a["mean"], yerr=a["half"], marker=mk, ls=ls, color=c, ms=4, mfc=fill,
                                label=lab, capsize=2)
                else:
                    ax.errorbar(a.index, a["mean"], yerr=a["half"], marker=mk, ls="none", color=c, ms=6, mfc=fill,
                                label=lab, capsize=2)
        imp = sub[sub["method"] == "imp"]
        if len(imp) and {1.0, 0.5} <= set(imp["start_density"]):
            final = imp["density_point"].min()
            at = imp[np.isclose(imp["density_point"], final)].groupby("start_density")["trained_param_epochs"].mean()
            ax.annotate(f"IMP cost to {final:g}: ER path {at[0.5] / at[1.0]:.2f}x dense", (0.03, 0.03),
                        xycoords="axes fraction", fontsize=7)
        ax.set_xlabel("density (fraction kept)")
    ax.legend(fontsize=5, ncol=1, loc="lower right")
    fig.suptitle(f"dense-to-sparse from a dense start vs inside an ER mask; mean and 95% interval over {n_seeds} "
                 "seeds; cost = trained parameter-epochs", fontsize=8)
