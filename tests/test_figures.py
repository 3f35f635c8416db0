"""What each figure draws, read from the matplotlib objects (not the PNG): the elements a referee needs to read
it (axis labels, a legend, seeds stated, grayscale-distinguishable curves) and, per figure, the reference lines
and rival laws that its README claim and its verdict rows refer to. Drawn from the committed CSVs in figures/
(figures/full/ where a figure exists only on the full grid)."""
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D

from lottery_theory.plotting import available_figures, draw

ROOT = Path(__file__).resolve().parents[1]


def _csv(name: str) -> Path:
    for d in (ROOT / "figures", ROOT / "figures" / "full"):
        if (d / f"{name}.csv").exists():
            return d / f"{name}.csv"
    raise AssertionError(f"no committed CSV for figure {name!r}")


def _texts(fig) -> str:
    """Every string a reader sees: titles, axis labels, legend entries, annotations."""
    out = [fig._suptitle.get_text() if fig._suptitle else "", fig._supxlabel.get_text() if fig._supxlabel else "",
           fig._supylabel.get_text() if fig._supylabel else ""]
    legends = list(fig.legends)
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_xticklabels()]
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    for leg in legends:
        out += [t.get_text() for t in leg.get_texts()] + [leg.get_title().get_text()]
    return "\n".join(out)


def _legend_entries(fig) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [t.get_text() for leg in legends for t in leg.get_texts()]


def _hlines(fig) -> list[float]:
    """y of every horizontal reference line (axhline: two points at one y spanning the axes)."""
    ys = []
    for ax in fig.axes:
        for ln in ax.lines:
            y = np.asarray(ln.get_ydata(), dtype=float)
            x = np.asarray(ln.get_xdata(), dtype=float)
            if len(y) == 2 and y[0] == y[1] and (x[0], x[1]) == (0.0, 1.0):
                ys.append(float(y[0]))
    return ys


# What each figure must show beyond the common elements: legend/label substrings (the rival laws and bounds the
# README and the verdict rows name) and horizontal reference lines (the thresholds, in data units).
EXPECT = {
    "construction_scaling": dict(text=["k_min", "1/log(1/(1-p^2/2))", "lower bound"]),
    "dst": dict(text=["margin", "static", "RigL", "SET", "ER super-mask"]),
    "edge_popup_class": dict(text=["mean, 95% t-interval", "one seed", "margin", "source p=0.5", "source p=0.2"]),
    "edge_popup_teacher": dict(text=["predicted width", "rho(p)"]),
    "layer_ratios": dict(text=["uniform", "er", "erk", "balanced", "pyramidal", "reference"], hlines=[0.1]),
    "lower_bound": dict(text=["simulation", "n*"], hlines=[0.95, 1.0]),
    "lueker": dict(text=["density p", "eps = 0.01", "trials per (eps, p), seed 202"], hlines=[0.9]),
    "lueker_scaling": dict(text=["1/log(1/(1-p))", "n(1) / p"]),
    "ratio_comparison": dict(text=["uniform", "er", "erk", "balanced", "pyramidal"]),
    "representation": dict(text=["exact", "union bound", "simulation"]),
    "sparse_to_sparse": dict(text=["dense start", "ER 0.5 start"]),
    "ticket_error_width": dict(text=["certified upper", "attack lower", "eps = 0.01"], hlines=[0.01]),
    "ticket_sparsity": dict(text=["kept ticket / target", "ER source / target"]),
    "ticket_wide": dict(text=["rho(p) = 1/log(1/(1-p))", "rho(p)^1.5 (nearest rival)",
                              "no width of the grid certified"]),
    "ticket_width_scaling": dict(text=["1/log(1/(1-p))", "1/log(1/(1-p^2/2))", "k_min"]),
    "ticket_l1_width": dict(text=["4 inputs", "16 inputs", "(first block, claim)", "(nearest rival)",
                                  "rho(p) = 1/log(1/(1-p))", "seeds"]),
}


def test_every_registered_figure_has_expectations():
    assert sorted(EXPECT) == sorted(available_figures())


CASES = [(n, d) for n in sorted(EXPECT) for d in ("figures", "figures/full") if (ROOT / d / f"{n}.csv").exists()]


@pytest.mark.parametrize("name,folder", CASES)
def test_figure_content(name, folder):
    df = pd.read_csv(ROOT / folder / f"{name}.csv")
    fig = draw(name, df)
    try:
        data_axes = [ax for ax in fig.axes if ax.lines or ax.collections or ax.patches]
        assert data_axes, f"{name}: nothing drawn"
        # axis labels: every panel's x axis labelled (or one label for the figure), the first panel's y axis
        for ax in data_axes:
            assert ax.get_xlabel() or (fig._supxlabel and fig._supxlabel.get_text()), f"{name}: x axis unlabelled"
        assert data_axes[0].get_ylabel() or (fig._supylabel and fig._supylabel.get_text()), f"{name}: no y label"
        entries = _legend_entries(fig)
        assert len(entries) >= 2, f"{name}: a legend with at least two entries is needed, got {entries}"
        text = _texts(fig)
        # seeds stated wherever the data has several
        if "seed" in df and df["seed"].nunique() > 1:
            assert "seed" in text, f"{name}: {df['seed'].nunique()} seeds in the data, none mentioned"
        # grayscale: no two legend curves share marker, line style and grey
        legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        keys = [(h.get_marker(), h.get_linestyle(), str(h.get_color()), h.get_markerfacecolor() if h.get_marker()
                 not in ("None", "", None) else None)
                for leg in legends for h in leg.legend_handles if isinstance(h, Line2D)]
        dup = {k for k in keys if keys.count(k) > 1}
        assert not dup, f"{name}: legend curves indistinguishable in grayscale: {dup}"
        for s in EXPECT[name].get("text", []):
            assert s in text, f"{name}: expected {s!r} among its labels/legend"
        hl = _hlines(fig)
        for y in EXPECT[name].get("hlines", []):
            assert any(abs(v - y) <= 1e-12 * max(1.0, abs(y)) for v in hl), f"{name}: no reference line at {y} ({hl})"
    finally:
        plt.close(fig)


def test_the_class_gap_margin_line_is_the_rows_margin():
    """The dashed line of edge_popup_class sits MARGIN below the dense source's mean, MARGIN being the class-gap
    row's own constant (proofs_checks/edge_popup_er.py), so the figure shows what the row decides against."""
    import importlib

    from lottery_theory.plotting.training import CLASS_MARGIN

    check = importlib.import_module("proofs_checks.edge_popup_er")
    assert CLASS_MARGIN == check.MARGIN
    df = pd.read_csv(_csv("edge_popup_class"))
    fig = draw("edge_popup_class", df)
    try:
        for ax, arch in zip(fig.axes, sorted(df["arch"].unique(), reverse=True)):
            dense = df[(df["arch"] == arch) & (df["label"] == "edge-popup, source p=1.0")]["value"].mean()
            assert any(abs(y - (dense - 0.03)) < 1e-12 for y in _hlines_of(ax))
    finally:
        plt.close(fig)


def test_the_teacher_level_line_is_the_rows_level():
    """edge_popup_teacher's dashed line sits at the geometric mean over seeds of row teacher-width's per-seed levels
    (proofs_checks/edge_popup_er.py level_of: twice each seed's dense relative MSE at the widest width); the
    figure holds its own copy of the factor, this keeps them equal."""
    import importlib

    from lottery_theory.plotting.training import TEACHER_LEVEL_FACTOR

    check = importlib.import_module("proofs_checks.edge_popup_er")
    assert TEACHER_LEVEL_FACTOR == check.LEVEL_FACTOR
    df = pd.read_csv(_csv("edge_popup_teacher"))
    fig = draw("edge_popup_teacher", df)
    try:
        hl = [float(ln.get_ydata()[0]) for ln in fig.axes[0].lines if len(ln.get_ydata()) == 2
              and ln.get_ydata()[0] == ln.get_ydata()[1]]
        want = float(np.exp(np.mean(np.log(list(check.level_of(df).values())))))
        assert any(abs(y - want) < 1e-12 for y in hl), (hl, want)
    finally:
        plt.close(fig)


def _hlines_of(ax) -> list[float]:
    return [float(ln.get_ydata()[0]) for ln in ax.lines if len(ln.get_ydata()) == 2
            and ln.get_ydata()[0] == ln.get_ydata()[1] and tuple(ln.get_xdata()) == (0.0, 1.0)]


def test_render_names_the_file_when_a_column_is_missing(tmp_path):
    p = tmp_path / "ticket_sparsity.csv"
    pd.read_csv(_csv("ticket_sparsity")).drop(columns=["kept_ratio"]).to_csv(p, index=False)
    from lottery_theory.plotting import render

    with pytest.raises(ValueError, match=r"ticket_sparsity.csv lacks column .*kept_ratio"):
        render("ticket_sparsity", p)


@pytest.mark.parametrize("name,folder", CASES)
def test_no_text_is_cut_off(name, folder):
    """After the layout render() applies, every title, axis label, legend and suptitle lies inside the figure (a
    referee found clipped titles and labels), and no two panel titles overlap each other."""
    fig = draw(name, pd.read_csv(ROOT / folder / f"{name}.csv"))
    try:
        if fig.get_layout_engine() is None:  # as render() does
            fig.tight_layout()
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        box = fig.bbox
        texts = ([fig._suptitle] if fig._suptitle is not None else []) + list(fig.legends)
        for ax in fig.axes:
            texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
            if ax.get_legend() is not None:
                texts.append(ax.get_legend())
        cut = []
        for t in texts:
            if t is None or (hasattr(t, "get_text") and not t.get_text()):
                continue
            b = t.get_window_extent(r)
            if b.x0 < box.x0 - 1 or b.x1 > box.x1 + 1 or b.y0 < box.y0 - 1 or b.y1 > box.y1 + 1:
                cut.append(t.get_text() if hasattr(t, "get_text") else "legend")
        assert not cut, f"{name}: cut off: {cut}"
        titles = [ax.title.get_window_extent(r) for ax in fig.axes if ax.get_title()]
        overlaps = [(i, j) for i in range(len(titles)) for j in range(i + 1, len(titles)) if titles[i].overlaps(titles[j])]
        assert not overlaps, f"{name}: panel titles overlap"
    finally:
        plt.close(fig)


def test_long_panel_titles_break_at_a_phrase_boundary():
    from lottery_theory.plotting.core import _break_title

    t = "2L tickets for 10-20-20-1 targets, eps = 0.01 certified; reference lines anchored at p = 0.5"
    assert _break_title(t) == "2L tickets for 10-20-20-1 targets, eps = 0.01 certified;\nreference lines anchored at p = 0.5"
    assert all(len(line) <= 70 for line in _break_title("word " * 40).splitlines())


def test_seed_counts_are_stated_per_arm():
    """Figure titles state the seeds each arm has: all equal -> one number; the full run's power seeds (some arms
    with more) -> the smaller count and the larger one named, so no title claims seeds most arms lack."""
    from lottery_theory.plotting.training import seeds_phrase

    even = pd.DataFrame({"arm": ["a"] * 5 + ["b"] * 5, "seed": list(range(5)) * 2})
    assert seeds_phrase(even, ["arm"], "b") == "5"
    uneven = pd.DataFrame({"arm": ["a"] * 5 + ["b"] * 10, "seed": list(range(5)) + list(range(10))})
    assert seeds_phrase(uneven, ["arm"], "arm b") == "5 (arm b: 10)"


def test_ratio_figure_draws_the_rows_longer_budget_apart():
    """Rows trained longer than the base budget (row ratio-0.01 at 60 epochs) form their own labelled cluster and
    the title states their seeds per arm; the 15-epoch curves are drawn from the 15-epoch rows only."""
    rows = [{"arch": "conv", "ratio": r, "density": d, "epochs": 15, "seed": s, "value": 0.5}
            for r in ("balanced", "er") for d in (0.1, 0.01) for s in range(3)]
    rows += [{"arch": "conv", "ratio": r, "density": 0.01, "epochs": 60, "seed": s, "value": 0.9}
             for r in ("balanced", "er") for s in range(7 if r == "balanced" else 3)]
    fig = draw("ratio_comparison", pd.DataFrame(rows))
    text = _texts(fig)
    assert "60 epochs" in text and "15 epochs, 3 seeds" in text and "conv balanced 7" in text
    ax = fig.axes[0]
    ys = sorted({round(float(y), 3) for c in ax.containers for y in c.lines[0].get_ydata()})
    assert ys == [0.5, 0.9]  # the base curves never average in the 60-epoch rows
    plt.close(fig)
