"""A user's model never changes silently: batch-norm statistics survive edge-popup, layer subclasses are refused by
name, tied weights get one mask and stay tied, weights left dense are reported, sparsify is all-or-nothing."""
import warnings

import pytest
import torch
from torch import nn

from _models import BNNet
from lottery_theory import export, sparsify
from lottery_theory.nets.interop import DenseLeft
from lottery_theory.search import evaluate
from lottery_theory.search.edge_popup import edge_popup
from lottery_theory.sparsity import density


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g) * 3 + 1
    return x, (x[:, :3].argmax(1))


def test_edge_popup_keeps_the_batchnorm_statistics_it_scored_with():
    torch.manual_seed(0)
    net = BNNet()
    sparsify(net, density=0.5, generator=torch.Generator().manual_seed(0))
    data, val = _data(), _data(128, 1)
    res = edge_popup(net, data, val_data=val, density=0.25, epochs=3, generator=torch.Generator().manual_seed(1),
                     progress=False)
    bn = res.network.bn
    assert int(bn.num_batches_tracked) > 0  # was 0: the statistics were dropped with the search's copy
    assert evaluate(res.network, val)["accuracy"] == pytest.approx(res.best_val)  # computes what was scored
    rec = edge_popup(net, data, val_data=val, density=0.25, epochs=3, generator=torch.Generator().manual_seed(1),
                     progress=False, recalibrate_bn=True)
    assert not torch.equal(rec.network.bn.running_mean, bn.running_mean)  # recomputed over the training data
    x = data[0]
    h = rec.network.fc1(x)
    assert torch.allclose(rec.network.bn.running_mean, h.mean(0), atol=1e-4)  # the exact average of one pass


class Conv2dSame(nn.Conv2d):  # a subclass with its own forward (timm's "same" padding)
    def forward(self, x):
        return super().forward(nn.functional.pad(x, (1, 1, 1, 1)))


def test_layer_subclasses_are_refused_by_name():
    net = nn.Sequential(Conv2dSame(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    sparsify(net, density=0.5)
    x = torch.randn(16, 1, 8, 8)
    with pytest.raises(TypeError, match="Conv2dSame"):
        edge_popup(net, (x, torch.zeros(16, dtype=torch.long)), density=0.2, epochs=1, progress=False)


def test_tied_weights_get_one_mask_and_stay_tied():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = nn.Linear(6, 6, bias=False), nn.Linear(6, 6, bias=False)
            self.dec.weight = self.enc.weight  # tied

        def forward(self, x):
            return self.dec(torch.relu(self.enc(x)))
    torch.manual_seed(0)
    net = Tied()
    dense = net.enc.weight.detach().clone()
    sparsify(net, density=0.5, generator=torch.Generator().manual_seed(0))
    x = torch.randn(4, 6)
    m = net.enc.weight_mask
    assert float(m.mean()) == 0.5 and torch.equal(net.dec.weight, net.enc.weight)
    w = dense * m
    assert torch.allclose(net(x), torch.relu(x @ w.T) @ w.T)
    plain = export(net)
    assert plain.dec.weight is plain.enc.weight  # the tie survives export
    assert float((plain.enc.weight != 0).float().mean()) == 0.5  # not 0.25 (two masks multiplied)
    fresh = Tied()
    fresh.load_state_dict(plain.state_dict(), strict=True)
    assert torch.allclose(fresh(x), net(x))


class _Scale(nn.Module):
    """A custom layer with its own 2-D parameter (read as an attribute in forward)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(2, 2))

    def forward(self, x):
        return x @ self.w


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.conv1d = nn.Embedding(50, 8), nn.Conv1d(8, 8, 3)
        self.up = nn.ConvTranspose1d(8, 8, 2)
        self.att = nn.MultiheadAttention(8, 2, batch_first=True)
        self.fc, self.scale = nn.Linear(8, 2), _Scale()

    def forward(self, x):
        h = self.up(self.conv1d(self.emb(x).transpose(1, 2))).transpose(1, 2)
        h, _ = self.att(h, h, h, need_weights=False)
        return self.scale(self.fc(h.mean(1)))


def _by_hand(net: Mixed, x):
    """Mixed's forward computed from the masked tensors with torch.nn.functional (no module forward)."""
    import torch.nn.functional as F

    w = lambda m, n="weight": getattr(m, n + "_orig") * getattr(m, n + "_mask")  # noqa: E731
    h = F.embedding(x, w(net.emb)).transpose(1, 2)
    h = F.conv1d(h, w(net.conv1d), net.conv1d.bias)
    h = F.conv_transpose1d(h, w(net.up), net.up.bias).transpose(1, 2)
    a = net.att
    h, _ = F.multi_head_attention_forward(h.transpose(0, 1), h.transpose(0, 1), h.transpose(0, 1), 8, 2,
                                          w(a, "in_proj_weight"), a.in_proj_bias, None, None, False, 0.0,
                                          w(a.out_proj), a.out_proj.bias, training=False, need_weights=False)
    return F.linear(h.transpose(0, 1).mean(1), w(net.fc), net.fc.bias) @ net.scale.w


def test_every_weight_matrix_is_masked_or_reported():
    """Embedding, Conv1d, ConvTranspose1d and MultiheadAttention's projections are masked (the attention reads
    its out_proj weight without calling out_proj: a hook recomputes it); a custom module's own 2-D parameter is
    listed as dense, and masked with include=. Outputs equal the masked computation done by hand; export loads
    strictly into a fresh instance and computes the same."""
    torch.manual_seed(0)
    net = Mixed().eval()
    with pytest.warns(DenseLeft, match=r"scale \(_Scale, 4 weights\)") as rec:
        sparsify(net, density=0.25, generator=torch.Generator().manual_seed(0))
    assert "density 0.25 over the masked weights" in str(rec[0].message)
    for m, n in [(net.emb, "weight"), (net.conv1d, "weight"), (net.up, "weight"), (net.att, "in_proj_weight"),
                 (net.att.out_proj, "weight"), (net.fc, "weight")]:
        assert float(getattr(m, n + "_mask").float().mean()) == pytest.approx(0.25, abs=0.01), (m, n)
    x = torch.randint(0, 50, (3, 7))
    with torch.no_grad():
        assert torch.allclose(net(x), _by_hand(net, x), atol=1e-6)
        net.att.out_proj.weight_orig.mul_(2)  # the mask hook must see a change of weight_orig at the next forward
        assert torch.allclose(net(x), _by_hand(net, x), atol=1e-6)
    plain = export(net)
    fresh = Mixed().eval()
    fresh.load_state_dict(plain.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.allclose(fresh(x), net(x), atol=1e-6)
    sel = Mixed()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left dense
        sparsify(sel, density=0.5, include=lambda name, module, param: name == "scale" and param == "w",
                 generator=torch.Generator().manual_seed(1))
    assert float(sel.scale.w_mask.float().mean()) == 0.5
    with pytest.raises(TypeError, match="include must be a callable"):
        sparsify(Mixed(), density=0.5, include="scale")


def test_sparsify_is_all_or_nothing_and_density_reads_prune_form():
    net = BNNet()
    with pytest.raises(ValueError):
        sparsify(net, density=[0.5, 1.5])
    assert not any(hasattr(m, "weight_mask") for m in net.modules())  # nothing half-done
    sparsify(net, density=0.25, generator=torch.Generator().manual_seed(0))
    assert density(net) == pytest.approx(0.25, abs=1 / 352)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sparsify(BNNet(), density=0.5)  # nothing left dense (norms carry no weight matrix): no warning


def test_edge_popup_names_ratio_when_a_layer_cannot_hold_its_share():
    net = BNNet()
    sparsify(net, density=[0.9, 0.1])
    with pytest.raises(ValueError, match=r"ratio=.*support"):
        edge_popup(net, _data(), density=0.3, epochs=1, progress=False)
    res = edge_popup(net, _data(), density=0.3, epochs=1, progress=False, ratio="support")
    assert all(float(m.weight_mask.sum()) > 0 for m in (res.network.fc1, res.network.fc2))
