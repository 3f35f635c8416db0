"""Figures of the subset-sum checks (proofs_checks/subset_sum_lueker.py)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .core import panels, register_figure, styles


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
            ax.plot([b, b], [0.84, 0.96], color=c, lw=1.5, ls=ls)  # the density's line style (labels overlapped)
        ax.axhline(0.9, color="0.6", lw=0.7, ls="--")
        ax.set_xscale("log")
    fig.supxlabel("n = number of U[-1,1] items, each present with probability p (log scale)", fontsize=9)
    ax0 = pairs[0][0]
    ax0.set_ylabel("P(every z in [-1,1] within eps)")
    ax0.legend(fontsize=7, title="density p", title_fontsize=7)
    trials = (f"{int(df['trials'].iloc[0])} trials per (eps, p), seed {int(df['seed'].iloc[0])}; "
              if {"trials", "seed"} <= set(df) else "")
    fig.suptitle(f"ER random subset sum: coverage vs n ({trials}one curve per p). Ticks on the 0.9 line (in each "
                 "density's line style): the bound's n with C = 8, fitted on held-out seeds (smallest covering C "
                 "there 7.23)", fontsize=8)


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
    ticks = sorted(df["p"].unique())
    for a in (ax, ax2):
        a.set_xscale("log")
        a.set_xlabel("density p (fraction present; sparsity = 1 - p)")
        a.set_xticks(ticks, [f"{t:g}" for t in ticks])  # the measured densities, plainly (log minor labels collided)
        a.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_yscale("log")
    ax.set_ylabel("n needed for 90% coverage")
    ax.legend(fontsize=6)
    ax2.plot([], [], "k:", marker="o", mfc="none", label="n log(1/(1-p)) / n(1)")
    ax2.set_ylabel("normalised product (flat = law fits)")
    ax2.legend(fontsize=6)
    fig.suptitle("n(1) = measured n at p = 1 for the same eps; lines of one grey belong to one eps", fontsize=8)
