"""Tickets for targets with other monotone activations (Tanh, Sigmoid, LeakyReLU; Burkholz 2022 names the class):
the 2L construction keeps its ReLU block layers (they represent the linear part) and copies the target's activation
between blocks; certificates propagate intervals through the monotone activation (docs/theory.md)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lottery_theory.bounds.certificate import act_error
from lottery_theory.tickets import construct

ACTS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky": lambda: nn.LeakyReLU(0.1)}


def _target(act: nn.Module, seed: int = 0) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    t = nn.Sequential(nn.Linear(3, 5), act, nn.Linear(5, 2))
    with torch.no_grad():
        for m in t:
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.8 - 0.4)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) * 0.4 - 0.2)
    return t


@pytest.mark.parametrize("name", sorted(ACTS))
@pytest.mark.parametrize("density", [1.0, 0.5])
def test_ticket_for_activation_is_certified_and_brute_force_agrees(name, density):
    t = _target(ACTS[name]())
    tk = construct(t, density=density, eps=0.05, generator=torch.Generator().manual_seed(1))
    assert type(tk.network[3]) is type(t[1])  # the target's activation sits between the blocks
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(2), restarts=2, steps=30)
    x = torch.cat([torch.rand(100_000, 3, generator=torch.Generator().manual_seed(3)) * 2 - 1,
                   torch.cartesian_prod(*[torch.tensor([-1.0, 1.0])] * 3)])
    with torch.no_grad():
        brute = float((tk.network(x) - t(x)).abs().max())
    assert brute <= br.upper + 1e-9 and br.lower <= br.upper <= 0.05 and tk.failures == 0
    assert br.upper <= tk.certified_error + 1e-12  # the interval certificate is never looser than composition


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(ACTS)), st.floats(-4, 4), st.floats(0, 3), st.floats(0, 1), st.floats(-1, 1),
       st.floats(0, 2))
def test_activation_error_rule_is_sound(name, lo, width, frac, shift, e):
    """|act(z') - act(z)| <= act_error for every z in [lo, hi] and |z' - z| <= e (mean-value theorem)."""
    m = ACTS[name]()
    hi = lo + width
    z = torch.tensor([lo + frac * width], dtype=torch.float64)
    zp = z + shift * e
    bound = act_error(m, torch.tensor([e], dtype=torch.float64), torch.tensor([lo], dtype=torch.float64),
                      torch.tensor([hi], dtype=torch.float64))
    assert float((m(zp) - m(z)).abs()) <= float(bound) + 1e-12


def test_the_rule_by_hand():
    # tanh on [1, 2] with e = 0.5: the segment [0.5, 2.5] is nearest 0 at 0.5, slope 1 - tanh(0.5)^2 = 0.78645
    got = act_error(nn.Tanh(), torch.tensor([0.5]), torch.tensor([1.0]), torch.tensor([2.0]))
    assert float(got) == pytest.approx(0.5 * (1 - np.tanh(0.5) ** 2), rel=1e-6)
    # sigmoid through 0: slope 1/4
    assert float(act_error(nn.Sigmoid(), torch.tensor([1.0]), torch.tensor([-1.0]), torch.tensor([1.0]))) == 0.25
    # leaky relu wholly negative (hi + e < 0): the slope 0.1
    got = act_error(nn.LeakyReLU(0.1), torch.tensor([0.5]), torch.tensor([-3.0]), torch.tensor([-1.0]))
    assert float(got) == pytest.approx(0.05)


def test_refusals_name_the_problem():
    with pytest.raises(ValueError, match="construction='2L'"):
        construct(_target(nn.Tanh()), density=1.0, eps=0.05, construction="L+1")
    with pytest.raises(ValueError, match="negative_slope"):
        construct(_target(nn.LeakyReLU(2.0)), density=1.0, eps=0.05)
    with pytest.raises(TypeError, match="GELU"):
        construct(_target(nn.GELU()), density=1.0, eps=0.05)


def test_traced_forward_with_torch_tanh():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 4), nn.Linear(4, 1)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)))

    tk = construct(Net(), density=1.0, eps=0.2, generator=torch.Generator().manual_seed(0))
    assert isinstance(tk.network[3], nn.Tanh)


def test_activation_targets_round_trip_through_a_checkpoint(tmp_path):
    from lottery_theory.nets.checkpoint import check_spec, load_target, save_target, target_spec

    t = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.LeakyReLU(0.2), nn.Linear(4, 2), nn.Sigmoid())
    spec = target_spec(t)
    assert spec[1] == ["Tanh"] and spec[3] == ["LeakyReLU", 0.2] and spec[5] == ["Sigmoid"]
    path = save_target(t, tmp_path / "t.pt")
    back = load_target(path)
    x = torch.randn(5, 3)
    assert torch.equal(back(x), t(x))
    with pytest.raises(ValueError, match="negative_slope"):
        check_spec([["Linear", 2, 2, True], ["LeakyReLU", 3.0]])
