"""Adaptive 2L layout, fewest-items subset sums, realised-norm budgets and safe target checkpoints (issue 12)."""
import numpy as np
import pytest
import torch
from torch import nn

from lottery_theory import bounds as B
from lottery_theory.experiments.builtin import spectral_target
from lottery_theory.nets import MaskedConv2d, MaskedLinear, conv_net, load_target, save_target
from lottery_theory.subset_sum import solve
from lottery_theory.tickets import construct
from lottery_theory.tickets.blocks import assign_units


def test_assign_units_uses_surviving_edges_and_balances():
    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(600, 12, generator=g) < 0.3).numpy()
    a = assign_units(mask, 600, torch.Generator().manual_seed(1))
    live = a >= 0
    assert (~live == ~mask.any(1)).all()  # unassigned exactly when no surviving edge
    assert mask[np.flatnonzero(live), a[live]].all()  # every unit serves one of its own inputs
    counts = np.bincount(a[live], minlength=12)
    assert counts.max() - counts.min() <= 1  # 600 units reach every input many times: balanced within one
    assert (assign_units(mask, 600, torch.Generator().manual_seed(1)) == a).all()  # deterministic


def test_required_width_greedy_by_hand():
    # eps' = 0.1 / (2 (5 + 4)) = 0.005556, delta' = 0.1 / 41 = 0.002439 (the min); C = 2.
    # greedy (AD-1), p = 0.5: items present w.p. p_b/2 = 0.25, rho(0.25) = 3.4761 -> n_ss = ceil(2 * 6.0162 * 3.4761)
    # = ceil(41.83) = 42; layer 1 reach 1 - 0.5^4 = 0.9375 -> k = ceil(43 / 0.9375) = 46; layer 2 reach 0.875 -> 50.
    assert B.required_width([4, 3, 2], 0.1, 0.1, 0.5, C=2.0, assignment="greedy") == [4, 5 * 46, 3, 4 * 50, 2]
    # fixed: p_a p_b / 2 = 0.125, rho = 7.4888 -> ceil(2 * 6.0162 * 7.4888) = ceil(90.11) = 91 per input.
    assert B.required_width([4, 3, 2], 0.1, 0.1, 0.5, C=2.0, assignment="fixed") == [4, 5 * 91, 3, 4 * 91, 2]
    # dense: both layouts coincide (k = 18, see test_bounds)
    assert B.required_width([4, 3, 2], 0.1, 0.1, 1.0, C=2.0, assignment="greedy") == [4, 90, 3, 72, 2]
    with pytest.raises(ValueError, match="assignment"):
        B.required_width([4, 3, 2], 0.1, 0.1, 0.5, assignment="diagonal")


@pytest.mark.parametrize("construction", ["2L", "L+1"])
def test_adaptive_ticket_is_univariate_inside_the_support_and_certified(construction):
    t = spectral_target((6, 8, 2), 0)
    tk = construct(t, density=0.3, eps=0.05, construction=construction, assignment="adaptive",
                   generator=torch.Generator().manual_seed(0))
    A_net, A_src = tk.network[0], tk.source[0]
    assert (A_net.mask & ~A_src.mask).sum() == 0  # nested in the ER source
    assert int(A_net.mask.sum(1).max()) <= 1  # every block unit keeps at most one input edge
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(1), restarts=4, steps=30)
    assert br.lower <= br.upper <= 0.05  # the bound's width gives a certified eps-ticket


def test_adaptive_needs_fewer_units_than_fixed_at_low_density():
    """At p = 0.1 with k = 1024 units per input, the fixed layout offers ~1024 p^2/2 = 5 present items per subset
    sum, the adaptive one ~1024 (1 - 0.9^10) p/2 = 33 (enough for eps' ~ 1e-4 with 20 U[-1,1]-scale items):
    only the adaptive ticket is a certified eps-ticket."""
    t = spectral_target((10, 20, 20, 1), 0)
    up = {}
    for a in ("fixed", "adaptive"):
        tk = construct(t, density=0.1, eps=0.01, width_multiplier=1024, assignment=a, objective="min_error",
                       generator=torch.Generator().manual_seed(3))
        up[a] = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(0), restarts=4, steps=20).upper
    assert up["adaptive"] <= 0.01 < up["fixed"]


def test_conv_adaptive_ticket():
    g = torch.Generator().manual_seed(0)
    target = conv_net(1, 3, channels=(2, 3), image_size=6, hidden=5, generator=g)
    tk = construct(target, density=0.5, eps=0.05, width_multiplier=24, input_shape=(1, 6, 6), generator=g)
    A = tk.network[0]
    assert isinstance(A, MaskedConv2d) and int(A.mask.reshape(A.mask.shape[0], -1).sum(1).max()) <= 1
    br = tk.sup_error((-1.0, 1.0), generator=g, restarts=4, steps=20)
    assert br.lower <= br.upper


@pytest.mark.parametrize("n", [1, 5, 10, 16])
def test_fewest_equals_bruteforce(n):
    rng = np.random.default_rng(n)
    B_, tol = 300, 0.02
    v, t = rng.uniform(-1, 1, (B_, n)), rng.uniform(-1, 1, B_)
    p = rng.random((B_, n)) < 0.8
    for ms in (None, 3):
        a = solve(v, t, present=p, objective="fewest", tol=tol, max_size=ms)
        b = solve(v, t, present=p, objective="fewest", tol=tol, method="bruteforce", max_size=ms)
        feas = b.error <= tol
        assert ((a.error <= tol) == feas).all()
        assert (a.size[feas] == b.size[feas]).all()
        assert np.allclose(a.error[feas], b.error[feas], atol=1e-12)
        m = solve(v, t, present=p, max_size=ms)  # no subset within tol: the most accurate one
        assert np.allclose(a.error[~feas], m.error[~feas])
        assert not (a.selection & ~p).any()


def test_fewest_by_hand_and_bad_tol():
    # values 0.5, 0.25, 0.125, 0.7; target 0.75: {0.7} has error 0.05, {0.5, 0.25} error 0 -> with tol 0.06 the
    # single item wins (fewer), with tol 0.01 the pair.
    v, t = np.array([0.5, 0.25, 0.125, 0.7]), np.array([0.75])
    assert solve(v, t, objective="fewest", tol=0.06).selection.tolist() == [[False, False, False, True]]
    assert solve(v, t, objective="fewest", tol=0.01).selection.tolist() == [[True, True, False, False]]
    for bad in (0.0, -1.0, float("nan"), None):
        with pytest.raises(ValueError, match="tol"):
            solve(v, t, objective="fewest", tol=bad)
    with pytest.raises(ValueError, match="objective"):
        solve(v, t, objective="fastest")


def test_fewest_keeps_fewer_weights_and_stays_certified():
    t = spectral_target((4, 6, 2), 0)
    kept = {}
    for obj in ("min_error", "fewest"):
        tk = construct(t, density=1.0, eps=0.01, objective=obj, generator=torch.Generator().manual_seed(1))
        br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(0), restarts=4, steps=20)
        assert br.upper <= 0.01
        kept[obj] = tk.kept_params
    assert kept["fewest"] < 0.5 * kept["min_error"]


def test_norms_budget_by_hand():
    """One layer 2 -> 1 with w = [3, -1], b = 0.5 on [0, 1]^2: S = 2, no later layers: eps_1 = eps / (1 (2 + 1))."""
    net = nn.Sequential(nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[3.0, -1.0]]))
        net[0].bias.fill_(0.5)
    assert B.per_weight_budget(net, 0.03, 0.0, 1.0) == pytest.approx([0.01])
    # two layers: the first layer's budget is divided by the second layer's gain max row sum |W2| = 4
    net2 = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        net2[0].weight.copy_(torch.tensor([[1.0, 1.0], [1.0, -1.0]]))
        net2[0].bias.zero_()
        net2[2].weight.copy_(torch.tensor([[3.0, -1.0]]))
        net2[2].bias.zero_()
    # layer 1: S = 2, gain 4 -> 0.06 / (2 * 3 * 4) = 0.0025; layer 2: inputs in [0, 2] x [0, 1], S = 3 -> 0.06/(2*4)
    assert B.per_weight_budget(net2, 0.06, 0.0, 1.0) == pytest.approx([0.0025, 0.0075])


def test_checkpoint_round_trip_and_untrusted_pickle(tmp_path):
    g = torch.Generator().manual_seed(0)
    net = conv_net(1, 3, channels=(2, 3), image_size=6, hidden=5, generator=g)
    with torch.no_grad():
        net[0].mask[0] = False
    p = save_target(net, tmp_path / "t.pt")
    back = load_target(p)
    x = torch.rand(4, 1, 6, 6, generator=g)
    assert torch.allclose(back(x), net(x), atol=1e-6)
    assert not any(isinstance(m, (MaskedLinear, MaskedConv2d)) for m in back)
    torch.save(nn.Sequential(nn.Linear(2, 1)), tmp_path / "pickled.pt")
    with pytest.raises(ValueError, match="trust"):
        load_target(tmp_path / "pickled.pt")
    assert isinstance(load_target(tmp_path / "pickled.pt", trust=True), nn.Sequential)


def test_cli_ticket_json_on_a_checkpoint(tmp_path, capsys):
    import json

    from lottery_theory.cli import main

    save_target(spectral_target((3, 4, 1), 0), tmp_path / "small.pt")
    assert main(["ticket", "--target", str(tmp_path / "small.pt"), "--density", "0.5", "--eps", "0.05",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("upper", "lower", "wall_s", "peak_rss_gib", "kept_params", "source_params", "target_params"):
        assert key in out
    assert out["lower"] <= out["upper"]


@pytest.mark.parametrize("kw, match", [({"box": -1.0}, "box"), ({"box": float("nan")}, "box"),
                                       ({"assignment": "diag"}, "assignment"), ({"objective": "x"}, "objective"),
                                       ({"budget": "x"}, "budget")])
def test_construct_rejects_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        construct(spectral_target((2, 3, 1), 0), density=0.5, eps=0.1, width_multiplier=2, **kw)


def test_compiled_least_loaded_assignment_equals_the_python_loop():
    """The numba-compiled greedy assignment makes the same choices as the interpreted loop (ties included), so
    adaptive tickets are the same bytes with or without numba; checked by hand on a 3-input case too."""
    import numpy as np

    from lottery_theory.tickets import blocks

    rng = np.random.default_rng(7)
    for trial in range(25):
        n_units, n_in = int(rng.integers(1, 400)), int(rng.integers(1, 12))
        mask = rng.random((n_units, n_in)) < rng.random()
        order = rng.permutation(n_units)
        prio = np.full(n_in, 0.25) if trial % 3 == 0 else rng.random(n_in) * 0.5
        a = blocks._least_loaded_py(mask, np.full(n_units, -1, np.int64), np.zeros(n_in), order, prio)
        b = blocks._least_loaded(mask, np.full(n_units, -1, np.int64), np.zeros(n_in), order, prio)
        assert (a == b).all()
    # by hand: units 0..3 in order; unit 0 reaches {0, 1} (tie -> prio favours 1), unit 1 reaches {1} only,
    # unit 2 reaches {0, 1, 2} (loads 0, 2, 0; prio favours 2 over 0), unit 3 reaches nothing
    mask = np.array([[1, 1, 0], [0, 1, 0], [1, 1, 1], [0, 0, 0]], dtype=bool)
    out = blocks._least_loaded(mask, np.full(4, -1, np.int64), np.zeros(3), np.arange(4), np.array([0.3, 0.1, 0.2]))
    assert out.tolist() == [1, 1, 2, -1]
