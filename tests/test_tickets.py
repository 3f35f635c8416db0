"""Constructive strong tickets: plain modules, nested masks, certified >= measured, eps reached, failures."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from lottery_theory.bounds import required_width
from lottery_theory.nets import MaskedLinear, conv_net, masks, mlp
from lottery_theory.tickets import construct


def tiny(seed=0, widths=(3, 4, 2)):
    return mlp(list(widths), init="uniform", generator=torch.Generator().manual_seed(seed))


def box_inputs(n, d, seed=5):
    x = torch.rand(n, d, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    x[:8] = torch.sign(torch.randn(8, d, generator=torch.Generator().manual_seed(seed)))  # corners
    return x


@pytest.mark.parametrize("construction", ["2L", "L+1"])
@pytest.mark.parametrize("p", [1.0, 0.3])
def test_bound_width_reaches_eps(construction, p):
    t = tiny()
    tk = construct(t, density=p, eps=0.05, construction=construction, generator=torch.Generator().manual_seed(1))
    err = tk.measure_error(box_inputs(3000, 3))
    assert err["max"] <= 0.05
    assert err["max"] <= tk.certified_error + 1e-5  # float32 evaluation of the ticket adds ~1e-6
    assert tk.certified_error <= 0.05  # the bound's width gives a certified eps-ticket here
    if construction == "2L":  # the default width is the bound calculator's
        sw = required_width([3, 4, 2], 0.05, 0.01, p)
        assert [m.out_features for m in tk.source if isinstance(m, MaskedLinear)] == sw[1:]


def test_masks_nested_in_source_and_same_names():
    tk = construct(tiny(), density=0.5, eps=0.1, width_multiplier=30, generator=torch.Generator().manual_seed(2))
    ms, mn = masks(tk.source), masks(tk.network)
    assert ms.keys() == mn.keys()
    for k in ms:
        assert not (mn[k] & ~ms[k]).any()
    assert tk.kept_params < tk.source_params
    # a strong ticket only prunes: every kept weight equals the source's weight
    src_layers = {n: m for n, m in tk.source.named_modules() if isinstance(m, MaskedLinear)}
    for n, m in tk.network.named_modules():
        if isinstance(m, MaskedLinear):
            assert torch.equal(m.weight[m.mask], src_layers[n].weight[m.mask])
            assert torch.count_nonzero(m.weight[~m.mask]) == 0


def test_ticket_is_plain_module_independent_of_target():
    t = tiny()
    tk = construct(t, density=0.5, eps=0.1, width_multiplier=30, generator=torch.Generator().manual_seed(3))
    x = box_inputs(100, 3)
    before = tk.network(x)
    net = copy.deepcopy(tk.network)
    with torch.no_grad():
        for p_ in t.parameters():
            p_.fill_(123.0)  # destroy the target
    assert torch.equal(net(x), before)
    sd = tk.network.state_dict()
    fresh = copy.deepcopy(tk.source)
    fresh.load_state_dict(sd)  # same architecture; masks travel in the state_dict
    assert torch.equal(fresh(x), before)


@pytest.mark.parametrize("construction", ["2L", "L+1"])
def test_measured_below_certified_random_inputs(construction):
    t = tiny(4, (5, 6, 4, 2))
    with torch.no_grad():  # scale to ||W||_inf <= 1 as the bounds assume
        for m in t:
            if isinstance(m, nn.Linear):
                m.weight /= m.weight.abs().sum(1, keepdim=True).max()
    tk = construct(t, density=0.6, eps=0.1, construction=construction, width_multiplier=12,
                   generator=torch.Generator().manual_seed(4))
    err = tk.measure_error(box_inputs(4000, 5))
    assert err["max"] <= tk.certified_error * (1 + 1e-6) + 1e-5


def test_too_narrow_reports_failures():
    tk = construct(tiny(), density=0.2, eps=0.01, width_multiplier=2, generator=torch.Generator().manual_seed(5))
    assert tk.failures > 0 and tk.failures <= tk.n_instances
    assert tk.certified_error > 0.01
    assert np.isfinite(tk.measure_error(box_inputs(50, 3))["max"])


def test_same_seed_same_ticket():
    a = construct(tiny(), density=0.5, eps=0.1, width_multiplier=20, generator=torch.Generator().manual_seed(6))
    b = construct(tiny(), density=0.5, eps=0.1, width_multiplier=20, generator=torch.Generator().manual_seed(6))
    for k, v in masks(a.network).items():
        assert torch.equal(v, masks(b.network)[k])
    assert a.certified_error == b.certified_error


def test_realise_is_recomputed_after_any_write_even_one_that_keeps_the_sums():
    """realise() caches per state of the network: a write through ``.data`` that swaps two kept weights leaves the
    version counter, the sum and the sum of squares unchanged, yet changes what the ticket realises; the cache must
    see it (the cache key checksums the bytes), and an unchanged network must reuse the cached layers."""
    tk = construct(tiny(), density=0.5, eps=0.1, width_multiplier=20, generator=torch.Generator().manual_seed(6))
    first = tk.realise()
    assert tk.realise()[0] is first[0]  # same state: the cached layers
    lin = next(m for m in tk.network.modules() if isinstance(m, MaskedLinear))
    w = lin.weight.data.view(-1)
    kept = torch.nonzero((lin.mask.view(-1) > 0) & (w != 0)).view(-1)
    i, j = next((a, b) for a in kept.tolist() for b in kept.tolist() if w[a] != w[b])
    w[i], w[j] = w[j].clone(), w[i].clone()
    again = tk.realise()
    assert again[0] is not first[0]


def test_conv_target_2L():
    t = conv_net(1, 2, channels=(2,), image_size=4, hidden=3, init="uniform", generator=torch.Generator().manual_seed(0))
    # min-error subsets (the objective this test was written for; the default "fewest" spends the budget) and
    # seeded inputs: the unseeded global stream made the sampled max depend on test order
    # k = 80: with 40 the ~20 positive items a_u b_iu sometimes cannot reach a uniform-init weight near 1
    # (seen: target 0.87 with all positive items summing to 0.80), a range miss, not a solver error
    tk = construct(t, density=1.0, eps=0.1, width_multiplier=80, input_shape=(1, 4, 4), objective="min_error",
                   generator=torch.Generator().manual_seed(7))
    x = torch.rand(300, 1, 4, 4, generator=torch.Generator().manual_seed(3)) * 2 - 1
    err = tk.measure_error(x)
    assert err["max"] <= tk.certified_error + 1e-5
    assert tk.failures == 0 and err["max"] < 0.05
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(0), restarts=4, steps=30)
    assert err["max"] <= br.lower <= br.upper <= tk.certified_error + 1e-9  # a sampled max is no sup error
    with pytest.raises(ValueError, match="MLP targets only"):
        construct(t, density=1.0, eps=0.1, construction="L+1", width_multiplier=4, input_shape=(1, 4, 4))


def test_bad_input():
    t = tiny()
    with pytest.raises(ValueError, match="eps"):
        construct(t, density=0.5, eps=0.0)
    with pytest.raises(ValueError, match="density"):
        construct(t, density=1.5, eps=0.1, width_multiplier=3)
    with pytest.raises(ValueError, match="available: 2L, L\\+1"):
        construct(t, density=0.5, eps=0.1, construction="3L")
    bad = tiny()
    with torch.no_grad():
        bad[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        construct(bad, density=0.5, eps=0.1, width_multiplier=3)
    with pytest.raises(ValueError, match="conv targets need input_shape"):
        construct(conv_net(1, 2, channels=(2,), image_size=4, hidden=3), density=0.5, eps=0.1, width_multiplier=3)
    with pytest.raises(TypeError, match="Softplus layer in the target"):  # not a supported chain: refused, naming it
        construct(nn.Sequential(nn.Linear(2, 2), nn.Softplus(), nn.Linear(2, 1)), density=0.5, eps=0.1)


def _scaled(t, w: float, b: float):
    """``t`` with every Linear layer's weight and bias scaled in place (small targets a narrow source can fit)."""
    with torch.no_grad():
        for m in t:
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(w)
                m.bias.mul_(b)
    return t


@pytest.mark.parametrize("where", ["trailing", "leading"])
def test_l1_keeps_activations_before_and_after_the_linear_layers(where):
    """L+1 used to drop a ReLU before the first or after the last Linear layer, so the ticket computed another
    function than the one its certificate bounded; now the ticket applies it too and the bracket holds."""
    import warnings

    from torch import nn

    torch.manual_seed(0)
    core = [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)]
    mods = core + [nn.ReLU()] if where == "trailing" else [nn.ReLU()] + core
    t = _scaled(nn.Sequential(*mods), 0.5, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tk = construct(t, density=1.0, eps=0.05, construction="L+1", width_multiplier=16,
                       generator=torch.Generator().manual_seed(0))
    net = tk.network
    assert isinstance(net[-1] if where == "trailing" else net[0], nn.ReLU)
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(1))
    x = torch.rand(4000, 3) * 2 - 1
    with torch.no_grad():
        gap = float((net(x) - t(x)).abs().max())
        if where == "trailing":
            assert bool((net(x) >= 0).all())
        else:
            assert torch.equal(net(x), net(torch.relu(x)))
    assert br.lower <= br.upper and gap <= br.upper + 1e-9


def test_retries_returns_the_best_certified_draw_and_is_deterministic():
    """At a fixed width, retries= draws independent sources until one certifies eps and keeps the one with the
    smallest certified bound (an independent recomputation below: the smaller of the interval certificate and
    the differential one with its default 256 boxes for 3 inputs and 5 copies per layer); same generator, same
    ticket."""
    import warnings

    from lottery_theory.bounds.certificate import interval_certificate
    from lottery_theory.bounds.differential import differential_certificate
    from lottery_theory.tickets.construct import BudgetMissed

    torch.manual_seed(0)
    t = mlp([3, 5, 1], bias=True, generator=torch.Generator().manual_seed(3))
    kw = dict(density=0.5, eps=1e-9, width_multiplier=6)  # unreachable eps: every draw is made
    with pytest.warns(BudgetMissed, match="no draw of 4 met eps"):
        a = construct(t, retries=4, generator=torch.Generator().manual_seed(1), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = construct(t, retries=4, generator=torch.Generator().manual_seed(1), **kw)
    assert a.draws["draws"] == 4 and a.draws["met_eps"] == 0
    ups = a.draws["uppers"]
    assert a.draws["best_upper"] == min(ups)
    up = min(interval_certificate(t, a.realise(), -1.0, 1.0, a.input_shape).upper,
             differential_certificate(t, a.realise(), -1.0, 1.0, max_boxes=256, stop_at=1e-9).upper)
    assert up == min(ups)
    assert all(torch.equal(p, q) for p, q in zip(a.network.parameters(), b.network.parameters()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = construct(t, generator=torch.Generator().manual_seed(a.draws["seeds"][ups.index(min(ups))]), **kw)
    assert all(torch.equal(p, q) for p, q in zip(a.network.parameters(), one.network.parameters()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        easy = construct(t, retries=5, generator=torch.Generator().manual_seed(1), density=1.0, eps=0.5,
                         width_multiplier=24)
    assert easy.draws["draws"] == 1 and easy.draws["met_eps"] == 1  # stops at the first certified draw


def test_l1_budget_is_rescaled_by_the_realised_copy_gains():
    """docs/theory.md (LB-1): each earlier layer's budget is the norms budget times g_m / G_m for every copy layer
    m after it, G_m = max over copies of the summed |weights| the copy keeps, recomputed here from the rebuilt
    network's masked weights (not from the solver's report); with it, fewest subsets keep the certificate."""
    import warnings

    from torch import nn

    from lottery_theory.bounds.certificate import per_weight_budget
    from lottery_theory.tickets.layouts import MaskedLinear

    torch.manual_seed(3)
    t = _scaled(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)), 0.5, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tk = construct(t, density=1.0, eps=0.05, construction="L+1", budget="norms",
                       generator=torch.Generator().manual_seed(0))
    assert tk.construction == "L+1"
    base = per_weight_budget(t, 0.05, -1.0, 1.0)
    g = [float(m.weight.detach().abs().sum(1).max()) for m in t if isinstance(m, nn.Linear)]
    layers = [m for m in tk.network if isinstance(m, MaskedLinear)]
    rho = tk.layout["rho"]
    outs = tk.layout["outs"]
    G = {}
    for l in (1, 2):  # copy layer l (source layer l + 1) reads rho[l-1] copies of each of target layer l's outputs
        lay = layers[l + 1]
        n_in, r_in = outs[l - 1], rho[l - 1]
        w = (lay.weight.detach().double() * lay.mask)[:, : n_in * r_in].abs()
        G[l] = float(w.sum(1).max())  # copies of one row: summed |c| over every input's kept copies
    scale = [g[1] / G[1] * g[2] / G[2], g[2] / G[2], 1.0]
    expect = min(b * s for b, s in zip(base, scale))
    assert tk.eps_weight == pytest.approx(expect, rel=1e-6)  # g_m summed in float32 there and here
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(1))
    assert br.upper <= 0.05, br  # fewest (the L+1 default now) keeps the certificate


def test_construct_config_and_keywords_are_one_set_of_options():
    """construct(target, ConstructConfig(...)) and construct(target, **same fields) build the same ticket; keywords
    override a config's fields; unknown keywords and a missing eps are TypeErrors naming them; the config is frozen
    and checked when built (bad values name the field)."""
    import dataclasses

    from lottery_theory.experiments.builtin.ticket import spectral_target
    from lottery_theory.tickets import ConstructConfig

    t = spectral_target([3, 5, 1], 0)
    cfg = ConstructConfig(density=0.5, eps=0.05, width_multiplier=24, max_items=16)
    a = construct(t, cfg, generator=torch.Generator().manual_seed(4))
    b = construct(t, density=0.5, eps=0.05, width_multiplier=24, max_items=16, generator=torch.Generator().manual_seed(4))
    assert a.kept_params == b.kept_params and np.array_equal(a.instance_errors, b.instance_errors)
    c = construct(t, cfg, max_items=8, generator=torch.Generator().manual_seed(4))  # keyword wins
    assert c.n_instances == a.n_instances and not np.array_equal(c.instance_errors, a.instance_errors)
    with pytest.raises(TypeError, match="unknown option.*'k'"):
        construct(t, density=0.5, eps=0.05, k=3)
    with pytest.raises(TypeError, match="needs eps"):
        construct(t, density=0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.eps = 0.1
    with pytest.raises(ValueError, match="assignment"):
        ConstructConfig(density=0.5, eps=0.05, assignment="diagonal")
    assert ConstructConfig(density=[0.5, 0.2], eps=0.1).density == (0.5, 0.2)


def test_l1_copy_layer_with_zero_gain_does_not_overflow_the_budgets():
    """A copy layer that keeps no item has gain 0: the layers before it cannot move the output, so their budgets
    grow without bound. With two copy layers the rescaled budget overflowed to inf and the solver refused it
    (found on 4-6-3-1, p = 0.5, k = 5). It is capped now; the ticket builds and its bracket is consistent."""
    import warnings

    from lottery_theory.experiments.builtin import spectral_target
    from lottery_theory.tickets.layouts import BUDGET_CAP

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tk = construct(spectral_target((4, 6, 3, 1), 0), density=0.5, eps=0.05, construction="L+1",
                       width_multiplier=5, generator=torch.Generator().manual_seed(3))
    assert max(tk.eps_weight, 0) <= BUDGET_CAP and np.isfinite(tk.certified_error)
    br = tk.sup_error(generator=torch.Generator().manual_seed(1), restarts=4, steps=20, samples=200)
    assert br.lower <= br.upper <= tk.certified_error * (1 + 1e-9)


@pytest.mark.parametrize("construction", ["2L", "L+1"])
def test_nonnegative_input_box_realises_each_first_layer_weight_once(construction):
    """box=(0, 1): every input is >= 0, so a block unit with a_u < 0 never fires and the first layer needs s+ only
    (half its subset sums). The ticket is certified over [0, 1]: random inputs and the exact sup stay below
    certified_error and inside the bracket."""
    from lottery_theory.experiments.builtin import spectral_target
    from lottery_theory.tickets.exact import exact_sup_error

    t = spectral_target((3, 4, 2), 1)
    kw = dict(density=1.0, eps=0.05, construction=construction, width_multiplier=6)
    sym = construct(t, box=1.0, generator=torch.Generator().manual_seed(0), **kw)
    pos = construct(t, box=(0.0, 1.0), generator=torch.Generator().manual_seed(0), **kw)
    first = 3 * 4 * (6 if construction == "L+1" else 1)  # weights of target layer 1 (L+1: one per copy)
    assert sym.n_instances - pos.n_instances == first  # the s- sums of the first layer are gone
    assert pos.box_symmetric(0.0, 1.0) and not pos.box_symmetric(-1.0, 1.0)
    x = torch.rand(4000, 3, generator=torch.Generator().manual_seed(1))
    assert pos.measure_error(x)["max"] <= pos.certified_error
    br = pos.sup_error((0.0, 1.0), generator=torch.Generator().manual_seed(2), restarts=4, steps=30, samples=500)
    assert br.lower <= br.upper <= pos.certified_error * (1 + 1e-9)
    if construction == "2L":
        ex = exact_sup_error(pos, (0.0, 1.0))
        assert br.lower <= ex.bound * (1 + 1e-6) and ex.recheck <= br.upper * (1 + 1e-9)
    with pytest.raises(ValueError, match="box"):
        construct(t, box=(1.0, 0.0), **kw)
