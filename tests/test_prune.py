"""Pruning inside a fixed support: nesting, exact counts, hand-computed scores, IMP, ties."""
import math

import pytest
import torch
from torch import nn

from lottery_theory.nets import MaskedLinear, er_source, masks, mlp
from lottery_theory.search.prune import (
    _grasp,
    _snip,
    imp,
    imp_schedule,
    prune,
    select,
    synflow_scores,
)
from lottery_theory.sparsity import density


def _data(n=300, d=12, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.randn(n, d, generator=g) + y[:, None].float()
    return x, y


def _source(seed=0):
    return er_source([12, 20, 16, 3], width_multiplier=1, density=0.5, init="kaiming_normal", exact=True,
                     generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("method", ["random", "magnitude", "snip", "grasp", "synflow", "imp"])
@pytest.mark.parametrize("ratio", [None, "erk"])
def test_nested_exact_and_reproducible(method, ratio):
    out = []
    for _ in range(2):
        src = _source()
        sup = masks(src)
        opts = {"epochs": 1} if method == "imp" else {}
        new = prune(src, method=method, density=0.12, ratio=ratio, data=_data(),
                    generator=torch.Generator().manual_seed(1), **opts)
        for k in new:
            assert not (new[k] & ~sup[k]).any()
            assert torch.equal(masks(src)[k], new[k])  # applied to the model
        total = sum(v.numel() for v in new.values())
        if ratio is None:
            assert sum(int(v.sum()) for v in new.values()) == round(0.12 * total)
        else:
            from lottery_theory.sparsity import layer_densities
            dens = layer_densities([tuple(v.shape) for v in new.values()], 0.12, ratio)
            assert [int(v.sum()) for v in new.values()] == [round(d * v.numel()) for d, v in zip(dens, new.values())]
        out.append(new)
    for k in out[0]:
        assert torch.equal(out[0][k], out[1][k])


def test_density_above_support_raises():
    with pytest.raises(ValueError, match="support density"):
        prune(_source(), method="magnitude", density=0.6)


def _hand_net():
    net = nn.Sequential(MaskedLinear(2, 2, bias=False), nn.ReLU(), MaskedLinear(2, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.5, -1.0]]))
        net[2].weight.copy_(torch.tensor([[2.0, 3.0]]))
    return net


def test_snip_by_hand():
    # x = [1, 2], y = 0. h_pre = [1, -1.5], h = [1, 0], out = 2, MSE = 4, dL/dout = 4.
    # dL/dW2 = 4 h = [4, 0] -> |W2 g| = [8, 0]. dL/dh_pre = 4 W2 * relu' = [8, 0];
    # dL/dW1 = [8, 0]^T [1, 2] = [[8, 16], [0, 0]] -> |W1 g| = [[8, 0], [0, 0]].
    s = _snip(_hand_net(), (torch.tensor([[1.0, 2.0]]), torch.tensor([0.0])), None)
    assert torch.allclose(s["2"], torch.tensor([[8.0, 0.0]]))
    assert torch.allclose(s["0"], torch.tensor([[8.0, 0.0], [0.0, 0.0]]))


def test_synflow_by_hand():
    # |W1| = [[1, 0], [0.5, 1]], |W2| = [2, 3], input ones. dR/dW2 = |W1| 1 = [1, 1.5] -> [2, 4.5];
    # dR/dW1_ij = |W2_i| -> scores |W1_ij| |W2_i| = [[2, 0], [1.5, 3]].
    s = synflow_scores(_hand_net(), (2,))
    assert torch.allclose(s["2"], torch.tensor([[2.0, 4.5]]))
    assert torch.allclose(s["0"], torch.tensor([[2.0, 0.0], [1.5, 3.0]]))


def test_grasp_by_hand():
    # f(x) = w.x, w = [2, -1]; x1 = [1, 0], y1 = 1; x2 = [1, 1], y2 = 0: residuals 1, 1; L = mean r^2.
    # g = sum_i r_i x_i = [2, 1]; H = sum_i x_i x_i^T = [[2, 1], [1, 1]]; Hg = [5, 3]; w * Hg = [10, -3].
    net = nn.Sequential(MaskedLinear(2, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[2.0, -1.0]]))
    data = (torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([1.0, 0.0]))
    s = _grasp(net, data, None, grasp_temperature=1.0)
    assert torch.allclose(s["0"], torch.tensor([[10.0, -3.0]]))
    # temperature T = 2: f = w.x / 2 gives residuals 0 and 0.5; g = sum_i r_i x_i / 2 = [0.25, 0.25];
    # H = sum_i x_i x_i^T / 4 = [[0.5, 0.25], [0.25, 0.25]]; Hg = [0.1875, 0.125]; w * Hg = [0.375, -0.125].
    s2 = _grasp(net, data, None, grasp_temperature=2.0)
    assert torch.allclose(s2["0"], torch.tensor([[0.375, -0.125]]))
    with pytest.raises(ValueError, match="grasp_temperature"):
        _grasp(net, data, None, grasp_temperature=0.0)


def test_grasp_default_temperature_is_200():
    """With the logits divided by T = 200 (Synaptic-Flow's default), the default call equals T = 200 explicitly and
    differs from T = 1 (a 3-class softmax model: the temperature changes the Hessian-gradient product)."""
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(MaskedLinear(4, 3, bias=False))
    x, y = torch.randn(16, 4, generator=g), torch.randint(0, 3, (16,), generator=g)
    d = _grasp(net, (x, y), None)["0"]
    assert torch.allclose(d, _grasp(net, (x, y), None, grasp_temperature=200.0)["0"])
    assert not torch.allclose(d, _grasp(net, (x, y), None, grasp_temperature=1.0)["0"])


def test_ties_keep_exactly_k_lowest_index_first():
    scores = {"a": torch.ones(3, 4), "b": torch.ones(2, 2)}
    support = {"a": torch.ones(3, 4, dtype=torch.bool), "b": torch.tensor([[True, False], [True, True]])}
    out = select(scores, support, 5)
    assert sum(int(v.sum()) for v in out.values()) == 5  # a '<=' threshold would keep all 15
    assert out["a"].flatten().tolist() == [True] * 5 + [False] * 7
    per_layer = select(scores, support, {"a": 2, "b": 2})
    assert per_layer["b"].tolist() == [[True, False], [True, False]]
    net = mlp([4, 3, 2])
    with torch.no_grad():
        for m in net:
            if isinstance(m, MaskedLinear):
                m.weight.fill_(0.5)
    new = prune(net, method="magnitude", density=0.25)
    assert sum(int(v.sum()) for v in new.values()) == round(0.25 * 18)


def test_imp_schedule_and_rewinding():
    # 20% of the live weights per round: 0.3 -> 0.0106 takes 15 rounds (as in the authors' run_imp: 15 rounds from 0.3)
    sched = imp_schedule(0.3, 0.0106)
    assert len(sched) == 15 and sched[-1] == 0.0106
    assert all(math.isclose(b / a, 0.8) for a, b in zip(sched[:-2], sched[1:-1]))
    src = _source(3)
    init = {k: v.clone() for k, v in src.state_dict().items() if not k.endswith("mask")}
    rows = []
    new = imp(src, density=0.2, data=_data(), epochs=2, generator=torch.Generator().manual_seed(0),
              on_round=rows.append)
    assert [round(r["density"], 6) for r in rows] == [round(d, 6) for d in imp_schedule(0.5, 0.2)]
    assert density(src) == pytest.approx(round(0.2 * sum(v.numel() for v in new.values()))
                                         / sum(v.numel() for v in new.values()))
    for k, v in src.state_dict().items():  # rewound to init on the kept weights; pruned ones are zero
        if k.endswith("weight"):
            m = src.get_submodule(k.rsplit(".", 1)[0]).mask
            assert torch.equal(v[m], init[k][m]) and torch.count_nonzero(v[~m]) == 0


def test_unknown_method_and_missing_data():
    with pytest.raises(ValueError, match="available: .*synflow"):
        prune(_source(), method="obd", density=0.1)
    with pytest.raises(ValueError, match="needs data"):
        prune(_source(), method="snip", density=0.1)


def test_snip_it_is_iterative_snip():
    """snip-it with one round is one-shot SNIP; with more rounds it rescores on the shrinking masks, keeps the
    exact count and stays inside the support (a pruner added in one module: search/prune.py)."""
    x, y = _data()
    one = _source()
    sup = masks(one)
    a = prune(one, method="snip-it", density=0.1, data=(x, y), rounds=1)
    b = prune(_source(), method="snip", density=0.1, data=(x, y))
    assert all(torch.equal(a[n], b[n]) for n in a)
    c = prune(_source(), method="snip-it", density=0.1, data=(x, y), rounds=4)
    n_all = sum(v.numel() for v in sup.values())
    assert sum(int(v.sum()) for v in c.values()) == round(0.1 * n_all)
    assert all(bool((c[n] <= sup[n]).all()) for n in c)
    assert any(not torch.equal(c[n], b[n]) for n in c)  # rescoring changes the choice


def test_tensor_loader_yields_the_dataloaders_batches_and_random_draws():
    """train's in-memory loader equals DataLoader(TensorDataset(...)) batch for batch over several passes, with and
    without shuffling or a generator, and leaves the generator and the global RNG in the same state (so every
    trained result keeps its bytes)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from lottery_theory.search.train import TensorLoader

    x, y = torch.randn(300, 5), torch.randint(0, 3, (300,))
    for shuffle in (True, False):
        for seeded in (True, False):
            ga = torch.Generator().manual_seed(3) if seeded else None
            gb = torch.Generator().manual_seed(3) if seeded else None
            torch.manual_seed(11)
            a = [b for _ in range(3) for b in DataLoader(TensorDataset(x, y), batch_size=64, shuffle=shuffle,
                                                         generator=ga)]
            ra = torch.rand(1)
            torch.manual_seed(11)
            tl = TensorLoader(x, y, 64, shuffle, gb)
            b = [b for _ in range(3) for b in tl]
            assert len(tl) == 5 and len(a) == len(b) == 15
            assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(a, b))
            assert torch.equal(ra, torch.rand(1))
            if seeded:
                assert torch.equal(ga.get_state(), gb.get_state())
