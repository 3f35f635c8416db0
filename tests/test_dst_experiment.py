"""The dst_train experiment and the power of the dst_er rows."""
import numpy as np
import pytest
from scipy import stats

from lottery_theory.experiments.builtin.dst_train import DSTTrainConfig, dst_grid, run_dst_train
from lottery_theory.verdicts import paired_power, powered


@pytest.mark.parametrize("sd,n,mu_gap", [(0.01, 3, 0.02), (0.01, 5, 0.02), (0.004, 3, 0.02)])
def test_paired_power_matches_noncentral_t(sd, n, mu_gap):
    """P(lower 95% t-bound >= margin) is a noncentral-t tail: (mean - margin)/(s/sqrt(n)) ~ t'(n-1, nc) with
    nc = gap / (sd/sqrt(n)); at the margin itself (nc = 0) it is exactly 0.025."""
    d = np.array([sd * z for z in stats.norm.ppf((np.arange(n) + 0.5) / n)])
    d = d / d.std(ddof=1) * sd  # a sample whose standard deviation is exactly sd
    power, size = paired_power(d, -mu_gap, n_sim=20000)
    q = stats.t.ppf(0.975, n - 1)
    assert power == pytest.approx(stats.nct.sf(q, n - 1, mu_gap / (sd / np.sqrt(n))), abs=0.015)
    assert size == pytest.approx(0.025, abs=0.005)
    assert powered("holds", power) == ("holds" if power >= 0.9 else "inconclusive")


def test_dst_train_runs_every_arm_kind():
    rows = run_dst_train(DSTTrainConfig(arch="conv", method="rigl", start="balanced", support_density=0.5, density=0.2,
                                        epochs=2, update_interval=5))
    assert rows[0]["metric"] == "test_accuracy" and 0.0 <= rows[0]["value"] <= 1.0
    assert rows[0]["mask_updates"] == 3  # 11 steps per epoch (1,294 images, batch 128), 22 in all: 5, 10, 15 <= 16.5
    static = run_dst_train(DSTTrainConfig(arch="conv", method="static", start="snip", density=0.2, epochs=1))
    assert static[0]["mask_updates"] == 0
    with pytest.raises(ValueError, match="support_density"):
        DSTTrainConfig(method="static", support_density=0.5)
    with pytest.raises(ValueError, match="start"):
        DSTTrainConfig(start="dense")
    quick = dst_grid(True)["configs"]
    assert len(quick) == 36 and {c["seed"] for c in quick} == {0, 1, 2}  # 6 arms x 2 archs x 3 seeds
    full = dst_grid(False)["configs"]
    # 14 arms x 6 (arch, density) cells x 5 seeds, plus seeds 5-9 for the rows' 4 RigL arms in every cell
    assert len(full) == 14 * 6 * 5 + 4 * 6 * 5 and {c["seed"] for c in full} == set(range(10))
    extra = {(c["method"], c["start"], c.get("support_density")) for c in full if c["seed"] >= 5}
    assert extra == {("rigl", "erk", None), ("rigl", "snip", None), ("rigl", "balanced", 0.5), ("rigl", "balanced", None)}
    assert len({c["seed"] for c in full if c["method"] == "static"}) == 5


def test_full_sparse_to_sparse_grid_gives_conv_imp_its_power_seeds():
    """Row imp-er-vs-dense's conv arms (IMP from the dense and the ER 0.5 start) get 15 seeds in the full run; every
    other (arch, method, start) keeps 5: 2 archs x 4 methods x 2 starts x 5 + 2 starts x 10."""
    from lottery_theory.experiments.builtin.sparse_to_sparse import sparse_to_sparse_grid

    full = sparse_to_sparse_grid(False)["configs"]
    assert len(full) == 2 * 4 * 2 * 5 + 2 * 10
    seeds = {}
    for c in full:
        seeds.setdefault((c["arch"], c["method"], c["start_density"]), set()).add(c["seed"])
    for key, s in seeds.items():
        want = set(range(15)) if key[:2] == ("conv", "imp") else set(range(5))
        assert s == want, key
    assert {c["seed"] for c in sparse_to_sparse_grid(True)["configs"]} == {0, 1, 2}


def test_full_ratio_grid_gives_row_ratio_001_its_budget_and_seeds():
    """The full run keeps its 15-epoch grid (2 archs x 5 densities x 5 ratios x 5 seeds) and adds row ratio-0.01's
    budget: density 0.01 at 60 epochs for every ratio on seeds 0-4, and balanced/er on seeds 5..218 but 100-104
    (conv: 214 per arm) and 5..13 (mlp: 14); the quick grid is untouched (2 x 2 x 5 x 3 at 5 epochs)."""
    from lottery_theory.experiments.builtin.ratio_train import ratio_grid

    spec = ratio_grid(False)
    full = [{**spec["fixed"], **c} for c in spec["configs"]]
    assert len(full) == 2 * 5 * 5 * 5 + 2 * 5 * 5 + 2 * (209 + 9)
    base = [c for c in full if c["epochs"] == 15]
    assert len(base) == 250 and {c["seed"] for c in base} == set(range(5))
    long = [c for c in full if c["epochs"] == 60]
    assert {c["density"] for c in long} == {0.01}
    seeds = {}
    for c in long:
        seeds.setdefault((c["arch"], c["ratio"]), set()).add(c["seed"])
    for (arch, ratio), s in seeds.items():
        want = set(range(5))
        if ratio in ("balanced", "er"):
            want = set(range(14)) if arch == "mlp" else set(range(219)) - set(range(100, 105))
        assert s == want, (arch, ratio)
    quick = ratio_grid(True)
    assert len(quick["configs"]) == 60 and quick["fixed"] == {"epochs": 5}
    assert all("epochs" not in c for c in quick["configs"])


def _nct_power(k, sd):
    """Power of the one-sided t decision on k seeds at paired spread sd vs the 2-point rival (noncentral t)."""
    return stats.nct.sf(stats.t.ppf(0.975, k - 1), k - 1, 0.02 / (sd / np.sqrt(k)))


def test_row_seed_counts_follow_from_the_held_out_calibration():
    """ROW_SEEDS (ROW_PILOT_SEEDS for conv) is the a-priori sample size at the paired spread of the held-out seeds
    100-104 (never judged): the smallest n whose t-interval decision reaches power 0.97 vs the 2-point rival. The
    conv extension to ROW_SEEDS is the same rule at the spread of those first 49 judged seeds (0-48). Each count is
    cross-checked against the noncentral t (scipy) just below and at the chosen n; the arms skip the calibration
    seeds, so they stay unjudged."""
    from pathlib import Path

    import pandas as pd

    from lottery_theory.evidence import paired_seeds_needed
    from lottery_theory.experiments.builtin.ratio_train import (ROW_CALIBRATION_SEEDS, ROW_DENSITY, ROW_EPOCHS,
                                                                   ROW_PILOT_SEEDS, ROW_SEEDS, row_arm_seeds)

    full = Path(__file__).parents[1] / "figures" / "full"
    cal = pd.read_csv(full / "ratio_row_calibration.csv")
    assert set(cal["seed"]) == set(ROW_CALIBRATION_SEEDS) and set(cal["epochs"]) == {ROW_EPOCHS}
    for arch, g in cal.groupby("arch"):
        acc = g.pivot(index="seed", columns="ratio", values="test_accuracy")
        sd = float((acc["balanced"] - acc["er"]).std(ddof=1))
        n = paired_seeds_needed(sd, -0.02)
        assert n == ROW_PILOT_SEEDS.get(arch, ROW_SEEDS[arch])
        assert _nct_power(n, sd) >= 0.96 and _nct_power(n - 2, sd) < 0.97
    r = pd.read_csv(full / "ratio_comparison.csv")
    r = r[(r["arch"] == "conv") & (r["density"] == ROW_DENSITY) & (r["epochs"] == ROW_EPOCHS)]
    acc = r.pivot_table(index="seed", columns="ratio", values="value")
    pilot = (acc["balanced"] - acc["er"]).loc[list(range(ROW_PILOT_SEEDS["conv"]))]
    assert pilot.notna().all()
    sd = float(pilot.std(ddof=1))
    n = paired_seeds_needed(sd, -0.02)
    assert n == ROW_SEEDS["conv"] and _nct_power(n, sd) >= 0.96 and _nct_power(n - 2, sd) < 0.97
    for arch in ROW_SEEDS:
        extra = row_arm_seeds(arch, 5)
        assert len(extra) + 5 == ROW_SEEDS[arch] and not set(extra) & set(ROW_CALIBRATION_SEEDS)
    assert set(acc[["balanced", "er"]].dropna().index) == set(range(5)) | set(row_arm_seeds("conv", 5))
    with pytest.raises(ValueError, match="sd"):
        paired_seeds_needed(0.0, -0.02)
    with pytest.raises(ValueError, match="n_max"):
        paired_seeds_needed(1.0, -0.02, n_max=10)


def test_row_ratio_001_reads_the_longest_budget():
    """Hand table: density 0.01 at 15 and 60 epochs and density 0.1; the row reads the 60-epoch rows only."""
    import pandas as pd

    from proofs_checks.prune_er import row_budget

    t = pd.DataFrame({"density": [0.01, 0.01, 0.01, 0.1], "epochs": [15, 60, 60, 60], "value": [0.1, 0.2, 0.3, 0.4],
                      "seed": [0, 0, 1, 0]})
    assert row_budget(t)["value"].tolist() == [0.2, 0.3]
