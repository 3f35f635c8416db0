"""Your own model: ER masks on any ``nn.Module`` in ``torch.nn.utils.prune``'s form, conversion to and from the
package's masked layers, and export to plain weights.

Choice of form (issue 14): :func:`sparsify` uses ``torch.nn.utils.prune.custom_from_mask``, so a sparsified
layer holds ``weight_orig`` (parameter) and ``weight_mask`` (buffer) and recomputes ``weight = weight_orig *
weight_mask`` before each forward pass. ``torch.nn.utils.prune.is_pruned(model)`` is true and every tool that
knows torch's pruning sees the masks; effective pruned weights are exactly zero under any optimizer (the
gradient of ``weight_orig`` is masked). Internally the searches work on :class:`MaskedLinear` /
:class:`MaskedConv2d` (boolean ``mask`` buffers): :func:`as_masked` converts a copy, :func:`to_prune_form`
converts back, and :func:`export` folds either form into plain ``nn.Linear`` / ``nn.Conv2d`` weights, so the
``state_dict`` loads into a fresh instance of the user's class with ``strict=True``.
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from ..sparsity import er_mask, resolve_densities
from .masked import MASKED_TYPES, MaskedConv2d, MaskedLinear

PRUNABLE = (nn.Linear, nn.Conv2d)


def replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` at the dotted module path ``name`` inside ``model``."""
    parent = model
    parts = name.split(".")
    for p in parts[:-1]:
        parent = getattr(parent, p)
    setattr(parent, parts[-1], new)


def is_torch_pruned(m: nn.Module) -> bool:
    """Does ``m`` carry a ``torch.nn.utils.prune`` mask on its weight?"""
    return isinstance(m, PRUNABLE) and hasattr(m, "weight_orig") and hasattr(m, "weight_mask")


def torch_pruned_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if is_torch_pruned(m)}


def copy_model(model: nn.Module) -> nn.Module:
    """``copy.deepcopy`` that also works on ``torch.nn.utils.prune`` models: their cached ``weight`` is a
    non-leaf tensor, which deepcopy refuses; it is detached first (the pruning hook recomputes it before every
    forward pass, with its graph, so nothing is lost)."""
    for m in model.modules():  # pruned in torch's form (layers, norms) or tied to a pruned weight (_TiedWeight)
        for name in ("weight", "bias"):
            t = getattr(m, name, None)
            if isinstance(t, torch.Tensor) and not isinstance(t, nn.Parameter) and not t.is_leaf:
                setattr(m, name, t.detach())
    return copy.deepcopy(model)


def _check_module(model, name: str = "model") -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")


class DenseLeft(UserWarning):
    """:func:`sparsify` left weight matrices of modules it cannot mask dense (listed with their sizes)."""


class _TiedWeight:
    """Forward pre-hook of a layer whose weight is tied to a pruned layer's: it reads the owner's masked weight
    (``weight_orig * weight_mask``) before every forward pass, so both layers share one mask and one tensor. A
    callable object (not a closure), so a deep copy of the model points it at the copied owner."""

    def __init__(self, owner: nn.Module) -> None:
        self.owner = owner

    def __call__(self, module: nn.Module, inputs) -> None:
        module.weight = self.owner.weight_orig * self.owner.weight_mask


def _masked_or_dense(model: nn.Module) -> tuple[dict[str, nn.Module], dict[str, tuple[str, int]]]:
    """The layers :func:`sparsify` masks (``nn.Linear`` / ``nn.Conv2d`` and subclasses that run their own forward)
    and the weight-bearing modules it leaves dense (name -> (class, weight count)): other layer kinds (Conv1d,
    ConvTranspose, Embedding, ...) and the projections inside ``nn.MultiheadAttention``, whose forward reads the
    weights directly so a pruning hook would never run."""
    inside_mha = {f"{n}.{c}" if n else c for n, m in model.named_modules() if isinstance(m, nn.MultiheadAttention)
                  for c, _ in m.named_modules() if c}
    layers, dense = {}, {}
    for n, m in model.named_modules():
        if isinstance(m, PRUNABLE) and n not in inside_mha:
            layers[n] = m
            continue
        own = [p for name, p in m.named_parameters(recurse=False) if p.dim() >= 2]
        if own:
            dense[n] = (type(m).__name__, sum(p.numel() for p in own))
    return layers, dense


def sparsify(model: nn.Module, *, density, ratio: str = "uniform", generator: torch.Generator | None = None,
             exact: bool = True, **ratio_options) -> nn.Module:
    """Give every ``nn.Linear`` / ``nn.Conv2d`` of ``model`` (any nesting, any class) an ER mask, in place, in
    ``torch.nn.utils.prune`` form; returns ``model``.

    ``density``: a global fraction kept, spread over the layers by ``ratio``
    (:func:`~lottery_theory.sparsity.layer_densities`: uniform, er, erk, balanced, pyramidal), or one density per
    layer in ``model.named_modules()`` order. ``exact=True`` (default) keeps exactly ``round(d N)`` weights per
    layer; ``exact=False`` draws each weight independently (the paper's ER model). Biases are not masked.
    All-or-nothing: every mask is drawn before any layer changes. Layers that share one weight tensor (tied
    weights) get one mask and stay tied. Weight matrices of modules it cannot mask (Conv1d, ConvTranspose,
    Embedding, the projections of ``nn.MultiheadAttention``) stay dense and are listed in a :class:`DenseLeft`
    warning with the density reached over the masked weights and over all weight matrices.
    """
    _check_module(model)
    found, dense = _masked_or_dense(model)
    owners: dict[int, str] = {}
    layers, tied = {}, {}
    for n, m in found.items():
        if id(m.weight) in owners:
            tied[n] = owners[id(m.weight)]
        else:
            owners[id(m.weight)] = n
            layers[n] = m
    if not layers:
        raise ValueError("model has no nn.Linear or nn.Conv2d layer to sparsify")
    masked = [n for n, m in layers.items() if isinstance(m, MASKED_TYPES) or is_torch_pruned(m)]
    if masked:
        raise ValueError(f"layers {masked} already carry masks; export(model) first to start from plain weights")
    shapes = [tuple(m.weight.shape) for m in layers.values()]
    dens = resolve_densities(shapes, density, ratio, **ratio_options)
    n_total = sum(m.weight.numel() for m in layers.values())
    if exact and sum(round(d * m.weight.numel()) for m, d in zip(layers.values(), dens)) == 0:
        raise ValueError(f"density={density!r} keeps no weight of the {n_total:,} in the model's layers; the smallest "
                         f"density that keeps one is about {1 / n_total:.3g}")
    new = [er_mask(tuple(m.weight.shape), d, generator=generator, exact=exact).to(m.weight.device)
           for m, d in zip(layers.values(), dens)]  # every mask first: a refusal changes nothing
    for m, mask in zip(layers.values(), new):
        torch_prune.custom_from_mask(m, "weight", mask)
        m.weight = m.weight.detach()  # recomputed by the hook at each forward; a leaf can be deep-copied
    for n, owner in tied.items():
        m, o = found[n], layers[owner]
        del m._parameters["weight"]
        m.register_forward_pre_hook(_TiedWeight(o))
        m.weight = (o.weight_orig * o.weight_mask).detach()
    if dense:
        kept = sum(int(mask.sum()) for mask in new)
        all_w = n_total + sum(c for _, c in dense.values())
        warnings.warn("weight matrices left dense (sparsify masks Linear and Conv2d layers only): "
                      + ", ".join(f"{n} ({k}, {c:,} weights)" for n, (k, c) in dense.items())
                      + f"; density {kept / n_total:.3g} over the masked weights, {(kept + all_w - n_total) / all_w:.3g}"
                      " over all weight matrices", DenseLeft, stacklevel=2)
    return model


def _empty_like(m: nn.Module, conv: type, linear: type, like: torch.Tensor) -> nn.Module:
    """An uninitialised ``conv`` / ``linear`` layer with ``m``'s hyper-parameters, on ``like``'s device and dtype."""
    bias = m.bias is not None
    if isinstance(m, nn.Conv2d):
        new = conv(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding,
                   dilation=m.dilation, groups=m.groups, bias=bias, padding_mode=m.padding_mode, device="meta")
    else:
        new = linear(m.in_features, m.out_features, bias=bias, device="meta")
    return new.to_empty(device=like.device).to(like.dtype)


def _masked_twin(m: nn.Module, weight: torch.Tensor, mask: torch.Tensor) -> nn.Module:
    """A Masked* layer with ``m``'s hyper-parameters, ``weight`` and ``mask`` (bias copied)."""
    bias = m.bias is not None
    new = _empty_like(m, MaskedConv2d, MaskedLinear, weight)
    with torch.no_grad():
        new.weight.copy_(weight)
        new.mask.copy_(mask.bool())
        if bias:
            new.bias.copy_(m.bias.detach())
            new.bias_mask.copy_(m.bias_mask.bool() if hasattr(m, "bias_mask") else torch.ones_like(new.bias_mask))
    new.zero_pruned()
    new.train(m.training)
    return new


def as_masked(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose ``torch.nn.utils.prune``-masked layers are :class:`MaskedLinear` /
    :class:`MaskedConv2d` with the same masks (module names unchanged); other modules are copied as they are.
    Refuses (``TypeError`` naming the class) a masked layer of a subclass, whose own forward the plain twin
    would drop, and layers with tied weights (``ValueError``): searches that rebuild layers cannot keep either."""
    _check_module(model)
    for name, m in torch_pruned_layers(model).items():
        if type(m) not in (nn.Linear, nn.Conv2d):
            raise TypeError(f"layer {name!r} is a {type(m).__module__}.{type(m).__qualname__}, a subclass of "
                            f"{'nn.Conv2d' if isinstance(m, nn.Conv2d) else 'nn.Linear'} with its own behaviour; "
                            "this search rebuilds layers as plain ones and would change what the model computes. "
                            "Use lottery_theory.search.dst (works on your modules in place) or replace the layer")
    tied_hooks = [n for n, m in model.named_modules() if any(isinstance(h, _TiedWeight)
                                                              for h in m._forward_pre_hooks.values())]
    if tied_hooks:
        raise ValueError(f"layers {tied_hooks} are tied to another layer's weight; this search rebuilds layers and "
                         "would untie them (lottery_theory.search.dst keeps ties)")
    out = copy_model(model)
    for name, m in torch_pruned_layers(out).items():
        replace_module(out, name, _masked_twin(m, m.weight_orig.detach() * m.weight_mask, m.weight_mask))
    return out


def to_prune_form(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose :class:`MaskedLinear` / :class:`MaskedConv2d` layers are plain layers carrying
    the same masks in ``torch.nn.utils.prune`` form (masked biases are folded into the bias)."""
    _check_module(model)
    out = copy_model(model)
    for name, m in [(n, x) for n, x in out.named_modules() if isinstance(x, MASKED_TYPES)]:
        plain = _plain_twin(m)
        torch_prune.custom_from_mask(plain, "weight", m.mask.clone())
        plain.weight = plain.weight.detach()  # recomputed by the hook at each forward; a leaf can be copied
        replace_module(out, name, plain)
    return out


def _plain_twin(m: nn.Module) -> nn.Module:
    """Plain ``nn.Linear`` / ``nn.Conv2d`` with ``m``'s effective (masked) weight and bias."""
    bias = m.bias is not None
    new = _empty_like(m, nn.Conv2d, nn.Linear, m.weight)
    with torch.no_grad():
        new.weight.copy_(m.masked_weight() if isinstance(m, MASKED_TYPES) else m.weight)
        if bias:
            new.bias.copy_(m.masked_bias() if isinstance(m, MASKED_TYPES) else m.bias)
    new.train(m.training)
    return new


def export(model: nn.Module) -> nn.Module:
    """A plain copy of ``model`` (same class, same module names) with every mask folded into its weights: pruned
    weights are exact zeros, no mask buffers or pruning hooks remain, and ``state_dict()`` loads into a fresh
    instance of the class with ``strict=True``. Works on both forms and on tickets from ``construct``
    (an ``nn.Sequential`` of plain layers)."""
    _check_module(model)
    out = copy_model(model)
    for name, m in [(n, x) for n, x in out.named_modules() if isinstance(x, MASKED_TYPES)]:
        replace_module(out, name, _plain_twin(m))
    for m in out.modules():
        for pname in ("weight", "bias"):
            if torch_prune.is_pruned(m) and hasattr(m, pname + "_orig"):
                torch_prune.remove(m, pname)
    for m in out.modules():  # ties: point the tied layer at its owner's (now plain) weight parameter
        for key, h in list(m._forward_pre_hooks.items()):
            if isinstance(h, _TiedWeight):
                del m._forward_pre_hooks[key]
                del m.weight
                m.weight = h.owner.weight
    return out
