"""Figure registry. Every figure: labelled axes with units, density/sparsity said explicitly,
a legend, and markers + line styles so it reads in grayscale."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .._validation import lookup  # noqa: E402

FigureFn = Callable[[pd.DataFrame, plt.Figure], None]
_FIGURES: dict[str, FigureFn] = {}
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", ":", "-."]


def register_figure(name: str) -> Callable[[FigureFn], FigureFn]:
    def deco(fn: FigureFn) -> FigureFn:
        _FIGURES[name] = fn
        return fn
    return deco


def available_figures() -> list[str]:
    return sorted(_FIGURES)


def styles():
    """Cycle of (marker, linestyle, grey level) triples for grayscale-readable curves."""
    greys = ["0.0", "0.35", "0.6", "0.2", "0.5"]
    return itertools.cycle(zip(itertools.cycle(MARKERS), itertools.cycle(LINESTYLES), itertools.cycle(greys)))


def render(name: str, data_path: str | Path, out_png: str | Path | None = None) -> Path:
    """Draw figure ``name`` from the CSV at ``data_path``; write ``out_png`` (default: same stem, .png)."""
    fn = lookup(_FIGURES, name, "figure", "name")
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
