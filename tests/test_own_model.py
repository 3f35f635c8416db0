"""Bring your own model (issue 14): ER masks on any nn.Module in torch.nn.utils.prune form, searches inside
them, export to plain weights that load into a fresh instance of the user's class."""
import math

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

import lottery_theory
from lottery_theory.nets import er_source, masked_layers
from lottery_theory.nets.interop import as_masked, to_prune_form, torch_pruned_layers
from lottery_theory.search.edge_popup import edge_popup
from lottery_theory.search.prune import prune
from lottery_theory.search.train import train
from lottery_theory.tickets import construct


class TwoBranch(nn.Module):
    """Two branches (one of them nested two deep), concatenated, then a head: not an nn.Sequential."""

    def __init__(self, d: int = 20, classes: int = 3):
        super().__init__()
        self.left = nn.Sequential(nn.Linear(d, 32), nn.ReLU())
        self.right = nn.ModuleDict({"inner": nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, 32)),
                                    "act": nn.ReLU()})
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        r = self.right["act"](self.right["inner"](x))
        return self.head(torch.cat([self.left(x), r], dim=1))


def _data(n=600, d=20, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, classes, generator=g)
    return x, (x @ w).argmax(1)


def test_sparsify_edge_popup_export_reload_roundtrip():
    model = TwoBranch()
    lottery_theory.sparsify(model, density=0.1, generator=torch.Generator().manual_seed(1))
    assert torch_prune.is_pruned(model)
    layers = torch_pruned_layers(model)
    assert sorted(layers) == ["head", "left.0", "right.inner.0", "right.inner.2"]
    for m in layers.values():  # exact counts: round(0.1 N) kept per layer
        assert int(m.weight_mask.sum()) == round(0.1 * m.weight.numel())
    support = {n: m.weight_mask.bool().clone() for n, m in layers.items()}
    res = edge_popup(model, _data(), density=0.05, epochs=2, generator=torch.Generator().manual_seed(2),
                     progress=False)
    net = res.network
    assert isinstance(net, TwoBranch) and torch_prune.is_pruned(net)  # same form as given
    for n, m in torch_pruned_layers(net).items():
        keep = m.weight_mask.bool()
        assert not (keep & ~support[n]).any()  # never leaves the support
        assert int(keep.sum()) == round(0.05 * m.weight.numel())
        assert torch.count_nonzero(m.weight[~keep]) == 0
    plain = lottery_theory.export(net)
    assert not torch_prune.is_pruned(plain) and not masked_layers(plain)
    fresh = TwoBranch()
    fresh.load_state_dict(plain.state_dict(), strict=True)
    x = torch.randn(50, 20, generator=torch.Generator().manual_seed(3))
    assert torch.equal(fresh(x), net(x))
    for n, m in layers.items():
        w = dict(fresh.named_modules())[n].weight
        assert int(torch.count_nonzero(w)) <= round(0.05 * w.numel())


def test_user_pruned_model_is_a_support_for_prune_and_train():
    model = TwoBranch()
    for m in (model.left[0], model.head):
        torch_prune.random_unstructured(m, "weight", amount=0.5)  # the user's own torch pruning
    before = {n: m.weight_mask.bool().clone() for n, m in torch_pruned_layers(model).items()}
    masks = prune(model, method="magnitude", density=0.25, scope="layer")
    for n, m in torch_pruned_layers(model).items():
        assert torch.equal(m.weight_mask.bool(), masks[n]) and not (masks[n] & ~before[n]).any()
        assert int(masks[n].sum()) == round(0.25 * masks[n].numel())
    train(model, _data(), epochs=2, lr=1e-2, generator=torch.Generator().manual_seed(0), progress=False)
    for n, m in torch_pruned_layers(model).items():
        assert torch.count_nonzero(m.weight[~masks[n]]) == 0  # pruned weights stay exactly zero


def test_er_source_of_a_custom_class_and_conversions():
    src = er_source(TwoBranch(), width_multiplier=1, density=0.3, ratio="erk",
                    generator=torch.Generator().manual_seed(0))
    assert isinstance(src, TwoBranch) and torch_prune.is_pruned(src)
    total = sum(m.weight.numel() for m in torch_pruned_layers(src).values())
    kept = sum(int(m.weight_mask.sum()) for m in torch_pruned_layers(src).values())
    assert abs(kept / total - 0.3) < 0.01  # erk redistributes, the global density is kept
    masked = as_masked(src)
    x = torch.randn(10, 20)
    assert torch.allclose(masked(x), src(x)) and set(masked_layers(masked)) == set(torch_pruned_layers(src))
    back = to_prune_form(masked)
    assert torch.allclose(back(x), src(x))
    with pytest.raises(ValueError, match="only an nn.Sequential target can be widened"):
        er_source(TwoBranch(), width_multiplier=2, density=0.3)
    with pytest.raises(ValueError, match="already carry masks"):
        lottery_theory.sparsify(src, density=0.1)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        lottery_theory.sparsify([1, 2], density=0.1)


def test_ticket_exports_to_plain_sequential():
    t = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    tk = construct(t, density=0.5, eps=0.1, width_multiplier=16, generator=torch.Generator().manual_seed(0))
    plain = lottery_theory.export(tk.network)
    assert all(type(m) in (nn.Linear, nn.ReLU) for m in plain)
    x = torch.rand(20, 3) * 2 - 1
    assert torch.equal(plain(x), tk.network(x))
    kept = sum(int(torch.count_nonzero(m.weight)) for m in plain if isinstance(m, nn.Linear))
    assert kept <= tk.kept_params and math.isfinite(kept)


def test_target_from_state_dict_and_spec(tmp_path):
    from lottery_theory.nets import target_from_state_dict

    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    spec = [["Linear", 4, 3, True], ["ReLU"], ["Linear", 3, 2, True]]
    torch.save(m.state_dict(), tmp_path / "sd.pt")
    x = torch.rand(5, 4)
    assert torch.equal(target_from_state_dict(tmp_path / "sd.pt", spec)(x), m(x))
    with pytest.raises(ValueError, match="does not fit the spec"):
        target_from_state_dict({"0.weight": torch.zeros(3, 4)}, spec)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a torch zip archive"):
        target_from_state_dict(tmp_path / "bad.pt", spec)


def test_apply_masks_on_plain_and_torch_pruned_models():
    from lottery_theory.nets import apply_masks

    model = TwoBranch()
    with pytest.raises(ValueError, match="sparsify"):
        apply_masks(model, {"head": torch.ones(3, 64, dtype=torch.bool)})
    lottery_theory.sparsify(model, density=0.5, generator=torch.Generator().manual_seed(0))
    m = torch.zeros(3, 64, dtype=torch.bool)
    m[:, :5] = True
    apply_masks(model, {"head": m})
    assert torch.equal(model.head.weight_mask.bool(), m) and torch.count_nonzero(model.head.weight[:, 5:]) == 0
