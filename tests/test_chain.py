"""Tickets for any feed-forward module: a traced chain is the model's own function; branches are refused by name."""
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lottery_theory.nets import load_target, save_target
from lottery_theory.nets.chain import as_sequential
from lottery_theory.tickets import construct


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(4, 6), nn.Linear(6, 5), nn.Linear(5, 2)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.out(x)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.pool, self.fc = nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        x = self.pool(self.conv(x).relu())
        return self.fc(x.view(x.size(0), -1))


class Residual(MLP):
    def forward(self, x):
        h = F.relu(self.fc1(x))
        return self.out(F.relu(self.fc2(h)) + h[:, :5])


class Sigmoid(MLP):
    def forward(self, x):
        return self.out(torch.sigmoid(self.fc2(F.relu(self.fc1(x)))))


class Gelu(MLP):
    def forward(self, x):
        return self.out(F.gelu(self.fc2(F.relu(self.fc1(x)))))


def test_monotone_activations_trace_into_modules():
    """torch.sigmoid / torch.tanh become nn.Sigmoid / nn.Tanh steps (construct's 2L accepts them)."""
    m = Sigmoid()
    seq = as_sequential(m)
    assert [type(s) for s in seq] == [nn.Linear, nn.ReLU, nn.Linear, nn.Sigmoid, nn.Linear]
    x = torch.randn(5, 4)
    assert torch.equal(seq(x), m(x))


@pytest.mark.parametrize("cls,x", [(MLP, torch.randn(9, 4)), (ConvNet, torch.randn(9, 1, 8, 8))])
def test_traced_chain_computes_the_model(cls, x):
    torch.manual_seed(0)
    m = cls()
    seq = as_sequential(m)
    assert isinstance(seq, nn.Sequential) and torch.equal(seq(x), m(x))
    assert seq[0] is next(iter(m.children()))  # the model's own layers, not copies


@pytest.mark.parametrize("cls,match", [(Residual, "not a chain|branch"), (Gelu, "gelu")])
def test_non_chains_are_refused_by_node(cls, match):
    with pytest.raises(TypeError, match=match):
        as_sequential(cls())
    with pytest.raises(TypeError, match=match):
        construct(cls(), density=0.5, eps=0.1)


def test_construct_and_save_target_take_a_plain_module(tmp_path):
    torch.manual_seed(0)
    m = MLP()
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tk = construct(m, density=0.5, eps=0.05, width_multiplier=16, generator=torch.Generator().manual_seed(0))
    x = torch.rand(500, 4) * 2 - 1
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert float((tk.network(x) - m(x)).abs().max()) <= br.upper + 1e-9
    save_target(m, tmp_path / "m.pt")
    assert torch.equal(load_target(tmp_path / "m.pt")(x), m(x))
