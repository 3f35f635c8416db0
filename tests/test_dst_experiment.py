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
