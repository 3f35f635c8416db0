"""Dense-to-sparse methods run inside a fixed random ER mask (Gadhikar et al. 2023, practical claim).

(1) Layer-wise ratios: LeNet-300-100 (digits28) and a small conv net (digits) trained inside ER
masks of density {0.5, 0.2, 0.1, 0.05, 0.01} with ratios uniform, er, erk, balanced, pyramidal (all
hitting the global density exactly). The paper reports balanced and pyramidal competitive at high
sparsity. (2) Sparse-to-sparse vs dense-to-sparse: IMP (20% per round, rewinding to init) from a
dense start and from a balanced ER mask of density 0.5, and one-shot SNIP, SynFlow and magnitude
from both starts, at the same final densities; test accuracy and the training cost (trained
parameter-epochs) of each path. Validation picks each run's epoch; the test split is only reported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lottery_theory.experiments.sweep import run_named
from lottery_theory.plotting import render
from lottery_theory.verdicts import Verdict, script_main

STATEMENT = __doc__


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list[Verdict]:
    sfx = "-quick" if quick else ""
    store = run_named(["ratios" + sfx, "sparse-to-sparse" + sfx])
    epochs = 8 if quick else 20
    r = store.load("ratio_train")
    r = r[(r["epochs"] == epochs) & (r["metric"] == "test_accuracy")]
    r.to_csv(out_dir / "ratio_comparison.csv", index=False)
    render("ratio_comparison", out_dir / "ratio_comparison.csv")
    s = store.load("sparse_to_sparse")
    s = s[s["epochs"] == epochs]
    s.to_csv(out_dir / "sparse_to_sparse.csv", index=False)
    render("sparse_to_sparse", out_dir / "sparse_to_sparse.csv")

    acc = r.groupby(["arch", "density", "ratio"])["value"].mean()
    rows = []
    for arch in ("mlp", "conv"):
        a = acc[arch, 0.01]
        best = a.max()
        bp = max(a["balanced"], a["pyramidal"])
        rows.append(Verdict(f"{arch}, density 0.01: balanced or pyramidal within 2 points of the best ratio",
                            ", ".join(f"{k} {v:.3f}" for k, v in a.items()), "best - max(balanced, pyramidal) <= 0.02",
                            "holds" if best - bp <= 0.02 else "violated"))
        a = acc[arch, 0.1]
        rows.append(Verdict(f"{arch}, density 0.1: accuracy by ratio (finding, no bound)",
                            ", ".join(f"{k} {v:.3f}" for k, v in a.items()), "-", "inconclusive"))
    final = min(s["density_point"])
    imp = s[(s["method"] == "imp")]
    for arch in ("mlp", "conv"):
        at = imp[(imp["arch"] == arch) & (np.isclose(imp["density_point"], final))].groupby("start_density")
        acc_d, acc_er = at["value"].mean()[1.0], at["value"].mean()[0.5]
        cost_d, cost_er = at["trained_param_epochs"].mean()[1.0], at["trained_param_epochs"].mean()[0.5]
        rows.append(Verdict(f"{arch}: ER-constrained IMP (start 0.5) within 2 points of dense IMP at density {final:g}",
                            f"dense start {acc_d:.3f}, ER start {acc_er:.3f} (difference {acc_er - acc_d:+.3f}); "
                            f"training cost {cost_er / cost_d:.2f}x of the dense path (trained parameter-epochs)",
                            "ER >= dense - 0.02", "holds" if acc_er >= acc_d - 0.02 else "violated"))
    one = s[(s["method"] != "imp") & np.isclose(s["density_point"], final)].groupby(["arch", "method", "start_density"])
    m = one["value"].mean()
    rows.append(Verdict(f"one-shot pruners at density {final:g}: ER start (0.5) vs dense start",
                        "; ".join(f"{a}/{meth}: {m[a, meth, 1.0]:.3f} -> {m[a, meth, 0.5]:.3f}"
                                  for a in ("mlp", "conv") for meth in ("snip", "synflow", "magnitude")),
                        "finding (dense start -> ER start)", "inconclusive"))
    return rows


if __name__ == "__main__":
    script_main(globals())
