"""Dynamic sparse training started from random ER masks (Gadhikar et al. 2023, practical claim: random ER masks
are a good start for every sparse method, and the search can be confined to a fixed random mask).

LeNet-300-100 (real MNIST, mnist5k) and a small conv net (digits) are trained at a fixed global density with
RigL (Evci et al. 2020: magnitude drop, gradient regrowth, cosine drop fraction 0.3 -> 0 at 75% of training) or
SET (Mocanu et al. 2018: random regrowth), starting from exact-count ER masks (ERK, balanced, ...), from a
dense-pruned start (SNIP scores on the dense initialisation), and, for RigL, with regrowth confined to a balanced
ER super-mask of density 0.5; static training of the same starts is the baseline. Adam, lr 1e-3, batch 128, the
final epoch's test accuracy for every arm (no model selection). The quick grid is a smoke run (`verify --quick
--train`, about 1 min on 2 cores; a plain quick run re-judges its published figures/dst.csv): six arms (static ERK; RigL from ERK, balanced and SNIP; confined RigL; SET from ERK) at one density per arch, 4 (mlp) or
6 (conv) epochs; the full run trains all 14 arms at three densities for 15 / 25 epochs. Every verdict rests on >= 3 seeds (quick) or 5
(full; 10 for the four RigL arms the rows compare, as 5 left them short of power 0.95): the seed-paired mean difference and its 95% t-interval must lie wholly above the margin to hold (and the
row's power against its nearest rival must reach 0.9), wholly below to be violated.
"""
from __future__ import annotations

from pathlib import Path

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np
import pandas as pd

from lottery_theory.experiments.sweep import load_sweep, run_named, sweep_name
from lottery_theory.plotting import render
from lottery_theory.verdicts import (Row, paired_vs_margin, combine, finding, judge_rows, mark_rejudged,
                                     paired_margin, published_smoke, read_csv, script_main, seeds_of, trains_smoke)

STATEMENT = __doc__

MARGIN = 0.02  # "competitive" = within 2 accuracy points, as the ratio rows of prune_er; fixed before measuring
POWER_FLOOR = 0.9  # a "holds" needs >= 0.9 probability of holding when the arms are truly equal


def arm(t: pd.DataFrame) -> pd.Series:
    """A label per row: method/start, with "+super" when regrowth is confined to an ER super-mask."""
    sup = t["support_density"] if "support_density" in t else pd.Series(np.nan, index=t.index)
    return t["method"] + "/" + t["start"] + np.where(sup.notna(), "+super", "")


def _paired_rows(a: str, b: str):
    """Decision: per arch (and density), arm ``a`` minus arm ``b`` >= -MARGIN, seed-paired, with power vs the rival
    "``a`` is MARGIN worse" from the measured spread."""
    def decide(t: pd.DataFrame):
        t = t.assign(arm=arm(t))
        verdicts, parts, pws, near = [], [], [], False
        for (arch, d), g in t.groupby(["arch", "density"], sort=False):
            acc = g.pivot_table(index="seed", columns="arm", values="value")
            for need in (a, b):
                if need not in acc:
                    raise ValueError(f"the table has no arm {need!r} for {arch} at density {d:g} (arms: "
                                     f"{sorted(acc.columns)})")
            r = paired_vs_margin(acc[a], acc[b], -MARGIN)
            pws.append((r.power, r.size))
            near = near or r.near
            verdicts.append(r.verdict)
            parts.append(f"{arch} d={d:g}: {acc[a].mean():.3f} - {acc[b].mean():.3f} = {r.mean:+.3f} [{r.lo:+.3f}, "
                         f"{r.hi:+.3f}], power vs rival {r.power:.2f}, size {r.size:.2f}")
        return combine(verdicts), "; ".join(parts), {"seeds": seeds_of(t), "interval": "95% t, seed-paired",
                                                     "power": min(x[0] for x in pws), "size": max(x[1] for x in pws),
                                                     "near": near}
    return decide


def _synthetic(shift: dict, arms, n_seeds: int = 3):
    def make(rng) -> pd.DataFrame:
        rows = []
        for arch, d in (("mlp", 0.05), ("conv", 0.1)):
            for seed in range(n_seeds):
                base = 0.85 + rng.normal(0, 0.01)
                for a in arms:
                    method, rest = a.split("/")
                    start, sup = (rest.split("+") + [None])[:2]
                    rows.append({"arch": arch, "density": d, "seed": seed, "method": method, "start": start,
                                 "support_density": 0.5 if sup else np.nan,
                                 "value": base + shift.get(a, 0.0) + rng.normal(0, 0.003)})
        return pd.DataFrame(rows)
    return make


ER_VS_PRUNED = ("rigl/erk", "rigl/snip")
SUPER_VS_FREE = ("rigl/balanced+super", "rigl/balanced")

ROWS = [
    Row("dst-er-vs-pruned", "RigL from an ER start (ERK, fixed in advance) within 2 points of RigL from the "
        "dense-pruned start (SNIP on the dense init) at equal density (mlp and conv); nearest rival: the ER start "
        f"{MARGIN:g} below", f"seed-paired difference >= -{MARGIN:g}: the whole 95% interval above, and power >= "
        f"{POWER_FLOOR:g} vs the rival, to hold; wholly below to be violated", _paired_rows(*ER_VS_PRUNED),
        _synthetic({}, ER_VS_PRUNED), _synthetic({"rigl/erk": -0.03}, ER_VS_PRUNED),
        "the ER start 3 points below the dense-pruned start (just beyond the rival's 2)",
        rival=f"the ER start {MARGIN:g} below", source="dst.csv (columns arch, density, method, start, support_density, seed, value = test accuracy)"),
    Row("dst-in-er-support", "RigL with regrowth confined to a balanced ER super-mask of density 0.5 within 2 points "
        "of free RigL from a balanced start (mlp and conv); nearest rival: confined RigL "
        f"{MARGIN:g} below", f"seed-paired difference >= -{MARGIN:g} (95% interval and power, as above)",
        _paired_rows(*SUPER_VS_FREE), _synthetic({}, SUPER_VS_FREE),
        _synthetic({"rigl/balanced+super": -0.03}, SUPER_VS_FREE),
        "confined RigL 3 points below free RigL", rival=f"confined RigL {MARGIN:g} below", source="dst.csv (columns arch, density, method, start, support_density, seed, value = test accuracy)"),
]


def judge(out_dir: Path) -> list:
    t = read_csv(Path(out_dir) / "dst.csv", ["arch", "density", "method", "start", "seed", "value"])
    if "support_density" not in t:
        t["support_density"] = np.nan
    t = t.assign(arm=arm(t))
    means = t.groupby(["arch", "density", "arm"])["value"].mean()
    gains = []
    for (arch, d), g in t.groupby(["arch", "density"], sort=False):
        acc = g.pivot_table(index="seed", columns="arm", values="value")
        for start in ("erk", "balanced", "snip"):
            if f"rigl/{start}" in acc and f"static/{start}" in acc:
                _, m, lo, hi = paired_margin(acc[f"rigl/{start}"], acc[f"static/{start}"], 0.0)
                gains.append(f"{arch} d={d:g} {start}: {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    return [
        *judge_rows(ROWS, {"dst-er-vs-pruned": t, "dst-in-er-support": t}),
        finding("dst-gain", "RigL minus static training of the same start (seed-paired mean, 95% t-interval)",
                "; ".join(gains), seeds=seeds_of(t)),
        finding("dst-arms", "test accuracy by arm (mean over seeds)",
                "; ".join(f"{a} d={d:g} {k} {v:.3f}" for (a, d, k), v in means.items()), seeds=seeds_of(t)),
    ]


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list:
    if not trains_smoke(quick):  # the quick run re-judges the published smoke-run table (`verify --quick --train`)
        published_smoke(out_dir, ["dst.csv"])  # and its figure
        return mark_rejudged(judge(out_dir))
    name = sweep_name("dst", quick)
    store = run_named([name])
    t = load_sweep(name, store)
    t = t[t["metric"] == "test_accuracy"].copy()
    if "support_density" not in t:
        t["support_density"] = np.nan
    t.to_csv(out_dir / "dst.csv", index=False)
    render("dst", out_dir / "dst.csv")
    return judge(out_dir)


if __name__ == "__main__":
    script_main(globals())
