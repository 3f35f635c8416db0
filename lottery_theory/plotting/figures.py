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
    out = Path(out_png) if out_png else data_path.with_suffix(".png")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


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
    archs = list(dict.fromkeys(df["arch"]))
    axes = fig.subplots(1, len(archs), squeeze=False)[0]
    for ax, arch in zip(axes, archs):
        sub = df[df["arch"] == arch]
        for (method, g), (mk, ls, c) in zip(sub.groupby("method", sort=False), styles()):
            ax.plot(g["layer"] + 1, g["density"], marker=mk, ls=ls, color=c, label=method)
        ax.set_yscale("log")
        ax.set_xlabel("layer (1 = input side)")
        ax.set_title(f"{arch}, global density {sub['global_density'].iloc[0]:g}", fontsize=9)
        ax.set_xticks(sorted(sub["layer"].unique() + 1))
    axes[0].set_ylabel("layer density (fraction kept, log scale)")
    axes[-1].legend(fontsize=8)


@register_figure("lueker")
def _lueker(df: pd.DataFrame, fig: plt.Figure) -> None:
    """P(present values eps-cover [-1,1]) vs n, one panel per eps, one curve per density, bound marked."""
    pairs = panels(df, fig, "eps", lambda eps: f"eps = {eps:g}", reverse=True)
    for ax, sub in pairs:
        for (p, g), (mk, ls, c) in zip(sub.groupby("p", sort=False), styles()):
            ax.plot(g["n"], g["success"], ls=ls, color=c, label=f"p={p:g}", marker=mk, markevery=max(1, len(g) // 6),
                    ms=4)
            ax.axvline(g["bound_n"].iloc[0], ls=ls, color=c, lw=0.8, alpha=0.8)
        ax.set_xscale("log")
    fig.supxlabel("n = number of U[-1,1] items, each present with probability p (log scale)", fontsize=9)
    ax0 = pairs[0][0]
    ax0.set_ylabel("P(every z in [-1,1] within eps)")
    ax0.legend(fontsize=7, title="density p", title_fontsize=7)
    fig.suptitle("ER random subset sum: coverage vs n; vertical lines = bound n (default C)", fontsize=9)


@register_figure("lueker_scaling")
def _lueker_scaling(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Empirical n (90% coverage) vs density, with the rho(p) and 1/p scalings from the p = 1 value."""
    ax = fig.subplots()
    for (eps, g), (mk, ls, c) in zip(df.groupby("eps"), styles()):
        g = g.sort_values("p")
        ax.plot(g["p"], g["n_emp"], marker=mk, ls="none", color=c, label=f"measured, eps={eps:g}")
        n1 = float(g[g["p"] == 1.0]["n_emp"].iloc[0])
        ps = np.linspace(g["p"].min(), 1, 100)
        rho = np.where(ps < 1, -1 / np.log1p(-np.minimum(ps, 1 - 1e-12)), 0)
        ax.plot(ps, n1 * np.maximum(1, rho), ls="-", color=c, lw=1)
        ax.plot(ps, n1 / ps, ls=":", color=c, lw=1)
    ax.plot([], [], "k-", label="n(1) max(1, 1/log(1/(1-p)))")
    ax.plot([], [], "k:", label="n(1) / p")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("density p (fraction of items present; sparsity = 1 - p)")
    ax.set_ylabel("n needed for 90% coverage")
    ax.legend(fontsize=7)


@register_figure("representation")
def _representation(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Failure probability of the L+1 representation: exact, union bound and simulation, per density."""
    pairs = panels(df, fig, "p", lambda p: f"density p = {p:g} (every layer)", reverse=True)
    for ax, sub in pairs:
        for (k1, g), (mk, ls, c) in zip(sub.groupby("k1"), styles()):
            ax.plot(g["K"], g["exact_failure"], ls=ls, color=c, label=f"exact, k1={k1}")
            ax.plot(g["K"], g["union_bound"], ls=ls, color=c, lw=0.6)
            ax.errorbar(g["K"], g["sim_failure"], yerr=[g["sim_failure"] - g["ci_lo"], g["ci_hi"] - g["sim_failure"]],
                        fmt=mk, color=c, ms=4, capsize=2)
        ax.set_yscale("log")
        ax.set_xlabel("K = input copies")
    ax0 = pairs[0][0]
    ax0.set_ylabel("P(representation fails)")
    ax0.plot([], [], "k-", lw=0.6, label="union bound (thin)")
    ax0.plot([], [], "ko", ms=4, label="simulation, 99% CI")
    ax0.legend(fontsize=7)


@register_figure("lower_bound")
def _lower_bound(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Left: P(all inputs connected) vs width, exact and simulated. Right: n* log(1/(1-p)) / log(d/delta) vs p."""
    ax1, ax2 = fig.subplots(1, 2)
    cur = df[df["kind"] == "curve"]
    for ((p1, p2), g), (mk, ls, c) in zip(cur.groupby(["p1", "p2"], sort=False), styles()):
        g = g.sort_values("n")
        ax1.plot(g["n"], g["exact"], ls=ls, color=c, label=f"p1={p1:g}, p2={p2:g}")
        ax1.plot(g["n"], g["sim"], mk, color=c, ms=5, mfc="none")
        ax1.axvline(g["n_star"].iloc[0], ls=ls, color=c, lw=0.6)
    ax1.set_xscale("log")
    ax1.set_xlabel("hidden width n (d = 20 inputs)")
    ax1.set_ylabel("P(every input has a kept path to the output)")
    ax1.plot([], [], "ko", mfc="none", label="simulation")
    ax1.legend(fontsize=7)
    sc = df[df["kind"] == "scaling"]
    for (p2, g), (mk, ls, c) in zip(sc.groupby("p2"), styles()):
        g = g.sort_values("p1")
        lab = "dense output: n* log(1/(1-p))" if p2 == 1 else f"ER output p2={p2:g}: n* log(1/(1-p p2))"
        ax2.plot(g["p1"], g["exact"], marker=mk, ls=ls, color=c, label=lab)
    ax2.axhline(1.0, color="0.5", lw=0.6)
    ax2.set_xscale("log")
    ax2.set_ylim(0, 2.2)
    ax2.set_xlabel("first-layer density p (sparsity = 1 - p)")
    ax2.set_ylabel("critical width x log(1/(1-p)) / log(d/delta)")
    ax2.set_title("d = 784, delta = 0.01", fontsize=9)
    ax2.legend(fontsize=7)


@register_figure("ticket_error_width")
def _ticket_error_width(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Sup-error bracket of the rebuilt tickets vs width multiplier: certified upper (solid) and attack lower
    (dashed), median over seeds, one colour/marker per density; the bound's k marked."""
    ax = fig.subplots()
    n_seeds = df["seed"].nunique()
    for (p, g), (mk, ls, c) in zip(df.groupby("density", sort=True), styles()):
        agg = g.groupby("width_multiplier")[["upper", "lower"]].median()
        ax.plot(agg.index, agg["upper"], marker=mk, ls="-", color=c, label=f"p={p:g}: certified upper")
        ax.plot(agg.index, agg["lower"], marker=mk, ls=":", color=c, mfc="none", label=f"p={p:g}: attack lower")
        ax.fill_between(agg.index, agg["lower"], agg["upper"], color=c, alpha=0.10)
        ax.axvline(g["bound_k"].iloc[0], ls=ls, color=c, lw=0.8)
    ax.axhline(0.01, color="0.5", lw=0.8, ls="--")
    ax.text(2.2, 0.012, "eps = 0.01", fontsize=7, color="0.3")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width multiplier k (units per target input in each block layer, log2)")
    ax.set_ylabel("sup over [-1,1]^10 of |ticket(x) - target(x)|")
    ax.set_title(f"2L tickets (fixed layout) for 10-20-20-1 targets: bracket [attack, certificate], median of "
                 f"{n_seeds} seeds;\nshaded = bracket; vertical lines: the bound's k for eps = 0.01", fontsize=8)
    ax.legend(fontsize=6, ncol=2)


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
    """Kept and source parameters of the smallest successful ticket, relative to the target, vs density."""
    ax = fig.subplots()
    g = df[df["eps"] == df["eps"].min()].groupby("density")[["kept_ratio", "source_ratio"]].median()
    ax.plot(g.index, g["kept_ratio"], "o-", color="0.0", label="kept ticket params / target params")
    ax.plot(g.index, g["source_ratio"], "s--", color="0.5", label="ER source params / target params")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("density p of the ER source (fraction kept)")
    ax.set_ylabel("parameters relative to the target")
    ax.set_title(f"smallest certified eps-ticket (upper <= {df['eps'].min():g}), fixed 2L layout, target 10-20-20-1; "
                 f"median of {df['seed'].nunique()} seeds", fontsize=8)
    ax.legend(fontsize=8)


@register_figure("edge_popup_teacher")
def _edge_popup_teacher(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Relative MSE and sup error of edge-popup tickets vs source width, one curve per density."""
    ax1, ax2 = fig.subplots(1, 2)
    for (p, g), (mk, ls, c) in zip(df.groupby("density", sort=True), styles()):
        agg = g.groupby("width_multiplier")[["relative_mse", "sup_error"]].median()
        ax1.plot(agg.index, agg["relative_mse"], marker=mk, ls=ls, color=c, label=f"p={p:g}")
        ax2.plot(agg.index, agg["sup_error"], marker=mk, ls=ls, color=c, label=f"p={p:g}")
    for ax, lab in ((ax1, "relative MSE of the ticket (held-out inputs)"), (ax2, "sup |ticket - teacher|")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width multiplier of the ER source")
        ax.set_ylabel(lab)
        ax.legend(title="density p (fraction kept)", fontsize=7, title_fontsize=7)
    ax1.axhline(0.3, color="0.5", lw=0.8, ls="--")
    fig.suptitle("Edge-popup tickets for a 20-40-40-1 teacher (ticket keeps half of the ER support)", fontsize=9)


@register_figure("edge_popup_class")
def _edge_popup_class(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Test accuracy on digits at final density 0.1 by method and architecture (mean and range over seeds)."""
    ax = fig.subplots()
    labels = sorted(df["label"].unique())
    archs = sorted(df["arch"].unique())
    width = 0.8 / len(archs)
    hatches = ["", "//", "..", "xx"]
    for i, arch in enumerate(archs):
        sub = df[df["arch"] == arch].groupby("label")["value"].agg(["mean", "min", "max"]).reindex(labels)
        x = np.arange(len(labels)) + i * width
        ax.bar(x, sub["mean"], width, color=["0.3", "0.7"][i % 2], hatch=hatches[i % 4], edgecolor="k", label=arch,
               yerr=[sub["mean"] - sub["min"], sub["max"] - sub["mean"]], capsize=3)
    ax.set_xticks(np.arange(len(labels)) + width * (len(archs) - 1) / 2)
    ax.set_xticklabels(labels, fontsize=8, rotation=10)
    ax.set_ylim(max(0.0, df["value"].min() - 0.1), 1.0)
    ax.set_ylabel("test accuracy (digits)")
    ax.set_title("final density 0.1 (fraction kept) for every edge-popup ticket", fontsize=9)
    ax.legend(title="architecture", fontsize=8)


ARCH_TITLES = {"mlp": "LeNet-300-100 on digits28", "conv": "conv net on digits"}


def arch_panels(df: pd.DataFrame, fig: plt.Figure) -> list[tuple[plt.Axes, pd.DataFrame]]:
    """:func:`panels` per architecture, log x axis, accuracy on the y axis."""
    pairs = panels(df, fig, "arch", lambda arch: ARCH_TITLES.get(arch, arch))
    for ax, _ in pairs:
        ax.set_xscale("log")
    pairs[0][0].set_ylabel("test accuracy")
    return pairs


@register_figure("ratio_comparison")
def _ratio_comparison(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Test accuracy vs global density for each layer-wise ratio (mean and range over seeds), per architecture."""
    for i, (ax, sub) in enumerate(arch_panels(df, fig)):
        for (ratio, g), (mk, ls, c) in zip(sub.groupby("ratio"), styles()):
            agg = g.groupby("density")["value"].agg(["mean", "min", "max"])
            ax.errorbar(agg.index, agg["mean"], yerr=[agg["mean"] - agg["min"], agg["max"] - agg["mean"]],
                        marker=mk, ls=ls, color=c, label=ratio, capsize=2)
        ax.set_xlabel("global density (fraction kept; sparsity = 1 - density)")
        if i == 0:
            ax.legend(title="layer-wise ratio", fontsize=7, title_fontsize=7)


@register_figure("sparse_to_sparse")
def _sparse_to_sparse(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Accuracy vs density per method: solid = dense start, dashed = inside an ER mask of density 0.5."""
    for ax, sub in arch_panels(df, fig):
        for (method, g), (mk, _, c) in zip(sub.groupby("method"), styles()):
            for start, ls in ((1.0, "-"), (0.5, "--")):
                h = g[g["start_density"] == start].groupby("density_point")["value"].mean()
                if len(h):
                    ax.plot(h.index, h.values, marker=mk, ls=ls, color=c, ms=4,
                            label=f"{method}, {'dense' if start == 1.0 else 'ER 0.5'} start")
        ax.set_xlabel("density (fraction kept)")
    ax.legend(fontsize=6, ncol=1, loc="lower right")
