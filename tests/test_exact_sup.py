"""The exact sup error by MILP (tickets/exact.py): against brute force on a 1-input target, inside every bracket,
and refusals."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lottery_theory.tickets import construct
from lottery_theory.tickets.construct import BudgetMissed
from lottery_theory.tickets.exact import exact_sup_error


def _ticket(widths, density, k, assignment, seed, construction="2L"):
    g = torch.Generator().manual_seed(seed)
    mods = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_((torch.rand(b, a, generator=g) * 2 - 1) * 0.6)
            lin.bias.copy_((torch.rand(b, generator=g) * 2 - 1) * 0.2)
        mods += [lin] + ([nn.ReLU()] if i < len(widths) - 2 else [])
    t = nn.Sequential(*mods)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BudgetMissed)
        return construct(t, density=density, eps=0.05, width_multiplier=k, assignment=assignment,
                         construction=construction, generator=torch.Generator().manual_seed(seed + 1))


def test_one_input_target_matches_a_dense_grid():
    """With one input the sup over [-1, 1] is found by a 200,001-point grid plus the networks' kinks: the exact
    mode (on one input: every kink of both networks) must equal it (to 1e-6) and its argmax must attain it."""
    tk = _ticket([1, 5, 1], 0.5, 8, "adaptive", 3)
    ex = exact_sup_error(tk)
    x = torch.linspace(-1, 1, 200_001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        gap = (tk.network.double()(x) - tk.target.double()(x)).abs().max().item()
    assert ex.optimal and ex.value == pytest.approx(gap, abs=1e-6) and ex.recheck == pytest.approx(ex.value, abs=1e-7)
    assert gap <= ex.bound


@settings(max_examples=12, deadline=None)
@given(st.sampled_from([[2, 3, 1], [3, 4, 2], [2, 3, 3, 1]]), st.sampled_from([1.0, 0.5, 0.2]),
       st.sampled_from([2, 4, 8]), st.sampled_from(["fixed", "adaptive"]), st.integers(0, 1000))
def test_exact_lies_inside_the_bracket(widths, density, k, assignment, seed):
    tk = _ticket(widths, density, k, assignment, seed)
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(seed), restarts=4, steps=40)
    ex = tk.sup_error((-1.0, 1.0), method="exact")
    assert ex.upper - ex.lower <= 3e-6 * max(1.0, ex.upper)  # solved to optimality (plus the 1e-6 solver margin)
    assert br.lower <= ex.upper and ex.lower <= br.upper  # both are true bounds on the same sup
    assert br.lower <= ex.lower * (1 + 3e-6) + 1e-9  # the attack does not beat the exact optimum
    x = torch.rand(20_000, widths[0], generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        sampled = (tk.network.double()(x) - tk.target.double()(x)).abs().max().item()
    assert sampled <= ex.upper + 1e-9


def test_refusals():
    tk = _ticket([2, 3, 1], 1.0, 4, "fixed", 0)
    with pytest.raises(ValueError, match="max_binaries"):
        exact_sup_error(tk, max_binaries=1)
    with pytest.raises(ValueError, match="method"):
        tk.sup_error(method="milp")
    assert np.isfinite(exact_sup_error(tk).value)


def test_l1_exact_equals_a_dense_grid_on_one_input():
    """L+1 (copy layers read through their realised coefficients, one variable per copy): on a 1-input target the
    sup over the box is the max over a 200,001-point grid up to the Lipschitz constant times half the step
    (|ticket - target| has slope <= 2 here: weights 0.6, copies summing to them); the exact value (the kinks on one
    input; the MILP path is checked against it in test_one_input_kinks_equal_the_milp) must equal it to that
    accuracy and lie inside the bracket."""
    import copy

    g = torch.Generator().manual_seed(0)
    t = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        for m in t[::2]:
            m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1) * 0.6)
            m.bias.copy_((torch.rand(m.bias.shape, generator=g) * 2 - 1) * 0.2)
    tk = construct(t, density=1.0, eps=0.05, construction="L+1", generator=torch.Generator().manual_seed(100))
    ex = exact_sup_error(tk)
    x = torch.linspace(-1, 1, 200_001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        grid = float((copy.deepcopy(tk.network).double()(x) - copy.deepcopy(tk.target).double()(x)).abs().max())
    assert ex.optimal and grid <= ex.bound and ex.value <= grid + 2 * 1e-5 + 1e-9
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(1))
    assert br.lower <= ex.bound and ex.value <= br.upper * (1 + 1e-6)


def test_auto_uses_the_exact_mode_only_when_the_certificates_miss_eps():
    tk = _ticket([3, 4, 1], 0.5, 8, "adaptive", 7)
    box, g = (-1.0, 1.0), lambda: torch.Generator().manual_seed(0)
    iv = tk.sup_error(box, generator=g(), method="interval")
    df = tk.sup_error(box, generator=g(), method="differential")
    ex = tk.sup_error(box, method="exact")
    # measured on this ticket: interval 1.247, differential 0.470 (32 boxes, stopped within 5% of the attack),
    # exact 0.46653
    assert ex.upper < df.upper < iv.upper / 2
    # an eps at the true sup itself (the MILP maximiser's value): no padded bound reaches it, so auto runs the
    # MILP too and reports the tighter upper bound with its name. Measured: the split differential bound ends at
    # 0.46652895322225, 2e-14 above the exact value and below the MILP's padded bound (+1e-6), so it is named
    auto = tk.sup_error(box, generator=g(), method="auto", eps=ex.lower)
    assert auto.upper <= ex.upper and auto.lower <= auto.upper and auto.lower >= ex.lower - 1e-12
    assert auto.method == ("exact" if ex.upper < auto.differential else "differential")
    # between the differential and the interval bound: the differential certifies, no MILP
    mid = (df.upper + iv.upper) / 2
    auto = tk.sup_error(box, generator=g(), method="auto", eps=mid)
    assert auto.method == "differential" and auto.upper <= mid
    # an eps the interval certificate already reaches: nothing else runs
    loose = tk.sup_error(box, generator=g(), method="auto", eps=iv.upper * 2)
    assert loose.method == "interval" and loose.upper == iv.upper and loose.differential is None


def test_a_milp_stopped_by_its_time_limit_is_intersected_with_the_bracket_and_says_so(monkeypatch):
    import lottery_theory.tickets.exact as exact

    tk = _ticket([3, 4, 1], 0.5, 8, "adaptive", 7)
    box = (-1.0, 1.0)
    proven = tk.sup_error(box, method="exact")  # 0.46653 (the test above)
    br = tk.sup_error(box, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(exact, "TIME_LIMIT", 1e-6)  # HiGHS stops before proving anything
    stopped = exact.exact_sup_error(tk, box)
    assert not stopped.optimal
    r = tk.sup_error(box, method="exact", generator=torch.Generator().manual_seed(0))
    # never "exact" without a proof; still a bracket of the proven value, and never looser than the certificates
    assert r.method != "exact" and r.lower <= proven.upper and proven.lower <= r.upper <= br.upper


def test_exact_on_a_box_with_nonnegative_coordinates_is_not_pinned_to_zero():
    """On [0, 1] the input's ReLU split u = relu(x) is x itself; the split's constraint u - v - x = 0 then has x
    twice, and writing it as a dict kept one coefficient (-x - v = 0), pinning every input to 0: the MILP reported
    0.640 where the ticket's gap at (0, 0, 1) is 0.778. The exact sup must be at least the max over a grid."""
    import itertools

    import torch

    from lottery_theory.experiments.builtin import spectral_target
    from lottery_theory.tickets import construct
    from lottery_theory.tickets.exact import exact_sup_error

    t = spectral_target((3, 4, 2), 1)
    tk = construct(t, density=1.0, eps=0.05, width_multiplier=6, generator=torch.Generator().manual_seed(0))
    grid = torch.tensor(list(itertools.product([i / 10 for i in range(11)], repeat=3)))
    with torch.no_grad():
        best = float((tk.network(grid).double() - t(grid).double()).abs().max())
    ex = exact_sup_error(tk, (0.0, 1.0))
    assert ex.optimal and best <= ex.bound and best > 0.77  # 0.7783 at (0, 0, 1)
    assert ex.recheck == pytest.approx(ex.value, rel=1e-6, abs=1e-9)


def test_kink_points_by_hand():
    """relu(relu(x) - 0.5) on [-1, 1] kinks at x = 0 (the inner ReLU) and x = 0.5 (the outer); 2 relu(0.25 - x)
    kinks at 0.25 only. A LeakyReLU kinks where a ReLU would."""
    from lottery_theory.tickets.exact import kink_points

    net = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 1), nn.ReLU())
    with torch.no_grad():
        net[0].weight.fill_(1.0), net[0].bias.fill_(0.0), net[2].weight.fill_(1.0), net[2].bias.fill_(-0.5)
    ends = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    assert kink_points(net.double(), ends).tolist() == [-1.0, 0.0, 0.5, 1.0]
    one = nn.Sequential(nn.Linear(1, 1), nn.LeakyReLU(0.1), nn.Linear(1, 1))
    with torch.no_grad():
        one[0].weight.fill_(-1.0), one[0].bias.fill_(0.25)
    assert kink_points(one.double(), ends).tolist() == [-1.0, 0.25, 1.0]
    with pytest.raises(ValueError, match="Tanh"):
        kink_points(nn.Sequential(nn.Linear(1, 2), nn.Tanh()), ends)


@settings(max_examples=10, deadline=None)
@given(st.sampled_from([[1, 3, 1], [1, 4, 2], [1, 3, 3, 1]]), st.sampled_from([1.0, 0.5, 0.2]),
       st.sampled_from([2, 4]), st.sampled_from(["2L", "L+1"]), st.integers(0, 1000))
def test_one_input_kinks_equal_the_milp(widths, density, k, construction, seed):
    """Two independent exact methods on 1-input tickets: every kink of both networks (no MILP) and the MILP on the
    realised layers agree to the MILP's tolerance; a 100,001-point grid never beats them."""
    import lottery_theory.tickets.exact as exact

    tk = _ticket(widths, density, k, "adaptive", seed, construction)
    kinks = exact_sup_error(tk, (-1.0, 0.5))
    assert kinks.method == "kinks" and kinks.optimal and kinks.value <= kinks.bound <= kinks.value * (1 + 1e-6) + 1e-12
    md, P, T = exact._encode(tk, exact._check(tk), -1.0, 0.5)
    best, bound, optimal, _ = exact._solve(md, P, T, 1, 60.0)
    assert optimal and best == pytest.approx(kinks.value, rel=1e-6, abs=1e-9)
    x = torch.linspace(-1, 0.5, 100_001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        grid = float((tk.network.double()(x) - tk.target.double()(x)).abs().max())
    assert grid <= kinks.bound


def test_one_input_exact_needs_no_size_limit():
    """An L+1 ticket at the bound's width (hundreds of copies, far above max_binaries) is solved exactly on one
    input; the bracket holds it."""
    t = nn.Sequential(nn.Linear(1, 6), nn.ReLU(), nn.Linear(6, 1))
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for m in t[::2]:
            m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1) * 0.6)
    tk = construct(t, density=0.5, eps=0.05, construction="L+1", generator=torch.Generator().manual_seed(6))
    assert tk.network[2].out_features > 600  # copies: the MILP would need more binaries than its default limit
    ex = exact_sup_error(tk, max_binaries=1)
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(0))
    assert br.lower <= ex.bound and ex.value <= br.upper * (1 + 1e-9)
    r = tk.sup_error((-1.0, 1.0), method="exact")
    assert r.method == "exact" and r.lower == ex.value and r.upper == ex.bound


def test_the_l1_benchmark_suite_keeps_every_exact_value_inside_its_bracket():
    """benchmarks/certificates.py's L+1 suite on a slice (one-input target 1-3-1 and 2-3-1, k = 4): an exact
    value per ticket (kinks on one input, the MILP on two), inside [lower, upper] and every certificate."""
    from proofs_checks.tickets_er import exact_suite_l1

    t = exact_suite_l1([0], targets=([1, 3, 1], [2, 3, 1]), ks=(4,))
    assert len(t) == 2 * 3 * 2 and set(t.exact_method) == {"kinks", "milp"}
    assert np.all(t.lower <= t.exact_bound) and np.all(t.exact <= t.upper * (1 + 1e-6))
    assert np.all(t.exact <= t.interval * (1 + 1e-6)) and np.all(t.exact <= t.differential_1box * (1 + 1e-6))


def test_realise_is_computed_once_per_state_and_follows_every_write():
    """Ticket.realise() is cached between construct() and sup_error(); any change of the network's weights (in
    place, through .data, or a loaded state) gives the new realisation."""
    tk = _ticket([2, 3, 1], 1.0, 4, "fixed", 0)
    a, b = tk.realise(), tk.realise()
    assert a[0] is b[0]
    w = tk.network[-1].weight
    before = float(np.abs(tk.realise()[-1].s_pos).sum())
    assert before > 0
    with torch.no_grad():
        w.mul_(2.0)  # in place: the version counter moves
    assert float(np.abs(tk.realise()[-1].s_pos).sum()) == pytest.approx(2 * before)
    w.data.mul_(1.5)  # through .data: only the sums tell
    assert float(np.abs(tk.realise()[-1].s_pos).sum()) == pytest.approx(3 * before)
    sd = {k: v.clone() for k, v in tk.network.state_dict().items()}
    sd[[k for k in sd if k.endswith("weight")][-1]].mul_(2.0)
    tk.network.load_state_dict(sd)
    assert tk.realise()[-1].s_pos is not a[-1].s_pos and w is tk.network[-1].weight
