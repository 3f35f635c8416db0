"""Sup-error brackets: attack lower bound <= interval certificate <= composition certificate, and the exact sup
(from a fine grid plus a Lipschitz correction) lies inside the bracket."""
import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_theory.bounds.certificate import RealisedLayer, interval_certificate
from lottery_theory.experiments.builtin import spectral_target
from lottery_theory.nets import conv_net
from lottery_theory.tickets import construct


def _lipschitz(net) -> float:
    """Product of the layers' inf->inf operator norms (max row sum of |W|), a Lipschitz constant in sup norm."""
    out = 1.0
    for m in net.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            w = m.weight.detach().double()
            if hasattr(m, "mask"):
                w = w * m.mask
            out *= float(w.reshape(w.shape[0], -1).abs().sum(1).max())
    return out


@pytest.mark.parametrize("construction", ["2L", "L+1"])
@pytest.mark.parametrize("seed", [0, 1])
def test_exact_sup_inside_bracket_2d(construction, seed):
    target = spectral_target((2, 4, 1), seed)
    tk = construct(target, density=0.5, eps=0.01, construction=construction, width_multiplier=6,
                   generator=torch.Generator().manual_seed(seed))
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(0))
    n = 801
    g = torch.linspace(-1, 1, n, dtype=torch.float64)
    X = torch.cartesian_prod(g, g)
    P, T = copy.deepcopy(tk.network).double(), copy.deepcopy(target).double()
    with torch.no_grad():
        grid_max = float((P(X) - T(X)).abs().max())
    h = 2 / (n - 1)  # every point of the box is within h/2 (sup norm) of a grid point
    lip = _lipschitz(tk.network) + _lipschitz(target)
    assert grid_max <= br.upper + 1e-9  # the grid max is a lower bound of the sup
    assert br.lower <= grid_max + lip * h / 2 + 1e-9  # the sup is at most grid max + L h/2
    assert br.lower <= br.upper + 1e-9 and br.upper <= br.composition + 1e-9
    assert br.lower >= br.random_max - 1e-9
    # the maximiser attains lower on the rebuilt ticket
    with torch.no_grad():
        x = br.argmax.double()[None]
        assert abs(float((P(x) - T(x)).abs().max()) - br.lower) <= 1e-5 * max(1.0, br.lower)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.sampled_from([1.0, 0.5, 0.3]), k=st.integers(2, 12),
       lo=st.floats(-2, 0.5), width=st.floats(0.1, 2.5), construction=st.sampled_from(["2L", "L+1"]))
def test_lower_le_upper_le_composition(seed, p, k, lo, width, construction):
    target = spectral_target((3, 5, 2), seed)
    tk = construct(target, density=p, eps=0.05, construction=construction, width_multiplier=k,
                   generator=torch.Generator().manual_seed(seed))
    hi = lo + width
    br = tk.sup_error((lo, hi), generator=torch.Generator().manual_seed(seed), restarts=4, steps=20, samples=200)
    assert br.lower <= br.upper * (1 + 1e-9) + 1e-9
    # the composition certificate is for [-B, B]: it covers any box inside it
    B = max(abs(lo), abs(hi))
    tk_b = tk.layout["box"]
    if B <= tk_b:
        assert br.upper <= tk.certified_error * (1 + 1e-9) + 1e-9


def test_conv_ticket_bracket():
    g = torch.Generator().manual_seed(0)
    target = conv_net(1, 3, channels=(2, 3), image_size=6, hidden=5, generator=g)
    tk = construct(target, density=0.5, eps=0.01, width_multiplier=10, input_shape=(1, 6, 6), generator=g)
    br = tk.sup_error((-1.0, 1.0), generator=g, restarts=4, steps=30)
    assert 0 < br.lower <= br.upper <= tk.certified_error + 1e-9
    br01 = tk.sup_error((0.0, 1.0), generator=g, restarts=4, steps=30)
    assert br01.lower <= br01.upper <= br.upper + 1e-9  # a smaller box cannot have a larger certificate


def test_certificate_hand_computed():
    """One layer, one weight: target w = 0.5, ticket slopes s+ = 0.6, s- = 0.3 and bias error 0.1 on [-1, 2]:
    sup |phi(x) - 0.5 x| + 0.1 = max(0.1 * 2, 0.2 * 1) + 0.1 = 0.3."""
    target = torch.nn.Sequential(torch.nn.Linear(1, 1))
    with torch.no_grad():
        target[0].weight.fill_(0.5)
        target[0].bias.fill_(0.0)
    r = RealisedLayer(s_pos=np.array([[0.6]]), s_neg=np.array([[0.3]]), bias=np.array([0.1]), rows=np.array([0]))
    c = interval_certificate(target, [r], -1.0, 2.0)
    assert math.isclose(c.upper, 0.3, rel_tol=1e-12)
    # ReLU after it: target pre-activation in [-0.5, 1]; the ticket's can exceed by 0.3: bound stays 0.3
    target2 = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU())
    target2[0].load_state_dict(target[0].state_dict())
    assert math.isclose(interval_certificate(target2, [r], -1.0, 2.0).upper, 0.3, rel_tol=1e-12)
    # a neuron that is never active: target pre-activation <= -1, gap 0.3 -> both outputs are 0
    with torch.no_grad():
        target2[0].bias.fill_(-2.0)
    r2 = RealisedLayer(s_pos=np.array([[0.6]]), s_neg=np.array([[0.3]]), bias=np.array([-1.9]), rows=np.array([0]))
    assert interval_certificate(target2, [r2], -1.0, 2.0).upper == 0.0


def test_bad_box_is_clear():
    target = spectral_target((2, 3, 1), 0)
    tk = construct(target, density=1.0, eps=0.05, width_multiplier=3, generator=torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="box"):
        tk.sup_error(1.0)
    with pytest.raises(ValueError, match="lo <= hi"):
        tk.sup_error((1.0, -1.0))
    with pytest.raises(ValueError, match="finite"):
        tk.sup_error((float("nan"), 1.0))
    with pytest.raises(ValueError, match="restarts"):
        tk.sup_error((-1.0, 1.0), restarts=0)
