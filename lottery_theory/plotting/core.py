"""Figure registry, ``render`` and shared helpers. Every figure: labelled axes with units, density/sparsity said explicitly,
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


def draw(name: str, df: pd.DataFrame) -> plt.Figure:
    """Figure ``name`` drawn from its data (the CSV its check writes), not saved: the caller closes it."""
    fn = _FIGURES.get_checked(name)
    fig = plt.figure(figsize=(7.5, 4.8))
    try:
        fn(df, fig)
    except KeyError as e:
        plt.close(fig)
        raise ValueError(f"figure {name!r}: its data lacks column {e.args[0]!r} (columns: {', '.join(df.columns)})"
                         "; it must be the CSV its check writes") from None
    import textwrap

    if fig._suptitle is not None:  # long captions wrap instead of running off the page
        fig._suptitle.set_text(textwrap.fill(fig._suptitle.get_text(), 120))
    for ax in fig.axes:
        if len(ax.get_title()) > 70:
            ax.set_title(_break_title(ax.get_title()), fontsize=ax.title.get_fontsize())
    return fig


def _break_title(title: str, width: int = 70) -> str:
    """A long panel title on two lines, broken after the '; ' nearest its middle (a phrase boundary), else
    wrapped at ``width``."""
    import textwrap

    cuts = [i for i in range(len(title)) if title.startswith("; ", i)]
    if cuts:
        i = min(cuts, key=lambda j: abs(j - len(title) / 2))
        if max(i + 1, len(title) - i - 2) <= width + 10:
            return title[:i + 1] + "\n" + title[i + 2:]
    return textwrap.fill(title, width)


def render(name: str, data_path: str | Path, out_png: str | Path | None = None) -> Path:
    """Draw figure ``name`` from the CSV at ``data_path``; write ``out_png`` (default: same stem, .png)."""
    _FIGURES.get_checked(name)
    data_path = Path(data_path)
    if not data_path.exists():
        raise FileNotFoundError(f"figure {name!r} needs its data file {data_path}; run the check or sweep that writes it")
    try:
        fig = draw(name, pd.read_csv(data_path))
    except ValueError as e:
        raise ValueError(str(e).replace("its data", str(data_path), 1)) from None
    out = Path(out_png) if out_png else data_path.with_suffix(".png")
    if fig.get_layout_engine() is None:  # a figure that chose its own layout (constrained: a legend outside) keeps it
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
