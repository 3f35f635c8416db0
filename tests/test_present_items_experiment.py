"""The present-items experiment (one module in experiments/builtin/): the exact count's failure rate, measured
by simulation, is at most delta at n* and above it at n* - 1 (binomial sampling noise: 4 standard errors)."""
import math

from lottery_theory.experiments import ResultStore, run_sweep
from lottery_theory.experiments.sweep import load_sweep, sweep_from_spec, BUILTIN_SWEEPS


def test_sweep_runs_and_the_count_is_tight(tmp_path):
    store = ResultStore(tmp_path)
    spec = {**BUILTIN_SWEEPS["present-items"], "grid": {"m": [1, 10], "density": [0.5, 0.1]}}
    assert run_sweep(sweep_from_spec(spec), store=store, executor="serial", progress=False)["done"] == 4
    t = load_sweep(spec, store).pivot_table(index=["m", "density"], columns="metric", values="value")
    for (m, p), r in t.iterrows():
        se = math.sqrt(0.01 * 0.99 / 200_000)  # standard error of a rate near delta = 0.01
        assert r.exact_failure <= 0.01 < r.exact_failure_below  # exact: n* is the smallest count
        assert r.failure_rate <= 0.01 + 4 * se
        assert abs(r.failure_rate - r.exact_failure) <= 4 * se
    # hand value: m = 1, p = 0.5 -> n* = 7 (0.5^7 = 0.0078 <= 0.01 < 0.5^6 = 0.0156)
    assert t.loc[(1, 0.5), "n_star"] == 7 and math.isclose(t.loc[(1, 0.5), "exact_failure"], 0.5 ** 7)
