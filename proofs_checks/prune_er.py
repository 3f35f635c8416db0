"""Dense-to-sparse methods run inside a fixed random ER mask (Gadhikar et al. 2023, practical claim).

(1) Layer-wise ratios: LeNet-300-100 (real MNIST, mnist5k) and a small conv net (digits) trained inside ER
masks of density {0.5, 0.2, 0.1, 0.05, 0.01} with ratios uniform, er, erk, balanced, pyramidal (all
hitting the global density exactly). The paper reports balanced and pyramidal competitive at high
sparsity. (2) Sparse-to-sparse vs dense-to-sparse: IMP (20% per round, rewinding to init) from a
dense start and from a balanced ER mask of density 0.5, and one-shot SNIP, SynFlow and magnitude
from both starts, at the same final densities; test accuracy and the training cost (trained
parameter-epochs) of each path. Validation picks each run's epoch; the test split is only reported.
The quick grid is a smoke run of the same pipeline (`verify --quick --train`, about 2 min on 2 cores; a plain quick
run re-judges its published CSVs in figures/): ratios at densities 0.1 and 0.01 with
5 epochs, IMP down to 0.2 and one-shot SNIP with 4 epochs; its rows are expected to be inconclusive (power below
0.9), and the full run (densities down to 0.01/0.02, 15 epochs, 5 seeds) decides. Row ratio-0.01 reads density 0.01
at the longest budget in the table: the full run trains 60 epochs there (15 left the nets mid-transient on held-out
seeds) with 49 (conv) / 14 (mlp) seeds for the two compared arms, sized by a power analysis on held-out seeds
(figures/full/ratio_row_calibration.csv, experiments/builtin/ratio_train.py); the 15-epoch result is kept as
finding ratio-0.01-base.
Every verdict rests on >= 3 seeds (quick) or 5 (full): the seed-paired mean difference and its 95% t-interval
must lie wholly on the claim's side of the margin to hold, wholly on the other side to be violated.
"""
from __future__ import annotations

from pathlib import Path

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np
import pandas as pd

from lottery_theory.experiments.builtin.ratio_train import RATIOS
from lottery_theory.experiments.sweep import load_sweep, run_named, sweep_name
from lottery_theory.plotting import render
from lottery_theory.verdicts import (Row, paired_vs_margin, combine, finding, judge_rows, mark_rejudged,
                                     published_smoke, read_csv, rows_at, script_main, seeds_of, trains_smoke)

STATEMENT = __doc__


MARGIN = 0.02  # "competitive" means within 2 accuracy points, fixed before measuring
ONE_SHOT = ("snip", "synflow", "magnitude")  # the quick run has SNIP only


def decide_ratio(t: pd.DataFrame):
    """Table: arch, ratio, seed, value (test accuracy at density 0.01). Per arch, the better of balanced and
    pyramidal against the best other ratio (chosen by mean over the seeds every ratio has, so the full run's extra
    seeds for the two compared arms cannot tip the choice), seed-paired over every seed both arms have."""
    verdicts, parts, pws = [], [], []
    for arch, g in t.groupby("arch", sort=False):
        acc = g.pivot_table(index="seed", columns="ratio", values="value")
        means = acc.dropna().mean() if len(acc.dropna()) else acc.mean()
        bp = means[["balanced", "pyramidal"]].idxmax()
        other = means.drop(["balanced", "pyramidal"]).idxmax()
        r = paired_vs_margin(acc[bp], acc[other], -MARGIN)
        pws.append((r.power, r.size, r.near))
        verdicts.append(r.verdict)
        parts.append(f"{arch}: {bp} - {other} = {r.mean:+.3f} [{r.lo:+.3f}, {r.hi:+.3f}] over "
                     f"{len(acc[[bp, other]].dropna())} seeds, power {r.power:.2f} (means on the "
                     f"{len(acc.dropna())} seeds every ratio has: "
                     + ", ".join(f"{k} {x:.3f}" for k, x in means.items()) + ")")
    return combine(verdicts), "; ".join(parts), _extras(t, pws)


def decide_imp(t: pd.DataFrame):
    """Table: arch, start_density (1.0 dense, < 1 ER), seed, value, trained_param_epochs at the final density."""
    verdicts, parts, pws = [], [], []
    for arch, g in t.groupby("arch", sort=False):
        acc = g.pivot_table(index="seed", columns="start_density", values="value")
        cost = g.groupby("start_density")["trained_param_epochs"].mean()
        er = min(c for c in acc.columns if c < 1)
        r = paired_vs_margin(acc[er], acc[1.0], -MARGIN)
        pws.append((r.power, r.size, r.near))
        verdicts.append(r.verdict)
        parts.append(f"{arch}: ER {acc[er].mean():.3f} - dense {acc[1.0].mean():.3f} = {r.mean:+.3f} [{r.lo:+.3f}, "
                     f"{r.hi:+.3f}], power {r.power:.2f}, cost {cost[er] / cost[1.0]:.2f}x")
    return combine(verdicts), "; ".join(parts), _extras(t, pws)


def _extras(t: pd.DataFrame, pws: list) -> dict:
    """Seeds, interval kind, and the weakest power / largest size over the row's comparisons."""
    return {"seeds": seeds_of(t), "interval": "95% t, seed-paired", "power": min(x[0] for x in pws),
            "size": max(x[1] for x in pws), "near": any(x[2] for x in pws)}


def _acc_table(rng, shift: dict, key: str, levels, n_seeds: int = 3) -> pd.DataFrame:
    rows = []
    for arch in ("mlp", "conv"):
        for seed in range(n_seeds):
            base = 0.8 + rng.normal(0, 0.01)
            for lv in levels:
                rows.append({"arch": arch, key: lv, "seed": seed, "trained_param_epochs": 1.0,
                             "value": base + shift.get(lv, 0.0) + rng.normal(0, 0.003)})
    return pd.DataFrame(rows)


ROWS = [
    Row("ratio-0.01", "density 0.01 (mlp and conv) at the row's budget (full: 60 epochs): balanced or pyramidal "
        "within 2 points of the best other ratio",
        f"seed-paired difference >= -{MARGIN:g}: the whole 95% interval above and power >= 0.9 vs the rival to "
        "hold, wholly below to be violated",
        decide_ratio, lambda rng: _acc_table(rng, {"uniform": -0.1}, "ratio", RATIOS),
        lambda rng: _acc_table(rng, {"balanced": -0.05, "pyramidal": -0.06}, "ratio", RATIOS),
        "balanced and pyramidal 5-6 points below the best ratio",
        rival=f"the better of balanced/pyramidal {MARGIN:g} below the best other ratio",
        source="ratio_comparison.csv, density 0.01 at the largest epochs in the table (columns arch, ratio, density, "
               "epochs, seed, value = test accuracy)"),
    Row("imp-er-vs-dense", "IMP inside a balanced ER mask (start 0.5) within 2 points of dense IMP at the final "
        "density (mlp and conv)", f"seed-paired difference >= -{MARGIN:g} (95% interval, as above)", decide_imp,
        lambda rng: _acc_table(rng, {0.5: 0.0}, "start_density", [1.0, 0.5]),
        lambda rng: _acc_table(rng, {0.5: -0.03}, "start_density", [1.0, 0.5]),
        "the ER start 3 points below the dense start", rival=f"the ER start {MARGIN:g} below the dense start",
        source="sparse_to_sparse.csv, method imp at the smallest density_point (columns arch, method, start_density, density_point, seed, value, trained_param_epochs)"),
]


def row_budget(r: pd.DataFrame) -> pd.DataFrame:
    """Row ratio-0.01's table: density 0.01 at the longest training budget in the CSV (the full run trains 60
    epochs there, experiments/builtin/ratio_train.py ROW_EPOCHS; the quick run has its 5-epoch smoke only)."""
    t = rows_at(r, "density", 0.01)
    return t[t["epochs"] == t["epochs"].max()]


def _base_budget(r: pd.DataFrame) -> list:
    """Finding ratio-0.01-base: density 0.01 at the base budget when the row read a longer one (full run)."""
    t = rows_at(r, "density", 0.01)
    if t["epochs"].nunique() < 2:
        return []
    t = t[t["epochs"] == t["epochs"].min()]
    m = t.groupby(["arch", "ratio"])["value"].mean()
    return [finding("ratio-0.01-base", f"density 0.01 at the base budget ({int(t['epochs'].min())} epochs; the nets "
                    "were still training, so row ratio-0.01 reads the longer budget)",
                    "; ".join(f"{a}: " + ", ".join(f"{k} {m[a, k]:.3f}" for k in RATIOS) for a in ("mlp", "conv")),
                    seeds=seeds_of(t))]


def judge(out_dir: Path) -> list:
    r = read_csv(Path(out_dir) / "ratio_comparison.csv", ["arch", "ratio", "density", "epochs", "seed", "value"])
    s = read_csv(Path(out_dir) / "sparse_to_sparse.csv", ["arch", "method", "start_density", "density_point", "seed",
                                                           "value", "trained_param_epochs"])
    final = min(s["density_point"])
    imp = s[(s["method"] == "imp") & np.isclose(s["density_point"], final)]
    acc01 = rows_at(r, "density", 0.1)
    acc01 = acc01[acc01["epochs"] == r["epochs"].min()].groupby(["arch", "ratio"])["value"].mean()
    one = s[(s["method"] != "imp") & np.isclose(s["density_point"], final)].groupby(["arch", "method", "start_density"])
    m = one["value"].mean()
    return [
        *judge_rows(ROWS, {"ratio-0.01": row_budget(r), "imp-er-vs-dense": imp}),
        finding("ratio-0.1", "accuracy by ratio at density 0.1 (mean over seeds)",
                "; ".join(f"{a}: " + ", ".join(f"{k} {acc01[a, k]:.3f}" for k in RATIOS) for a in ("mlp", "conv")),
                seeds=seeds_of(r)),
        *_base_budget(r),
        finding("one-shot", f"one-shot pruners at density {final:g}: dense start -> ER start (0.5), mean over seeds",
                "; ".join(f"{a}/{meth}: {m[a, meth, 1.0]:.3f} -> {m[a, meth, 0.5]:.3f}"
                          for a in ("mlp", "conv") for meth in ONE_SHOT if (a, meth, 1.0) in m.index),
                seeds=seeds_of(s)),
    ]


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list:
    if not trains_smoke(quick):  # the quick run re-judges the published smoke-run tables (`verify --quick --train`)
        published_smoke(out_dir, ["ratio_comparison.csv", "sparse_to_sparse.csv"])  # and their figures
        return mark_rejudged(judge(out_dir))
    ratios, s2s = sweep_name("ratios", quick), sweep_name("sparse-to-sparse", quick)
    store = run_named([ratios, s2s])
    r = load_sweep(ratios, store)
    r = r[r["metric"] == "test_accuracy"]
    r.to_csv(out_dir / "ratio_comparison.csv", index=False)
    render("ratio_comparison", out_dir / "ratio_comparison.csv")
    s = load_sweep(s2s, store)
    s.to_csv(out_dir / "sparse_to_sparse.csv", index=False)
    render("sparse_to_sparse", out_dir / "sparse_to_sparse.csv")
    return judge(out_dir)


if __name__ == "__main__":
    script_main(globals())
