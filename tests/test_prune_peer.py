"""Pruning options the peers have: Synaptic-Flow's SynFlow re-derived, schedules, rounding, scope alias, invert,
shuffle, reinitialize, bias and batch-norm pruning."""
import math

import pytest
import torch
from torch import nn

from lottery_theory import export, sparsify
from lottery_theory.nets import MaskedLinear, masked_layers, masks
from lottery_theory.search.prune import _PRUNERS, PruneTask, _targets, prune, register_pruner


def _net(seed=0, sizes=(8, 16, 12, 4), bias=True):
    g = torch.Generator().manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        m = MaskedLinear(a, b, bias=bias)
        with torch.no_grad():
            m.weight.copy_(torch.randn(b, a, generator=g) * 0.5)
            if bias:
                m.bias.copy_(torch.randn(b, generator=g) * 0.5)
        layers += [m, nn.ReLU()] if i < len(sizes) - 2 else [m]
    return nn.Sequential(*layers)


def _synaptic_flow_synflow(net, density, rounds, input_dim):
    """Synaptic-Flow's iterative SynFlow (Tanaka et al. 2020, their prune_loop with SynFlow and global masking),
    re-derived here in float64: every parameter replaced by its absolute value (biases included), masks applied to
    the weights; R = sum of the output on an all-ones input; score = |grad * param|; round r keeps density
    d^(r/R): remove k = int((1 - d_r) N) entries, those with score <= the k-th smallest score (kthvalue)."""
    ws = [m.weight.detach().double().abs() for m in net if isinstance(m, MaskedLinear)]
    bs = [m.bias.detach().double().abs() for m in net if isinstance(m, MaskedLinear)]
    ms = [torch.ones_like(w) for w in ws]
    n = sum(w.numel() for w in ws)
    for epoch in range(rounds):
        sparse = density ** ((epoch + 1) / rounds)
        params = [(w * m).requires_grad_(True) for w, m in zip(ws, ms)]  # apply_mask zeroes the pruned params
        h = torch.ones(1, input_dim, dtype=torch.float64)
        for i, (p, m, b) in enumerate(zip(params, ms, bs)):
            h = h @ (m * p).T + b
            if i < len(params) - 1:
                h = torch.relu(h)
        grads = torch.autograd.grad(h.sum(), params)
        scores = [(g * p).detach().abs() for g, p in zip(grads, params)]
        k = int((1.0 - sparse) * n)
        if k >= 1:
            threshold, _ = torch.kthvalue(torch.cat([s.flatten() for s in scores]), k)
            ms = [torch.where(s <= threshold, torch.zeros_like(m), torch.ones_like(m)) for s, m in zip(scores, ms)]
    return [m.bool() for m in ms]


@pytest.mark.parametrize("density,rounds,seed", [(0.1, 10, 0), (0.05, 20, 1), (0.3, 100, 2)])
def test_peer_compatible_synflow_reproduces_synaptic_flow(density, rounds, seed):
    net = _net(seed)
    want = _synaptic_flow_synflow(net, density, rounds, 8)
    got = prune(net, method="synflow", density=density, input_shape=(8,), synflow_rounds=rounds, peer_compatible=True)
    n = sum(m.numel() for m in want)
    assert sum(int(m.sum()) for m in want) == n - int((1 - density) * n)
    for key, w in zip(["0", "2", "4"], want):
        assert torch.equal(got[key], w), key


def test_our_defaults_differ_from_the_peer_as_documented():
    """Ours: biases off in SynFlow's pass and round(dN); the peer: |b| and ceil(dN). At d = 0.1 on 8-16-12-4
    (N = 368) ours keeps round(36.8) = 37, the peer 368 - int(331.2) = 37; at d = 0.12: 44 vs 45."""
    assert _targets(_net(), 0.12, masks(_net()), None, "global", rounding="nearest") == 44
    assert _targets(_net(), 0.12, masks(_net()), None, "global", rounding="peer") == 45
    assert _targets(_net(), 0.1, masks(_net()), None, "global", rounding="peer") == 37
    want = _synaptic_flow_synflow(_net(3), 0.12, 10, 8)
    ours = prune(_net(3), method="synflow", density=0.12, input_shape=(8,), synflow_rounds=10)
    assert sum(int(v.sum()) for v in ours.values()) == 44
    assert sum(int(m.sum()) for m in want) == 45


def _recording_pruner(name, counts_seen):
    @register_pruner(name)
    def run(task: PruneTask, rounds: int = 4, schedule: str = "exponential"):
        def scores():
            counts_seen.append(sum(int(l.mask.sum()) for l in masked_layers(task.model).values()))
            return {n: l.weight.detach().abs() for n, l in masked_layers(task.model).items()}
        return task.iterate(scores, rounds, schedule)
    return run


@pytest.mark.parametrize("schedule,want", [("linear", [100, 80, 60, 40, 20]), ("exponential", [100, 67, 45, 30, 20])])
def test_iterative_schedules_by_hand(schedule, want):
    """From a dense 10x10 layer to density 0.2 in 4 rounds: linear 0.8, 0.6, 0.4, 0.2; exponential 0.2^(i/4) =
    0.669, 0.447, 0.299, 0.2 -> 67, 45, 30, 20 weights."""
    seen = []
    _recording_pruner("test-recording", seen)
    try:
        net = nn.Sequential(MaskedLinear(10, 10, bias=False))
        new = prune(net, method="test-recording", density=0.2, schedule=schedule)
        assert seen + [int(new["0"].sum())] == want
    finally:
        del _PRUNERS["test-recording"]
    net = _net()
    a = prune(net, method="synflow", density=0.1, input_shape=(8,), synflow_rounds=5, schedule="linear")
    assert sum(int(v.sum()) for v in a.values()) == round(0.1 * 368)
    with pytest.raises(ValueError, match="schedule"):
        prune(_net(), method="snip-it", density=0.1, data=(torch.randn(8, 8), torch.randint(0, 4, (8,))),
              schedule="cubic")


def test_scope_local_is_layer():
    a = prune(_net(), method="magnitude", density=0.2, scope="local")
    b = prune(_net(), method="magnitude", density=0.2, scope="layer")
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="scope"):
        prune(_net(), method="magnitude", density=0.2, scope="per-layer")


def test_invert_keeps_the_smallest_magnitudes():
    net = nn.Sequential(MaskedLinear(3, 2, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[0.3, -2.0, 0.1], [1.0, -0.2, 5.0]]))
    new = prune(net, method="magnitude", density=0.5, invert=True)  # keep 3 of 6: 0.1, -0.2, 0.3
    assert new["0"].tolist() == [[True, False, True], [False, True, False]]


def test_shuffle_keeps_counts_inside_the_support_and_is_seeded():
    from lottery_theory.nets import apply_masks
    def run(seed):
        net = _net()
        g = torch.Generator().manual_seed(9)
        sup = {k: torch.rand(v.shape, generator=g) < 0.5 for k, v in masks(net).items()}
        apply_masks(net, sup)
        plain = prune(_net(), method="magnitude", density=0.1, support=sup)
        new = prune(net, method="magnitude", density=0.1, shuffle=True, generator=torch.Generator().manual_seed(seed))
        return sup, plain, new
    sup, plain, a = run(0)
    _, _, b = run(0)
    _, _, c = run(1)
    for k in a:
        assert int(a[k].sum()) == int(plain[k].sum())  # the method's per-tensor counts, new positions
        assert not bool((a[k] & ~sup[k]).any())
        assert torch.equal(a[k], b[k])
    assert any(not torch.equal(a[k], plain[k]) for k in a) and any(not torch.equal(a[k], c[k]) for k in a)


def test_reinitialize_redraws_weights_from_the_generator():
    net = _net()
    before = net[0].weight.detach().clone()
    new = prune(net, method="magnitude", density=0.3, reinitialize=True, generator=torch.Generator().manual_seed(4))
    w = net[0].weight.detach()
    assert bool((w[~new["0"]] == 0).all()) and not torch.allclose(w[new["0"]], before[new["0"]])
    assert float(w.abs().max()) <= 1 / math.sqrt(8)  # U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    net2 = _net()
    prune(net2, method="magnitude", density=0.3, reinitialize=True, generator=torch.Generator().manual_seed(4))
    assert torch.equal(net2[0].weight, net[0].weight)


def test_prune_bias_ranks_biases_with_weights_by_hand():
    net = nn.Sequential(MaskedLinear(2, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.1], [0.5, 2.0]]))
        net[0].bias.copy_(torch.tensor([3.0, 0.2]))
    new = prune(net, method="magnitude", density=0.5, prune_bias=True)  # 3 of 6 entries: 3 (bias), 2, 1
    assert new["0"].tolist() == [[True, False], [False, True]] and new["0.bias"].tolist() == [True, False]
    assert net[0](torch.zeros(1, 2)).tolist() == [[3.0, 0.0]]  # the pruned bias is exactly zero
    with pytest.raises(ValueError, match="scope='global'"):
        prune(_net(), method="magnitude", density=0.5, prune_bias=True, ratio="erk")


def test_prune_batchnorm_on_a_torch_pruned_model_exports():
    from _models import BNNet

    torch.manual_seed(0)
    net = BNNet(6, 8, 3)
    with torch.no_grad():
        net.bn.weight.copy_(torch.tensor([1e-4, 2e-4, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]))
        net.bn.bias.fill_(1.0)  # the default zero biases would be the smallest entries
    sparsify(net, density=1.0)
    n = 48 + 24 + 16
    new = prune(net, method="magnitude", density=(n - 2) / n, prune_batchnorm=True)
    assert new["bn.weight"].tolist() == [False, False] + [True] * 6  # the two smallest entries of all tensors
    net.eval()
    x = torch.randn(5, 6)
    assert float(net.bn.weight[0]) == 0.0 and float(net.bn.weight[1]) == 0.0
    plain = export(net)
    fresh = BNNet(6, 8, 3)
    fresh.load_state_dict(plain.state_dict(), strict=True)
    fresh.eval()
    assert torch.allclose(fresh(x), net(x))


def test_shared_options_refused_where_they_do_not_apply():
    data = (torch.randn(16, 8), torch.randint(0, 4, (16,)))
    with pytest.raises(ValueError, match="selects its own masks"):
        prune(_net(), method="imp", density=0.5, data=data, invert=True, epochs=1)
    with pytest.raises(TypeError, match="invert"):
        prune(_net(), method="magnitude", density=0.5, invert="yes")
    with pytest.raises(ValueError, match="rounding"):
        prune(_net(), method="magnitude", density=0.5, rounding="up")
    with pytest.raises(ValueError, match="synflow_bias"):
        prune(_net(), method="synflow", density=0.5, input_shape=(8,), synflow_bias="one")
