"""The compiled kernel (issue 17): exact against brute force for every objective and cap, identical to the
batched torch path, deterministic across thread counts, and optional (the fallback runs without it)."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_theory.subset_sum import kernel, solve

pytestmark = pytest.mark.skipif(not kernel.AVAILABLE, reason="numba not installed")


@pytest.mark.parametrize("n", [0, 1, 2, 3, 8, 11, 15])
@pytest.mark.parametrize("max_size", [None, 0, 1, 3])
def test_kernel_equals_bruteforce_min_error_and_fewest(n, max_size):
    rng = np.random.default_rng(1000 + n)
    B = 300
    v = rng.uniform(-1, 1, (B, n))
    t = rng.uniform(-2, 2, B)
    p = rng.random((B, n)) < 0.75
    sel = kernel.solve_batch(v, t, p, max_size)
    ref = solve(v, t, method="bruteforce", present=p, max_size=max_size)
    err = np.abs(np.where(sel, v, 0).sum(1) - t)
    assert not (sel & ~p).any()
    np.testing.assert_allclose(err, ref.error, rtol=0, atol=1e-13)  # sums added in another order: ulps
    for tol in (1e-6, 0.02, 0.2):  # 1e-6: nearly every row infeasible (the kernel's plain-scan shortcut)
        sel = kernel.solve_batch(v, t, p, max_size, tol)
        ref = solve(v, t, method="bruteforce", present=p, max_size=max_size, objective="fewest", tol=tol)
        err = np.abs(np.where(sel, v, 0).sum(1) - t)
        ok = ref.error <= tol
        np.testing.assert_array_equal(sel.sum(1)[ok], ref.size[ok])  # the smallest feasible size, exactly
        np.testing.assert_allclose(err, ref.error, rtol=0, atol=1e-13)
        if max_size is not None:
            assert sel.sum(1).max() <= max_size


def test_kernel_equals_batched_path_at_n24_with_presence():
    rng = np.random.default_rng(5)
    v = rng.uniform(-1, 1, (160, 30))  # 160 problems (500 took ~30 s of CI for the same coverage)
    t = rng.uniform(-1, 1, 160)
    p = rng.random((160, 30)) < 0.8  # up to 30 present: both halves up to 2^15 sums
    a = solve(v, t, present=p)
    b = solve(v, t, present=p, batched=True)
    np.testing.assert_allclose(a.error, b.error, rtol=0, atol=1e-13)
    a = solve(v, t, present=p, objective="fewest", tol=1e-3)
    b = solve(v, t, present=p, objective="fewest", tol=1e-3, batched=True)
    np.testing.assert_array_equal(a.size, b.size)


def test_thread_count_does_not_change_results():
    rng = np.random.default_rng(9)
    v = rng.uniform(-1, 1, (2000, 18))
    t = rng.uniform(-1, 1, 2000)
    p = np.ones(v.shape, bool)
    one = kernel.solve_batch(v, t, p, None, n_threads=1)
    for k in (2, 3, 7):
        np.testing.assert_array_equal(kernel.solve_batch(v, t, p, None, n_threads=k), one)
    np.testing.assert_array_equal(kernel.solve_batch(v, t, p, 4, 1e-3, n_threads=1),
                                  kernel.solve_batch(v, t, p, 4, 1e-3, n_threads=5))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(-1, 1, allow_subnormal=False), min_size=0, max_size=12), st.floats(-4, 4),
       st.one_of(st.none(), st.integers(0, 5)), st.one_of(st.none(), st.floats(1e-6, 0.5)))
def test_property_kernel_is_optimal(vals, target, max_size, tol):
    v = np.array(vals, dtype=float)[None, :]
    p = np.ones(v.shape, bool)
    sel = kernel.solve_batch(v, np.array([target]), p, max_size, tol)
    kw = {} if tol is None else {"objective": "fewest", "tol": tol}
    ref = solve(v, [target], method="bruteforce", max_size=max_size, **kw)
    err = abs(float(v[0][sel[0]].sum()) - target)
    assert err == pytest.approx(ref.error[0], abs=1e-12)
    if tol is not None and ref.error[0] < tol - 1e-12:  # feasible: the smallest size is unique; infeasible rows
        assert int(sel.sum()) == int(ref.size[0])        # get a min-error subset, whose size can tie within ulps


def test_fallback_without_numba_gives_the_same_errors():
    code = ("import numpy as np; from lottery_theory.subset_sum import kernel, solve; "
            "assert not kernel.AVAILABLE; r = np.random.default_rng(2); v = r.uniform(-1, 1, (50, 16)); "
            "t = r.uniform(-1, 1, 50); print(repr(solve(v, t).error.tolist()))")
    env = {**os.environ, "LOTTERY_THEORY_NO_NUMBA": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    rng = np.random.default_rng(2)
    v = rng.uniform(-1, 1, (50, 16))
    t = rng.uniform(-1, 1, 50)
    np.testing.assert_allclose(eval(out), solve(v, t).error, rtol=0, atol=1e-13)


def test_bad_thread_settings():
    with pytest.raises(TypeError, match="batched"):
        solve([0.1, 0.2], [0.1], batched="yes")
    env = {**os.environ, "LOTTERY_THEORY_THREADS": "zero"}
    code = "from lottery_theory.subset_sum import kernel; kernel.threads()"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode != 0 and "LOTTERY_THEORY_THREADS must be a positive integer" in r.stderr


def test_milp_prints_nothing(capfd):
    rng = np.random.default_rng(1)
    solve(rng.uniform(-1, 1, (3, 16)), rng.uniform(-1, 1, 3), method="milp")
    out, err = capfd.readouterr()
    assert "Highs" not in out + err and out == ""


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device")
def test_cuda_batched_path_equals_cpu_kernel():
    rng = np.random.default_rng(4)
    v = rng.uniform(-1, 1, (2000, 20))
    t = rng.uniform(-1, 1, 2000)
    np.testing.assert_allclose(solve(v, t, device="cuda").error, solve(v, t).error, rtol=0, atol=1e-13)
    a = solve(v, t, device="cuda", objective="fewest", tol=1e-4)
    np.testing.assert_array_equal(a.size, solve(v, t, objective="fewest", tol=1e-4).size)


def test_fewest_with_a_tiny_budget_still_finds_an_exact_small_subset():
    """A budget far below the expected nearest error sends the row to the plain scan first; when a subset does
    meet it (here sums that hit the target exactly), the row must still get the *fewest* items: {0.5} (one item)
    rather than {0.25, 0.25} or {0.125, 0.375} (two), whatever else is present."""
    rng = np.random.default_rng(7)
    B, n = 50, 18
    v = rng.uniform(-1, 1, (B, n))
    v[:, :5] = [0.25, 0.125, 0.5, 0.375, 0.25]
    t = np.full(B, 0.5)
    p = np.ones((B, n), bool)
    sel = kernel.solve_batch(v, t, p, None, 1e-15)
    err = np.abs(np.where(sel, v, 0).sum(1) - t)
    assert (err <= 1e-15).all() and (sel.sum(1) == 1).all()
