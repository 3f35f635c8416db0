"""The proven width of the matched layout (docs/theory.md, eq. (AD-2)): Hall's union bound, the max-flow
assignment against brute force, a simulation of the bound, and whole tickets built with it."""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_theory.bounds import required_width
from lottery_theory.bounds.widths import hall_failure, matched_k
from lottery_theory.tickets.blocks import assign_units_matched, matched_quota


def _binom_cdf_below(n_trials: int, p: float, x: int) -> float:
    """P(Bin(n_trials, p) < x), summed by hand."""
    return sum(math.comb(n_trials, i) * p ** i * (1 - p) ** (n_trials - i) for i in range(0, min(x, n_trials + 1)))


def test_hall_failure_by_hand():
    # m = 1: the only set is {input}: P(Bin(k, p) < n)
    assert hall_failure(12, 4, 1, 0.3) == pytest.approx(_binom_cdf_below(12, 0.3, 4), rel=1e-9)
    # m = 2: two singletons reached w.p. p, the pair w.p. 1 - (1-p)^2, over 2k units
    k, n, p = 7, 3, 0.4
    want = 2 * _binom_cdf_below(2 * k, p, n) + _binom_cdf_below(2 * k, 1 - (1 - p) ** 2, 2 * n)
    assert hall_failure(k, n, 2, p) == pytest.approx(want, rel=1e-9)


def test_matched_k_is_the_smallest_width_within_delta():
    for n, m, p, d in [(10, 4, 0.5, 0.01), (30, 8, 0.2, 1e-4), (30, 1, 0.3, 1e-4), (5, 20, 0.05, 0.1)]:
        k = matched_k(n, m, p, d)
        assert hall_failure(k, n, m, p) <= d < hall_failure(k - 1, n, m, p)
    assert matched_k(17, 5, 1.0, 1e-3) == 17  # a dense layer: every unit reaches every input


def _feasible(mask: np.ndarray, q: int) -> bool:
    """Brute force: is there an assignment (each unit to one reached input or none) with >= q units per input?"""
    choices = [[-1] + list(np.flatnonzero(r)) for r in mask]
    for pick in itertools.product(*choices):
        counts = np.bincount([j for j in pick if j >= 0], minlength=mask.shape[1])
        if counts.min() >= q:
            return True
    return False


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7), st.integers(1, 3), st.integers(0, 2 ** 31 - 1))
def test_matching_finds_the_max_min_share(units, n_in, seed):
    mask = np.random.default_rng(seed).random((units, n_in)) < 0.5
    best = max(q for q in range(units + 1) if _feasible(mask, q))
    got = assign_units_matched(mask, units, torch.Generator().manual_seed(seed))
    assert all(mask[u, j] for u, j in enumerate(got) if j >= 0)  # only surviving edges
    assert np.bincount(got[got >= 0], minlength=n_in).min() >= best
    assert (matched_quota(mask, best) is not None) and (matched_quota(mask, best + 1) is None)
    assert ((got >= 0) == mask.any(1)).all()  # every unit with an edge serves someone


def _hall_rate(k: int, n: int, m: int, p: float, trials: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    return float(np.mean([matched_quota(rng.random((m * k, m)) < p, n) is None for _ in range(trials)]))


def test_simulated_failure_is_within_the_bound_and_narrower_widths_fail():
    """600 real masks at the proven width: the share without a quota-n matching stays within delta_a (99% one-sided
    tolerance), and at half the width most draws fail (the test can tell)."""
    n, m, p, d = 12, 6, 0.3, 0.05
    k = matched_k(n, m, p, d)
    trials = 600
    rate = _hall_rate(k, n, m, p, trials)
    # if the true failure were delta_a, the share would exceed it by 2.576 standard errors with probability 0.5%
    assert rate <= d + 2.576 * math.sqrt(d * (1 - d) / trials), rate
    assert _hall_rate(max(1, k // 2), n, m, p, 200) > 0.5


def test_matched_width_is_at_least_the_heuristic_mean_and_covers_the_union_bound():
    ws = [10, 20, 20, 1]
    for p in (0.5, 0.2, 0.1):
        km = required_width(ws, 0.01, 0.01, p, assignment="adaptive")[1] // 11
        ka = required_width(ws, 0.01, 0.01, p, assignment="greedy")[1] // 11
        assert km >= ka - 1  # the proof adds a concentration margin to the mean (AD-1 adds one unit)
        assert required_width(ws, 0.01, 0.01, p, assignment="matched") == required_width(ws, 0.01, 0.01, p)
    assert required_width(ws, 0.01, 0.01, 1.0, assignment="matched") == required_width(ws, 0.01, 0.01, 1.0,
                                                                                         assignment="fixed")


def test_construct_matched_is_certified_at_its_width():
    from lottery_theory.tickets import construct

    torch.manual_seed(0)
    target = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with torch.no_grad():
        target[0].weight.uniform_(-0.5, 0.5)
        target[0].bias.uniform_(-0.3, 0.3)
    tk = construct(target, density=0.5, eps=0.05, assignment="matched", generator=torch.Generator().manual_seed(1))
    assert tk.failures == 0
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(2), restarts=2, steps=20)
    assert br.lower <= br.upper <= 0.05
    with pytest.raises(ValueError, match="'greedy'"):
        construct(target, density=0.5, eps=0.05, assignment="diagonal")
    # "matched" is adaptive's former name: the same ticket, bit for bit
    a = construct(target, density=0.5, eps=0.05, assignment="adaptive", generator=torch.Generator().manual_seed(1))
    assert torch.equal(a.network[0].weight, tk.network[0].weight) and torch.equal(a.network[2].mask, tk.network[2].mask)


def test_greedy_shortcut_and_max_flow_both_reach_the_max_quota_by_hand():
    """Unit 0 reaches inputs {0, 1}, unit 1 only input 0: quota 1 each is possible (0 -> 1, 1 -> 0) and is the
    most (2 units, 2 inputs). The greedy pass attains it when unit 1 goes first and falls short (both units on
    input 0) when unit 0 picks input 0 first; then one move repairs it. Every generator must give (1, 0)."""
    mask = np.array([[True, True], [True, False]])
    for seed in range(40):
        got = assign_units_matched(mask, 2, torch.Generator().manual_seed(seed))
        assert got.tolist() == [1, 0], (seed, got)


def test_single_moves_fill_short_inputs_or_hand_over_to_max_flow_by_hand():
    """_fill_deficits by hand. (a) Units 0 -> {0, 1}, 1 -> {0}; greedy put both on input 0 (load 2, 0): unit 0
    moves to input 1. (b) Units 0 -> {0}, 1 -> {0, 1}, 2 -> {1, 2}, assigned 0, 0, 1 (loads 2, 1, 0): input 2 is
    reached only by unit 2, whose input has exactly the quota 1, so no single move helps (None); the only
    assignment with quota 1 is 0 -> 0, 1 -> 1, 2 -> 2 (a two-step path), which every generator must reach (max-flow
    decides for 6 of the 40)."""
    from lottery_theory.tickets.blocks import _fill_deficits

    m2 = np.array([[True, True], [True, False]])
    assert _fill_deficits(m2, np.array([0, 0]), 1, np.array([0, 1])).tolist() == [1, 0]
    m3 = np.array([[True, False, False], [True, True, False], [False, True, True]])
    assert _fill_deficits(m3, np.array([0, 0, 1]), 1, np.array([0, 1, 2])) is None
    assert _fill_deficits(m3, np.array([0, 1, 2]), 1, np.array([0, 1, 2])).tolist() == [0, 1, 2]  # nothing short
    for seed in range(40):
        assert assign_units_matched(m3, 3, torch.Generator().manual_seed(seed)).tolist() == [0, 1, 2], seed
