"""Dynamic sparse training (SET, RigL): hand-worked updates, RigL's own update rule re-derived, invariants."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lottery_theory import sparsify
from lottery_theory.nets import MaskedLinear
from lottery_theory.search import DSTConfig, dst, mask_update
from lottery_theory.search.dst import drop_fraction_at, update_steps


def test_mask_update_hand_worked():
    # active |w|: idx0 .5, idx1 .1, idx3 .3, idx5 .2, idx6 .05 -> drop the two smallest: idx6, idx1; keep 0, 3, 5.
    w = torch.tensor([[0.5, -0.1, 0.0, 0.3], [0.0, -0.2, 0.05, 0.0]])
    m = torch.tensor([[1, 1, 0, 1], [0, 1, 1, 0]], dtype=torch.bool)
    g = torch.tensor([[9.0, 0.7, 0.4, 9.0], [0.9, 9.0, 0.1, 0.8]])
    new, grown = mask_update(w, m, g, 2)
    # candidates 1, 2, 4, 6, 7 with scores .7, .4, .9, .1, .8 -> grow 4 and 7
    assert new.flatten().nonzero().flatten().tolist() == [0, 3, 4, 5, 7]
    assert grown.flatten().nonzero().flatten().tolist() == [4, 7]
    # inside a support without idx 4: grow 7 (.8) and the just-dropped 1 (.7), as RigL's code allows
    sup = torch.ones(2, 4, dtype=torch.bool)
    sup[1, 0] = False
    new, grown = mask_update(w, m, g, 2, sup)
    assert new.flatten().nonzero().flatten().tolist() == [0, 1, 3, 5, 7]
    assert grown.flatten().nonzero().flatten().tolist() == [1, 7]


def _rigl_reference(w, mask, score_grow, drop_fraction):
    """RigL's generic mask update as in google-research/rigl (sparse_utils / sparse_optimizers), re-derived:
    n_prune = int(n_ones * drop_fraction); keep the top n_ones - n_prune of |w * mask| over the whole tensor;
    lift the kept entries' grow scores to min - 1 and grow the top n_prune of the rest."""
    n_total = w.numel()
    n_ones = int(mask.sum())
    n_prune = int(n_ones * drop_fraction)
    score_drop = (w * mask).abs().flatten()
    order = torch.topk(score_drop, k=n_total).indices
    mask1 = torch.zeros(n_total)
    mask1[order[: n_ones - n_prune]] = 1
    sg = score_grow.flatten()
    lifted = torch.where(mask1 == 1, torch.full_like(sg, float(sg.min()) - 1), sg)
    order = torch.topk(lifted, k=n_total).indices
    mask2 = torch.zeros(n_total)
    mask2[order[:n_prune]] = 1
    return (mask1 + mask2).view(w.shape).bool(), n_prune


@given(st.integers(0, 10_000), st.sampled_from([0.1, 0.3, 0.5, 0.9]), st.integers(2, 12), st.integers(2, 12))
@settings(max_examples=60, deadline=None)
def test_mask_update_equals_rigl_reference(seed, frac, rows, cols):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g)  # continuous: no ties, so tie rules cannot differ
    mask = torch.rand(rows, cols, generator=g) < 0.5
    mask.view(-1)[0] = True
    w = w * mask
    grad = torch.randn(rows, cols, generator=g).abs()
    want, n_prune = _rigl_reference(w, mask.float(), grad, frac)
    got, grown = mask_update(w, mask, grad, int(frac * int(mask.sum())))
    assert torch.equal(got, want)
    assert int(got.sum()) == int(mask.sum()) and int(grown.sum()) == n_prune


def test_drop_fraction_schedule_and_update_steps():
    cfg = DSTConfig(drop_fraction=0.3, update_interval=10, end_fraction=0.75)
    assert drop_fraction_at(0, 100, cfg) == pytest.approx(0.3)
    assert drop_fraction_at(50, 100, cfg) == pytest.approx(0.15)  # RigL Eq. 1: alpha/2 (1 + cos(pi/2))
    assert drop_fraction_at(100, 100, cfg) == pytest.approx(0.0, abs=1e-15)
    assert drop_fraction_at(25, 100, DSTConfig(drop_schedule="linear")) == pytest.approx(0.225)
    assert update_steps(100, cfg) == [10, 20, 30, 40, 50, 60, 70]


def test_first_rigl_update_end_to_end_by_hand():
    """One batch, one SGD step, one update: the mask and weights equal an independent computation (dense gradient
    at the step's weights, SGD step on the active entries, drop by |w| after the step, grow by |g|, zero init)."""
    g = torch.Generator().manual_seed(3)
    net = nn.Linear(6, 4)
    with torch.no_grad():
        net.weight.copy_(torch.randn(4, 6, generator=g))
        net.bias.copy_(torch.randn(4, generator=g))
    sparsify(net, density=0.5, generator=g)
    x, y = torch.randn(8, 6, generator=g), torch.randn(8, 4, generator=g)
    m0 = net.weight_mask.bool().clone()
    w0 = (net.weight_orig * net.weight_mask).detach().clone().requires_grad_(True)
    b0 = net.bias.detach().clone().requires_grad_(True)
    loss = ((x @ w0.T + b0 - y) ** 2).mean()
    gw, gb = torch.autograd.grad(loss, [w0, b0])
    lr = 0.1
    w1 = w0.detach() - lr * gw * m0  # SGD, momentum buffer = first gradient
    b1 = b0.detach() - lr * gb
    n_drop = int(0.5 * int(m0.sum()))
    want_mask, grown = mask_update(w1, m0, gw.abs(), n_drop)
    want_w = torch.where(grown, torch.zeros_like(w1), w1) * want_mask

    res = dst(net, (x, y), method="rigl", density=0.5, epochs=1, generator=torch.Generator().manual_seed(0),
              optimizer="sgd", lr=lr, batch_size=8, update_interval=1, end_fraction=1.0, drop_fraction=0.5,
              drop_schedule="constant")
    assert res.updates == [{"step": 1, "drop_fraction": 0.5, "pruned": n_drop, "regrown": n_drop, "layers": {"": n_drop}}]
    assert torch.equal(net.weight_mask.bool(), want_mask)
    assert torch.allclose(net.weight, want_w, atol=1e-6)
    assert torch.allclose(net.bias, b1, atol=1e-6)
    assert bool((net.weight[grown] == 0).all())  # RigL: regrown weights start at zero


def _mlp(g):
    net = nn.Sequential(MaskedLinear(10, 16), nn.ReLU(), MaskedLinear(16, 3))
    for m in net:
        if isinstance(m, MaskedLinear):
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.3)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return net


def _data(g, n=96):
    x = torch.randn(n, 10, generator=g)
    return x, (x[:, :3].argmax(1))


@pytest.mark.parametrize("method", ["rigl", "set"])
@pytest.mark.parametrize("optimizer,wd", [("sgd", 1e-2), ("adam", 0.0), ("adamw", 1e-2)])
def test_exact_density_support_and_zeros(method, optimizer, wd):
    g = torch.Generator().manual_seed(1)
    net = _mlp(g)
    x, y = _data(g)
    from lottery_theory.nets import apply_masks
    sup = {"0": torch.rand(16, 10, generator=g) < 0.6, "2": torch.rand(3, 16, generator=g) < 0.6}
    apply_masks(net, sup)  # the ER super-mask; DST starts inside it at density 0.2
    per_layer = []

    res = dst(net, (x, y), method=method, density=0.2, support="model", epochs=4, generator=g, optimizer=optimizer,
              weight_decay=wd, lr=0.05, batch_size=16, update_interval=2, end_fraction=1.0)
    n_total = 16 * 10 + 3 * 16
    assert len(res.updates) == 12
    for u in res.updates:
        assert u["pruned"] == u["regrown"]
    for name, m in res.masks.items():
        assert not bool((m & ~sup[name]).any()), "regrowth left the support"
        per_layer.append(int(m.sum()))
    assert sum(per_layer) == round(0.2 * n_total)
    for name, m in res.network.named_modules():
        if hasattr(m, "weight_mask"):
            assert bool((m.weight[~m.weight_mask.bool()] == 0).all())
    assert sum(u["pruned"] for u in res.updates) > 0


def _start(net, g):
    from lottery_theory.nets import apply_masks
    m = {"0": torch.rand(16, 10, generator=g) < 0.3, "2": torch.rand(3, 16, generator=g) < 0.3}
    k = round(0.3 * 208) - int(m["0"].sum())
    m["2"] = torch.zeros(3, 16, dtype=torch.bool)
    m["2"].view(-1)[:k] = True
    apply_masks(net, m)
    return m


def test_deterministic_and_free_regrowth_leaves_start():
    def run():
        g = torch.Generator().manual_seed(5)
        net = _mlp(g)
        x, y = _data(g)
        r = dst(net, (x, y), method="set", density=0.3, epochs=3, generator=g, batch_size=16, update_interval=3)
        return r
    a, b = run(), run()
    sa, sb = a.network.state_dict(), b.network.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.updates == b.updates


def test_plain_model_is_sparsified_and_keeps_its_class_and_bn():
    from _models import BNNet as Net

    g = torch.Generator().manual_seed(0)
    net = Net(10, 32, 3)
    x, y = _data(g)
    res = dst(net, (x, y), density=0.25, epochs=2, generator=g, batch_size=32, update_interval=2)
    assert res.network is net and isinstance(net, Net)
    assert int(net.bn.num_batches_tracked) == 6  # every batch seen once: no extra pass for the dense gradient
    kept = sum(int(m.weight_mask.sum()) for m in (net.fc1, net.fc2))
    assert kept == round(0.25 * (320 + 96))


def test_bad_inputs():
    g = torch.Generator().manual_seed(0)
    x, y = _data(g)
    with pytest.raises(TypeError, match="unknown option"):
        dst(_mlp(g), (x, y), density=0.2, epochs=1, drop_rate=0.3)
    with pytest.raises(ValueError, match="method"):
        dst(_mlp(g), (x, y), method="rig", density=0.2, epochs=1)
    with pytest.raises(ValueError, match="drop_fraction"):
        DSTConfig(drop_fraction=1.5)
    with pytest.raises(ValueError, match="drop_schedule"):
        DSTConfig(drop_schedule="step")
    with pytest.raises(ValueError, match="regrow_init"):
        DSTConfig(regrow_init="ones")
    net = _mlp(g)
    from lottery_theory.nets import apply_masks
    apply_masks(net, {"0": torch.rand(16, 10, generator=g) < 0.1, "2": torch.rand(3, 16, generator=g) < 0.1})
    with pytest.raises(ValueError, match="must not exceed"):
        dst(net, (x, y), density=0.5, epochs=1)
    with pytest.raises(ValueError, match="support"):
        dst(_mlp(g), (x, y), density=0.2, epochs=1, support="mask")
    with pytest.raises(TypeError, match="generator"):
        dst(_mlp(g), (x, y), density=0.2, epochs=1, generator=0)
    assert math.isfinite(DSTConfig().lr)
