"""Edge-popup inside a support: exact counts, nesting, straight-through training, planted teacher."""
import copy
import math

import pytest
import torch
from torch import nn

from lottery_theory.nets import MaskedLinear, er_source, masks
from lottery_theory.search.edge_popup import anneal_schedule, edge_popup, topk_mask
from lottery_theory.search.train import evaluate
from lottery_theory.sparsity import er_mask


def _digits_like(n=600, d=16, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, d, generator=g) * 2
    y = torch.randint(0, classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, d, generator=g)
    return x, y


def test_topk_mask_inside_support_exact_k():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(20, 30, generator=g)
    support = torch.rand(20, 30, generator=g) < 0.3
    k = int(support.sum()) // 2
    m = topk_mask(scores, support, k)
    assert m.dtype == torch.bool and int(m.sum()) == k and not (m & ~support).any()
    # the kept entries have the largest |score| in the support: flat, not row-wise
    kept_min = scores.abs()[m].min()
    dropped_max = scores.abs()[support & ~m].max()
    assert kept_min >= dropped_max
    # huge scores outside the support never win
    scores[~support] = 1e9
    assert not (topk_mask(scores, support, k) & ~support).any()


@pytest.mark.parametrize("init", ["kaiming_normal", "signed_constant", "uniform"])
def test_result_masks_nested_exact_and_weights_frozen(init):
    g = torch.Generator().manual_seed(1)
    x, y = _digits_like()
    src = er_source([16, 20, 4], width_multiplier=2, density=0.5, init=init, exact=True, bias=False, generator=g)
    before = {k: v.clone() for k, v in src.state_dict().items()}
    r = edge_popup(src, (x, y), density=[0.2, 0.3], epochs=3, generator=g, progress=False)
    for name, m in masks(r.network).items():
        layer = dict(src.named_modules())[name]
        assert m.dtype == torch.bool and not (m & ~layer.mask).any()
        assert int(m.sum()) == round([0.2, 0.3][list(masks(r.network)).index(name)] * m.numel())
    for k, v in src.state_dict().items():
        assert torch.equal(v, before[k])  # the source is untouched
    for (n1, p1), (n2, p2) in zip(src.named_parameters(), r.network.named_parameters()):
        assert n1 == n2
        layer = dict(r.network.named_modules())[n1.rsplit(".", 1)[0]]
        assert torch.equal(p2[layer.mask], p1[layer.mask])  # kept weights are the source's own


def test_bias_scores_keep_exactly_k_biases_inside_bias_support():
    g = torch.Generator().manual_seed(7)
    x, y = _digits_like()
    src = er_source([16, 20, 4], width_multiplier=2, density=0.5, exact=True, bias=True, generator=g)
    src[0].set_mask(src[0].mask, torch.arange(40) % 2 == 0)  # half of the biases available
    r = edge_popup(src, (x, y), density=0.25, epochs=3, bias_scores=True, generator=g, progress=False)
    b0, b2 = r.network[0].bias_mask, r.network[2].bias_mask
    assert int(b0.sum()) == 10 and not (b0 & ~src[0].bias_mask).any()  # round(0.25 * 40) = 10
    assert int(b2.sum()) == 1  # round(0.25 * 4)
    assert torch.count_nonzero(r.network[0].bias[~b0]) == 0
    without = edge_popup(src, (x, y), density=0.25, epochs=1, generator=g, progress=False)
    assert torch.equal(without.network[0].bias_mask, src[0].bias_mask)  # frozen and kept by default


def test_k_above_support_raises():
    src = er_source([6, 8, 2], width_multiplier=1, density=0.2, exact=True, bias=False,
                    generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="support holds only"):
        edge_popup(src, _digits_like(d=6, classes=2), density=0.5, epochs=1, progress=False)


def test_gradients_reach_scores_and_training_helps():
    g = torch.Generator().manual_seed(2)
    x, y = _digits_like(n=800)
    src = er_source([16, 64, 4], width_multiplier=1, density=0.6, init="signed_constant", exact=True, bias=False,
                    scale_fan=0.3, generator=g)
    r = edge_popup(src, (x, y), density=0.3, epochs=15, generator=g, progress=False)
    losses = [h["train_loss"] for h in r.history]
    assert losses[-1] < 0.7 * losses[0]
    assert evaluate(r.network, (x, y))["accuracy"] > 0.8


def test_planted_teacher_is_recovered():
    """A 4-8-1 teacher embedded in a 4-16-1 source (the other units random); keep the teacher's count.

    Edge-popup is a heuristic (a run can stall in a poor mask), so the check is functional and uses the
    usual restarts: the best of three runs by training loss is far closer to the teacher than random
    tickets of the same density, and finds most of the teacher's output edges."""
    g = torch.Generator().manual_seed(3)
    w1 = torch.randn(8, 4, generator=g)
    w2 = torch.randn(1, 8, generator=g)
    src = nn.Sequential(MaskedLinear(4, 16, bias=False), nn.ReLU(), MaskedLinear(16, 1, bias=False))
    with torch.no_grad():
        src[0].weight.copy_(torch.cat([w1, torch.randn(8, 4, generator=g)]))
        src[2].weight.copy_(torch.cat([w2, torch.randn(1, 8, generator=g)], dim=1))
    teacher = lambda x: torch.relu(x @ w1.T) @ w2.T  # noqa: E731
    x = torch.randn(2000, 4, generator=g)
    runs = [edge_popup(src, (x, teacher(x)), density=[0.5, 0.5], epochs=100, lr=0.2, weight_decay=0.0,
                       generator=torch.Generator().manual_seed(s), progress=False) for s in range(3)]
    r = min(runs, key=lambda run: run.history[-1]["train_loss"])
    xt = torch.randn(1000, 4, generator=g)
    rel = lambda net: ((net(xt) - teacher(xt)).pow(2).mean() / teacher(xt).pow(2).mean()).item()  # noqa: E731
    with torch.no_grad():
        found = rel(r.network)
        rand = []
        for s in range(20):
            net = copy.deepcopy(src)
            gs = torch.Generator().manual_seed(100 + s)
            net[0].set_mask(er_mask((16, 4), 0.5, generator=gs))
            net[2].set_mask(er_mask((1, 16), 0.5, generator=gs))
            rand.append(rel(net))
    assert found < 0.05
    assert found < 0.1 * sorted(rand)[len(rand) // 2]  # 10x better than the median random ticket
    assert int(masks(r.network)["2"][0, :8].sum()) >= 6


def test_same_seed_same_ticket():
    x, y = _digits_like()
    out = []
    for _ in range(2):
        g = torch.Generator().manual_seed(4)
        src = er_source([16, 20, 4], width_multiplier=2, density=0.5, exact=True, bias=False, generator=g)
        out.append(masks(edge_popup(src, (x, y), density=0.2, epochs=2, generator=g, progress=False).network))
    for k in out[0]:
        assert torch.equal(out[0][k], out[1][k])


def test_anneal_schedule_is_geometric():
    s = anneal_schedule(0.6, 0.0375, 5)
    assert s[0] == 0.6 and s[-1] == 0.0375
    assert all(math.isclose(s[i + 1] / s[i], 0.5) for i in range(4))  # (0.0375/0.6)^(1/4) = 0.5
    x, y = _digits_like()
    g = torch.Generator().manual_seed(5)
    src = er_source([16, 20, 4], width_multiplier=2, density=0.6, exact=True, bias=False, generator=g)
    r = edge_popup(src, (x, y), density=0.15, epochs=1, anneal=(0.6, 3), generator=g, progress=False)
    assert [round(h["density"], 2) for h in r.history] == [0.6, 0.3, 0.15]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_path_matches_cpu_semantics():
    x, y = _digits_like()
    g = torch.Generator().manual_seed(6)
    src = er_source([16, 20, 4], width_multiplier=2, density=0.5, exact=True, bias=False, generator=g)
    r = edge_popup(src, (x, y), density=0.2, epochs=2, generator=g, device="cuda", progress=False)
    for name, m in masks(r.network).items():
        assert not (m.cpu() & ~dict(src.named_modules())[name].mask).any()
        assert int(m.sum()) == round(0.2 * m.numel())


def test_options_live_in_a_frozen_config():
    """edge_popup(config=EdgePopupConfig(...)) and the same options by keyword give the same masks; the config
    is frozen and checks its fields when built; unknown keywords are refused by name."""
    import dataclasses

    from lottery_theory.search import EdgePopupConfig

    x, y = _digits_like(n=300, d=8, classes=3)
    src = er_source([8, 12, 3], width_multiplier=1, density=0.5, exact=True, generator=torch.Generator().manual_seed(0))
    cfg = EdgePopupConfig(density=0.25, epochs=2, lr=0.05)
    a = edge_popup(src, (x, y), cfg, generator=torch.Generator().manual_seed(3), progress=False)
    b = edge_popup(src, (x, y), density=0.25, epochs=2, lr=0.05, generator=torch.Generator().manual_seed(3),
                   progress=False)
    assert all(torch.equal(masks(a.network)[n], masks(b.network)[n]) for n in masks(a.network))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 0.2
    with pytest.raises(ValueError, match="momentum"):
        EdgePopupConfig(density=0.2, epochs=1, momentum=1.5)
    with pytest.raises(TypeError, match="learning_rate"):
        edge_popup(src, (x, y), density=0.2, epochs=1, learning_rate=0.1)
    with pytest.raises(TypeError, match="epochs"):
        edge_popup(src, (x, y), density=0.2)
    # keywords override a given config
    c = edge_popup(src, (x, y), cfg, epochs=1, generator=torch.Generator().manual_seed(3), progress=False)
    assert len(c.history) == 1
