"""ER masks, masked layers, optimizers, persistence, builders."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lottery_theory.nets import (
    MaskedConv2d,
    MaskedLinear,
    apply_masks,
    conv_net,
    enforce_masks,
    er_source,
    masks,
    mlp,
)
from lottery_theory.sparsity import density, er_mask, layer_densities


@settings(max_examples=60, deadline=None)
@given(out=st.integers(1, 40), inn=st.integers(1, 40), d=st.floats(0.001, 1.0), seed=st.integers(0, 2**31))
def test_exact_mask_count(out, inn, d, seed):
    m = er_mask((out, inn), d, generator=torch.Generator().manual_seed(seed), exact=True)
    assert m.dtype == torch.bool and m.shape == (out, inn)
    assert int(m.sum()) == round(d * (out * inn))  # the documented count: round(density * numel)


def test_bernoulli_mask_concentrates():
    # 10^6 Bernoulli(0.1) draws: std of the mean = sqrt(0.1*0.9/1e6) = 3e-4; allow 5 sigma = 1.5e-3.
    m = er_mask((1000, 1000), 0.1, generator=torch.Generator().manual_seed(1), exact=False)
    assert abs(density(m) - 0.1) < 1.5e-3
    # rows are independent: the row-count variance matches Binomial(1000, 0.1): 90 (+-15% at 1000 rows)
    var = m.sum(1).double().var().item()
    assert 0.85 * 90 < var < 1.15 * 90


def test_mask_generator_reproducible():
    a = er_mask((30, 30), 0.3, generator=torch.Generator().manual_seed(5))
    b = er_mask((30, 30), 0.3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [0.0, 1.01, float("nan")])
def test_mask_bad_density(bad):
    with pytest.raises(ValueError, match="density"):
        er_mask((3, 3), bad)


def test_mask_bad_shape():
    with pytest.raises(ValueError, match="shape"):
        er_mask((3, 0), 0.5)


def _masked_mlp(seed=0, d=0.3):
    g = torch.Generator().manual_seed(seed)
    net = mlp([6, 8, 3], generator=g)
    for m in net:
        if isinstance(m, MaskedLinear):
            m.set_mask(er_mask(m.weight.shape, d, generator=g), er_mask(m.bias.shape, 0.5, generator=g))
    return net


def test_mask_is_buffer_and_roundtrips():
    net = _masked_mlp()
    sd = net.state_dict()
    assert "0.mask" in sd and "0.bias_mask" in sd and sd["0.mask"].dtype == torch.bool
    other = mlp([6, 8, 3])
    other.load_state_dict(sd)
    for k, v in masks(net).items():
        assert torch.equal(v, masks(other)[k])
    x = torch.randn(4, 6)
    assert torch.equal(net(x), other(x))


def test_forward_uses_masked_weight():
    lin = MaskedLinear(3, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    lin.set_mask(torch.tensor([[1, 0, 1], [0, 1, 0]], dtype=torch.bool))
    # [1,1,1] -> row 0: 1 + 3 = 4; row 1: 5
    assert lin(torch.ones(1, 3)).tolist() == [[4.0, 5.0]]


@pytest.mark.parametrize("make_opt", [
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True),
    lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-3),
    lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=1e-2),
], ids=["sgd-momentum-wd", "adam-wd", "adamw"])
def test_pruned_weights_stay_exactly_zero(make_opt):
    net = _masked_mlp(seed=3)
    opt = make_opt(net.parameters())
    g = torch.Generator().manual_seed(0)
    for _ in range(25):
        x = torch.randn(16, 6, generator=g)
        loss = net(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    for m in net:
        if isinstance(m, MaskedLinear):
            assert torch.count_nonzero(m.weight[~m.mask]) == 0
            assert torch.count_nonzero(m.bias[~m.bias_mask]) == 0
            assert torch.count_nonzero(m.weight[m.mask]) == int(m.mask.sum())  # live weights did train


def test_mask_shape_mismatch_rejected():
    lin = MaskedLinear(3, 2)
    with pytest.raises(ValueError, match="mask has shape"):
        lin.set_mask(torch.ones(3, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="unknown layers"):
        apply_masks(nn.Sequential(lin), {"x": torch.ones(2, 3)})


def test_apply_masks_and_density_of_model():
    net = mlp([4, 5, 2])
    new = {"0": torch.zeros(5, 4, dtype=torch.bool), "2": torch.ones(2, 5, dtype=torch.bool)}
    apply_masks(net, new)
    assert density(net) == pytest.approx(10 / 30)
    assert torch.count_nonzero(net[0].weight) == 0
    with pytest.raises(ValueError, match="no masked layers"):
        density(nn.Linear(2, 2))


def test_enforce_masks_rezeroes():
    net = _masked_mlp()
    with torch.no_grad():
        net[0].weight.fill_(1.0)
    enforce_masks(net)
    assert torch.equal(net[0].weight != 0, net[0].mask)


def test_conv_masked_forward_matches_manual():
    g = torch.Generator().manual_seed(0)
    conv = MaskedConv2d(2, 3, 3, padding=1)
    conv.set_mask(er_mask(conv.weight.shape, 0.5, generator=g))
    x = torch.randn(1, 2, 5, 5, generator=g)
    ref = nn.functional.conv2d(x, conv.weight * conv.mask, conv.bias, padding=1)
    assert torch.allclose(conv(x), ref)


def test_er_source_widths_and_density():
    g = torch.Generator().manual_seed(0)
    target = mlp([20, 10, 10, 1], generator=g)
    src = er_source(target, width_multiplier=4, density=0.2, ratio="erk", exact=True, generator=g)
    lins = [m for m in src if isinstance(m, MaskedLinear)]
    assert [(l.in_features, l.out_features) for l in lins] == [(20, 40), (40, 40), (40, 1)]
    shapes = [tuple(l.weight.shape) for l in lins]
    expect = layer_densities(shapes, 0.2, "erk")
    # exact masks: each layer keeps round(d_l N_l)
    assert [int(l.mask.sum()) for l in lins] == [round(d * math.prod(s)) for d, s in zip(expect, shapes)]
    assert density(src) == pytest.approx(0.2, abs=2 / 2440)
    assert all(torch.all(l.weight.abs() <= 1) for l in lins)  # U[-1, 1] by default


def test_er_source_per_layer_density_and_conv():
    g = torch.Generator().manual_seed(0)
    src = er_source([5, 7, 2], width_multiplier=3, density=[1.0, 0.5], generator=g)
    assert bool(src[0].mask.all())
    net = conv_net(1, 10, channels=(4, 8), image_size=8, generator=g)
    src = er_source(net, width_multiplier=2, density=0.3, generator=g)
    assert src(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert [tuple(m.weight.shape) for m in src if isinstance(m, (MaskedConv2d, MaskedLinear))][:2] == [(8, 1, 3, 3), (16, 8, 3, 3)]
    with pytest.raises(ValueError, match="width_multiplier"):
        er_source([5, 7, 2], width_multiplier=0, density=0.5)
    with pytest.raises(ValueError, match="density"):
        er_source([5, 7, 2], width_multiplier=2, density=1.5)


def test_mlp_validation():
    with pytest.raises(ValueError, match=r"widths\[1\]"):
        mlp([3, 0, 2])
    with pytest.raises(ValueError, match="unknown init"):
        mlp([3, 2], init="bogus")
    with pytest.raises(ValueError, match="unknown activation"):
        mlp([3, 2, 1], activation="gelu-ish")
