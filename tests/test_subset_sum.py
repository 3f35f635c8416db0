"""Subset-sum engine: mitm is exact (vs brute force), ER presence is respected, properties hold."""
import itertools
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_theory.subset_sum import available_solvers, solve


def test_registry():
    assert {"mitm", "bruteforce", "milp", "greedy"} <= set(available_solvers())


def test_hand_instance():
    # values 0.5, 0.3, -0.2; target 0.61: subsets {0.5} 0.5, {0.5,0.3} 0.8, {0.5,0.3,-0.2} 0.6 -> best 0.6, err 0.01
    for m in ("mitm", "bruteforce", "milp"):
        r = solve([0.5, 0.3, -0.2], [0.61], method=m)
        assert r.selection.tolist() == [[True, True, True]]
        assert r.error[0] == pytest.approx(0.01)
    # with max_size=2 the best is {0.5} (0.11 away) or {0.5, 0.3} (0.19) -> {0.5}
    r = solve([0.5, 0.3, -0.2], [0.61], max_size=2)
    assert r.selection.tolist() == [[True, False, False]] and r.error[0] == pytest.approx(0.11)


@pytest.mark.parametrize("n", [1, 2, 5, 9, 13, 16])
@pytest.mark.parametrize("with_present", [False, True])
@pytest.mark.parametrize("max_size", [None, 0, 1, 4])
def test_mitm_matches_bruteforce(n, with_present, max_size):
    rng = np.random.default_rng(n * 100 + (max_size or 0))
    B = 400
    v = rng.uniform(-1, 1, (B, n))
    t = rng.uniform(-1.5, 1.5, B)
    present = rng.random((B, n)) < 0.5 if with_present else None
    a = solve(v, t, method="mitm", present=present, max_size=max_size)
    b = solve(v, t, method="bruteforce", present=present, max_size=max_size)
    np.testing.assert_array_equal(a.error, b.error)  # both exact: identical optimum
    if present is not None:
        assert not (a.selection & ~present).any()
    if max_size is not None:
        assert a.size.max() <= max_size


def test_bruteforce_is_really_exhaustive():
    # Independent check of the reference itself with itertools on a few rows.
    rng = np.random.default_rng(7)
    v = rng.uniform(-1, 1, (20, 7))
    t = rng.uniform(-1, 1, 20)
    r = solve(v, t, method="bruteforce")
    for b in range(20):
        best = min(abs(sum(c) - t[b]) for k in range(8) for c in itertools.combinations(v[b], k))
        assert r.error[b] == pytest.approx(best, abs=1e-15)


def test_mitm_n30_shared_values():
    rng = np.random.default_rng(3)
    v = rng.uniform(-1, 1, 30)
    t = rng.uniform(-1, 1, 50)
    r = solve(v, t)
    assert np.all(r.error < 1e-5)  # 2^30 sums over a range of width ~15 leave gaps ~1e-8
    np.testing.assert_allclose(r.sums, r.selection @ v, rtol=0, atol=1e-12)


def test_milp_agrees_within_tolerance():
    rng = np.random.default_rng(11)
    v = rng.uniform(-1, 1, (6, 12))
    t = rng.uniform(-1, 1, 6)
    p = rng.random((6, 12)) < 0.8
    a = solve(v, t, method="mitm", present=p, max_size=5)
    b = solve(v, t, method="milp", present=p, max_size=5)
    assert np.all(b.error >= a.error - 1e-12)  # mitm is optimal
    assert np.all(b.error - a.error <= 1e-5)  # HiGHS's absolute MIP gap is ~1e-6
    assert not (b.selection & ~p).any() and b.size.max() <= 5


def test_greedy_is_feasible_and_no_better_than_optimum():
    rng = np.random.default_rng(5)
    v = rng.uniform(-1, 1, (300, 12))
    t = rng.uniform(-1, 1, 300)
    p = rng.random((300, 12)) < 0.7
    g = solve(v, t, method="greedy", present=p, max_size=3)
    o = solve(v, t, method="mitm", present=p, max_size=3)
    assert np.all(g.error >= o.error - 1e-12) and not (g.selection & ~p).any() and g.size.max() <= 3


def test_empty_instances_give_the_empty_sum():
    r = solve(np.ones((3, 4)), [0.5, -2.0, 1.0], present=np.zeros((3, 4), bool))
    assert not r.selection.any() and r.sums.tolist() == [0, 0, 0] and r.error.tolist() == [0.5, 2.0, 1.0]
    r = solve(np.zeros((2, 0)), [0.5, 0.1])
    assert r.selection.shape == (2, 0) and r.error.tolist() == [0.5, 0.1]


def test_torch_inputs_numpy_outputs():
    r = solve(torch.tensor([[0.25, 0.5]]), torch.tensor([0.75]), present=torch.tensor([[True, True]]))
    assert isinstance(r.selection, np.ndarray) and r.error[0] == 0.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        solve([0.1, np.nan], [0.0])
    with pytest.raises(ValueError, match="targets contains NaN or inf"):
        solve([0.1, 0.2], [np.inf])
    with pytest.raises(ValueError, match="present must have the shape"):
        solve(np.ones((2, 3)), [0, 0], present=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="at most 20 present items"):
        solve(np.ones((1, 21)), [0.0], method="bruteforce")
    with pytest.raises(ValueError, match="at most 44 present"):
        solve(np.ones((1, 45)), [0.0])
    with pytest.raises(ValueError, match="available: .*mitm"):
        solve([0.1], [0.1], method="gurobi")
    with pytest.raises(ValueError, match="values must be"):
        solve(np.ones((3, 2)), [0.0, 1.0])
    # many items but few present is fine: the limit is on present items
    p = np.zeros((1, 60), bool)
    p[0, :10] = True
    assert solve(np.full((1, 60), 0.1), [0.3], present=p).error[0] == pytest.approx(0.0, abs=1e-15)


def test_memory_is_bounded_on_large_batch():
    # 20,000 instances at n=24: unchunked, left/right sums alone would take 20000*2*4096*8 B = 1.3 GB.
    rng = np.random.default_rng(0)
    v = rng.uniform(-1, 1, (20000, 24))
    t = rng.uniform(-1, 1, 20000)
    tracemalloc.start()
    solve(v, t, memory_mb=16)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 200 * 2**20  # numpy allocations; input + output + 16 MB chunks


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=0, max_size=14), st.floats(-3, 3),
       st.lists(st.booleans(), min_size=14, max_size=14), st.one_of(st.none(), st.integers(0, 6)))
def test_property_sum_of_selection(vals, target, pres, max_size):
    v = np.array(vals, dtype=float)
    p = np.array(pres[: len(v)], dtype=bool)
    r = solve(v[None, :] if len(v) else np.zeros((1, 0)), [target], present=p[None, :] if len(v) else None,
              max_size=max_size)
    assert r.sums[0] == pytest.approx(float(v[r.selection[0]].sum()) if len(v) else 0.0, abs=1e-12)
    assert r.error[0] == pytest.approx(abs(r.sums[0] - target), abs=1e-12)
    if len(v):
        assert not (r.selection[0] & ~p).any()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=1, max_size=16), st.data())
def test_property_reachable_target_has_zero_error(vals, data):
    v = np.array(vals)
    chosen = np.array(data.draw(st.lists(st.booleans(), min_size=len(v), max_size=len(v))))
    target = float(v[chosen].sum())
    r = solve(v, [target])
    assert r.error[0] <= 1e-12


def test_milp_front_end_solvers_agree_with_the_exact_optimum():
    # cvxpy front end (HiGHS and scipy's HiGHS through cvxpy) and the direct scipy path: all within HiGHS's gap
    rng = np.random.default_rng(21)
    v = rng.uniform(-1, 1, (4, 10))
    t = rng.uniform(-1, 1, 4)
    p = rng.random((4, 10)) < 0.8
    exact = solve(v, t, present=p, max_size=4)
    for method, kw in (("milp", {}), ("milp", {"solver": "SCIPY"}), ("milp-scipy", {})):
        r = solve(v, t, method=method, present=p, max_size=4, **kw)
        assert np.all(r.error >= exact.error - 1e-12) and np.all(r.error - exact.error <= 1e-5), (method, kw)
        assert not (r.selection & ~p).any() and r.size.max() <= 4
    with pytest.raises(ValueError, match="installed cvxpy solver.*HIGHS"):
        solve(v, t, method="milp", solver="NOPE")
