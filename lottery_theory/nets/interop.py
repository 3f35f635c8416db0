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
    for m in model.modules():  # any module pruned in torch's form (layers, and norms pruned by prune_batchnorm)
        for name in ("weight", "bias"):
            if hasattr(m, name + "_orig"):
                t = getattr(m, name)
                if isinstance(t, torch.Tensor) and not t.is_leaf:
                    setattr(m, name, t.detach())
    return copy.deepcopy(model)


def _check_module(model, name: str = "model") -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")


def sparsify(model: nn.Module, *, density, ratio: str = "uniform", generator: torch.Generator | None = None,
             exact: bool = True, **ratio_options) -> nn.Module:
    """Give every ``nn.Linear`` / ``nn.Conv2d`` of ``model`` (any nesting, any class) an ER mask, in place, in
    ``torch.nn.utils.prune`` form; returns ``model``.

    ``density``: a global fraction kept, spread over the layers by ``ratio``
    (:func:`~lottery_theory.sparsity.layer_densities`: uniform, er, erk, balanced, pyramidal), or one density per
    layer in ``model.named_modules()`` order. ``exact=True`` (default) keeps exactly ``round(d N)`` weights per
    layer; ``exact=False`` draws each weight independently (the paper's ER model). Biases are not masked.
    """
    _check_module(model)
    layers = {n: m for n, m in model.named_modules() if isinstance(m, PRUNABLE)}
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
    for m, d in zip(layers.values(), dens):
        mask = er_mask(tuple(m.weight.shape), d, generator=generator, exact=exact).to(m.weight.device)
        torch_prune.custom_from_mask(m, "weight", mask)
        m.weight = m.weight.detach()  # recomputed by the hook at each forward; a leaf can be deep-copied
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
    :class:`MaskedConv2d` with the same masks (module names unchanged); other modules are copied as they are."""
    _check_module(model)
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
    return out
