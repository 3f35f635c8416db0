"""Figures of the trained experiments: edge-popup, ratios, sparse-to-sparse."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .core import panels, register_figure, seed_agg, styles, t_interval


TEACHER_LEVEL_FACTOR = 2.0  # proofs_checks/edge_popup_er.py LEVEL_FACTOR (row teacher-width); a test keeps them equal


def _crossing(g: pd.DataFrame, level: float) -> float | None:
    """Width where the geometric mean (over seeds) of the relative MSE first crosses ``level``, interpolated in
    (log k, log MSE) as row teacher-width reads each seed; None when the grid does not bracket it."""
    from ..evidence import first_crossing

    a = g.groupby("width_multiplier")["relative_mse"].apply(lambda v: float(np.exp(np.log(v).mean()))).sort_index()
    k = first_crossing(a.index, a.to_numpy(), level)
    return None if np.isnan(k) else k


@register_figure("edge_popup_teacher")
def _edge_popup_teacher(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Relative MSE and sup error (on held-out inputs) of edge-popup tickets vs source width per density:
    geometric mean and 95% t-interval of the log values over seeds (the log axis; an arithmetic interval on it
    ran below zero with 3 seeds); TEACHER_LEVEL_FACTOR x the dense source's relative MSE at the widest width
    (geometric mean over seeds; row teacher-width reads each seed's own) and, per density, the measured crossing
    and the width predicted by rho(p) from the p = 0.5 crossing marked."""
    ax1, ax2 = fig.subplots(1, 2)
    n_seeds = df["seed"].nunique()
    dense = df[(df["density"] == 1.0) & (df["width_multiplier"] == df["width_multiplier"].max())]["relative_mse"]
    level = TEACHER_LEVEL_FACTOR * float(np.exp(np.log(dense).mean())) if len(dense) else np.nan  # no dense: no line
    need = {}
    for (p, g), (mk, ls, c) in zip(df.groupby("density", sort=True), styles()):
        for ax, col in ((ax1, "relative_mse"), (ax2, "sup_error")):
            a = seed_agg(g.assign(_log=np.log(g[col].clip(lower=1e-300))), "width_multiplier", "_log")
            mid = np.exp(a["mean"])
            ax.errorbar(a.index, mid, yerr=[mid - np.exp(a["mean"] - a["half"]), np.exp(a["mean"] + a["half"]) - mid],
                        marker=mk, ls=ls, color=c, label=f"p={p:g}", capsize=2)
        need[p] = (_crossing(g, level), c, ls)
    if need.get(0.5, (None,))[0]:
        k05 = need[0.5][0]
        for p, (kc, c, ls) in need.items():
            if p < 1:
                kp = k05 * (1 / -np.log1p(-p)) / (1 / -np.log1p(-0.5))
                ax1.plot([kp], [level], marker="v", color=c, ms=8, ls="none")
                if kc:
                    ax1.plot([kc], [level], marker="o", mfc="none", color=c, ms=9, ls="none")
        ax1.plot([], [], "kv", ls="none", label="predicted width: k(0.5) rho(p)/rho(0.5)")
        ax1.plot([], [], "ko", mfc="none", ls="none", label="measured crossing (geometric mean)")
    if np.isfinite(level):
        ax1.axhline(level, color="0.5", lw=0.8, ls="--", label=f"{TEACHER_LEVEL_FACTOR:g} x dense floor = {level:.3g} "
                    "(geom. mean; the row: each seed's)")
    for ax, lab in ((ax1, "relative MSE of the ticket (held-out inputs)"),
                    (ax2, "max |ticket - teacher| (held-out sample)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width multiplier of the ER source")
        ax.set_ylabel(lab)
        ax.legend(title="density p (fraction kept)", fontsize=6, title_fontsize=6, loc="upper center",
                  bbox_to_anchor=(0.5, -0.16), ncol=2)  # below the panel: the curves fill it
    fig.suptitle(f"Edge-popup tickets, 20-40-40-1 teacher (ticket keeps half the ER support): geometric mean and "
                 f"95% interval, {n_seeds} seeds", fontsize=8)


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
        dense = sub[sub["label"] == "edge-popup, source p=1.0"]["value"]
        if len(dense):  # the class-gap row's margin: an ER source must stay above this (seed-paired, 95%)
            ax.axhline(float(dense.mean()) - CLASS_MARGIN, color="0.4", lw=0.8, ls="--",
                       label=f"dense source mean - {CLASS_MARGIN:g} (the row's margin)")
        lo, hi = sub["value"].min(), sub["value"].max()
        ax.set_ylim(lo - 0.05, min(1.0, hi + 0.02))
        ax.set_title(ARCH_TITLES.get(arch, arch), fontsize=9)
    axes[0].set_ylabel("test accuracy (y axis does not start at 0)")
    fig.supxlabel("source of the edge-popup ticket (ER density p; p = 1: dense source), or the trained dense network",
                  fontsize=8)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="s", ls="none", color="0.0", label="mean, 95% t-interval"),
               Line2D([], [], marker="o", ls="none", color="0.55", ms=3, label="one seed")]
    handles += [h for h in axes[0].get_legend_handles_labels()[0]]
    axes[0].legend(handles=handles, fontsize=6, loc="lower left")
    fig.suptitle(f"final density 0.1 for every edge-popup ticket; mean and 95% interval over {n_seeds} seeds (dots); "
                 "dense, trained = the unmasked network trained with Adam", fontsize=8)


CLASS_MARGIN = 0.03  # proofs_checks/edge_popup_er.py MARGIN (class-gap row); tests/test_figures.py keeps them equal
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
    architecture; chance (0.1) marked; er dashed with open markers so it stays visible under erk. Rows trained
    longer than the base budget (the full run's row ratio-0.01: density 0.01 at 60 epochs) are drawn as a separate
    cluster left of their density, labelled with their budget."""
    epochs = df["epochs"] if "epochs" in df else pd.Series(0, index=df.index)
    base = df[epochs == epochs.min()]
    longer = df[epochs > epochs.min()]
    for i, (ax, sub) in enumerate(arch_panels(base, fig)):
        extra = longer[longer["arch"] == sub["arch"].iloc[0]] if "arch" in longer else longer.iloc[:0]
        for j, (ratio, (mk, ls, c)) in enumerate(zip(sorted(base["ratio"].unique()), styles())):
            a = seed_agg(sub[sub["ratio"] == ratio], "density")
            ax.errorbar(a.index * (1 + 0.04 * (j - 2)), a["mean"], yerr=a["half"], marker=mk, ls=ls, color=c,
                        label=ratio, capsize=2, mfc="none" if ratio == "er" else c)
            e = extra[extra["ratio"] == ratio]
            if len(e):
                b = seed_agg(e, "density")
                ax.errorbar(b.index * 0.55 * (1 + 0.04 * (j - 2)), b["mean"], yerr=b["half"], marker=mk, ls="none",
                            color=c, capsize=2, mfc="none" if ratio == "er" else c)
        if len(extra):
            d = extra["density"].min()
            ax.annotate(f"{int(extra['epochs'].max())} epochs", (d * 0.55, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, -10), textcoords="offset points", fontsize=7, ha="center", color="0.3")
        ax.axhline(0.1, color="0.6", lw=0.8, ls="--")
        ax.annotate("chance", (0.5, 0.1), xycoords=("axes fraction", "data"), xytext=(0, 2),
                    textcoords="offset points", fontsize=7, color="0.4", ha="center")  # between the densities
        ax.set_xlabel("global density (fraction kept)", fontsize=8)
        if i == 0:
            ax.legend(title="layer-wise ratio", fontsize=7, title_fontsize=7)
    budget = f"{int(epochs.min())} epochs, " if "epochs" in df else ""
    more = ""
    if len(longer):
        n = longer.groupby(["arch", "ratio"])["seed"].nunique()
        more = (f"; density {longer['density'].min():g} at {int(longer['epochs'].max())} epochs: {n.min()} seeds, "
                + ", ".join(f"{a} {r} {k}" for (a, r), k in n.items() if k > n.min()))
    fig.suptitle(f"training inside ER masks ({budget}{base['seed'].nunique()} seeds{more}); mean and 95% interval "
                 "(points offset horizontally)", fontsize=8)


@register_figure("sparse_to_sparse")
def _sparse_to_sparse(df: pd.DataFrame, fig: plt.Figure) -> None:
    """IMP (lines over its rounds) and one-shot pruners (points) vs density: filled markers = dense start,
    open markers = inside an ER mask of density 0.5; mean over seeds; the ER path's training cost relative to
    the dense path annotated for IMP."""
    n_seeds = seeds_phrase(df, ["arch", "method", "start_density"], "conv IMP")
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


def seeds_phrase(df: pd.DataFrame, arm: list, more: str) -> str:
    """How many seeds each arm (``arm`` columns) has: "5", or "5 (<more>: 15)" when some arms were given more."""
    n = df.groupby(arm)["seed"].nunique()
    return f"{n.min()}" if n.min() == n.max() else f"{n.min()} ({more}: {n.max()})"


SHORT_TITLES = {"mlp": "LeNet-300-100, mnist5k", "conv": "conv net, digits"}
DST_METHODS = {"static": "static (mask fixed)", "rigl": "RigL", "set": "SET", "rigl+super": "RigL in ER super-mask 0.5"}


@register_figure("dst")
def _dst(df: pd.DataFrame, fig: plt.Figure) -> None:
    """Dynamic sparse training: test accuracy by start mask (x) and method (marker), one panel per architecture and
    density; mean and 95% t-interval over seeds, seeds as small dots; the dashed line is RigL from the dense-pruned
    (SNIP) start minus 2 points, the margin of the check's rows."""
    df = df.copy()
    sup = df["support_density"] if "support_density" in df else pd.Series(np.nan, index=df.index)
    df["series"] = df["method"] + np.where(sup.notna(), "+super", "")
    archs = sorted(df["arch"].unique(), reverse=True)
    cells = [(a, d) for a in archs for d in sorted(df[df["arch"] == a]["density"].unique(), reverse=True)]
    ncol = max(sum(1 for c in cells if c[0] == a) for a in archs)
    fig.set_size_inches(max(7.5, 3.6 * ncol + 2.2), 3.3 * len(archs) + 0.6)
    axes = fig.subplots(len(archs), ncol, squeeze=False)
    starts = [s for s in ("uniform", "er", "erk", "balanced", "pyramidal", "snip") if s in set(df["start"])]
    series = [s for s in DST_METHODS if s in set(df["series"])]
    n_seeds = seeds_phrase(df, ["arch", "density", "series", "start"], "the rows' RigL arms")
    for i, a in enumerate(archs):
        mine = [c for c in cells if c[0] == a]
        for j in range(ncol):
            ax = axes[i][j]
            if j >= len(mine):
                ax.axis("off")
                continue
            d = mine[j][1]
            sub = df[(df["arch"] == a) & np.isclose(df["density"], d)]
            for k, (s, (mk, _, c)) in enumerate(zip(series, styles())):
                label = DST_METHODS[s]
                for x, st in enumerate(starts):
                    v = sub[(sub["series"] == s) & (sub["start"] == st)]["value"].to_numpy()
                    if v.size == 0:
                        continue
                    m, h = t_interval(v)
                    off = x + 0.18 * (k - (len(series) - 1) / 2)
                    ax.errorbar([off], [m], yerr=[h], marker=mk, color=c, capsize=2, ms=5, ls="none", label=label)
                    label = None  # one legend entry per method
                    ax.plot(np.full(v.size, off), v, ".", color="0.6", ms=2)
            ref = sub[(sub["series"] == "rigl") & (sub["start"] == "snip")]["value"]
            if len(ref):
                ax.axhline(ref.mean() - 0.02, color="0.4", lw=0.8, ls="--", label="RigL from SNIP start - 0.02 (margin)")
            ax.set_xticks(range(len(starts)))
            ax.set_xticklabels([("SNIP\n(dense-\npruned)" if s == "snip" else f"ER\n{s}") for s in starts], fontsize=7)
            ax.set_title(f"{SHORT_TITLES.get(a, a)}, density {d:g}", fontsize=8)
            ax.set_ylabel("test accuracy", fontsize=8)
            ax.set_xlabel("start mask", fontsize=8)
    axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"dynamic sparse training at fixed density from ER and dense-pruned starts; mean and 95% interval "
                 f"over {n_seeds} seeds (dots: seeds); y axes do not start at 0", fontsize=8)
