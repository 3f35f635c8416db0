"""Figures of the closed-form checks: layer ratios, representation, lower bound."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .core import panels, register_figure, styles


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
        ax.set_title(f"{arch}\nglobal density {sub['global_density'].iloc[0]:g} (dashed line)", fontsize=9)
        ax.set_xticks(sorted(sub["layer"].unique() + 1))
    axes[0].set_ylabel("layer density (fraction kept, log scale)")
    axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # beside the panels, over no point
    fig.suptitle("ours hit the global density exactly; the reference clipping (x, +) keeps\n0.0969 (ERK) and "
                 "0.0704 (balanced) of LeNet at 0.1", fontsize=8)


@register_figure("representation")
def _representation(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Failure probability of the L+1 representation of a 3-4-2 target: exact, union bound (clipped at 1, where it
    is vacuous) and simulation with its 99% interval, one panel per density (every point of the check, so each
    simulation can be read against its exact value); K = copies of each input in source layer 1, k1 = copies of
    each hidden target neuron."""
    pairs = panels(df, fig, "p", lambda p: f"density p = {p:g} (every layer)", reverse=True)
    for ax, sub in pairs:
        for (k1, g), (mk, ls, c) in zip(sub.groupby("k1"), styles()):
            ax.plot(g["K"], g["exact_failure"], ls=ls, color=c, label=f"exact, k1={k1}")
            ax.plot(g["K"], g["union_bound"].clip(upper=1.0), ls=ls, color=c, lw=0.6, marker="_", ms=8,
                    label=f"union bound (<= 1), k1={k1}")
            ax.errorbar(g["K"], g["sim_failure"].clip(lower=1e-4), fmt=mk, color=c, ms=4, capsize=2, mfc="none",
                        yerr=[(g["sim_failure"] - g["ci_lo"]).clip(lower=0), g["ci_hi"] - g["sim_failure"]],
                        label=f"simulation (99% CI), k1={k1}")
        ax.set_yscale("log")
    fig.supxlabel("K = copies of each input (source layer 1)", fontsize=9)  # one label: per panel they collided
    ax0 = pairs[0][0]
    ax0.set_ylabel("P(representation fails)")
    pairs[-1][0].legend(fontsize=5, ncol=1, loc="lower left")
    fig.suptitle(f"L+1 representation of a 3-4-2 target in an ER source ({len(df)} cases); k1 = copies of each hidden "
                 "neuron; simulated zero failures drawn at 1e-4", fontsize=8)


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
        if not any(t.get_text() == f"n*={ns}" for t in ax1.texts):  # equal n* of two curves: one label
            ax1.annotate(f"n*={ns}", (ns, 0.02 + 0.09 * (len(ax1.texts) % 5)), fontsize=6, color=c, rotation=90,
                         ha="right")
    ax1.axhline(0.95, color="0.6", lw=0.6, ls="--")
    ax1.set_xscale("log")
    ax1.set_xlabel("hidden width n (d = 20 inputs)")
    ax1.plot([], [], color="0.3", lw=0.6, label="n*: width with P >= 0.95")
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
    ax2.set_ylim(0.8, 1.2)  # the identity holds up to rounding: the curves sit on 1
    ax2.set_xlabel("first-layer density p (sparsity = 1 - p)")
    ax2.set_ylabel("n* x (factor in legend) / log(d/delta)")
    ax2.set_title("d = 784, delta = 0.01\n(1 = the ER factor explains n*)", fontsize=9)
    ax2.legend(fontsize=7)
