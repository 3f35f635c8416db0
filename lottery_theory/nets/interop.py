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

PRUNABLE = (nn.Linear, nn.Conv2d)  # what the searches (edge-popup, prune, dst) work on
# what sparsify masks through ``torch.nn.utils.prune`` (every one reads ``self.weight`` in its forward)
SPARSIFIABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                nn.ConvTranspose3d, nn.Embedding)


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


def _pruned_names(m: nn.Module) -> list[str]:
    """Names of the tensors of ``m`` that carry a ``torch.nn.utils.prune`` mask (``weight``, ``in_proj_weight``,
    ...)."""
    out = []
    for h in m._forward_pre_hooks.values():
        if isinstance(h, torch_prune.PruningContainer):
            out += [x._tensor_name for x in h]
        elif isinstance(h, torch_prune.BasePruningMethod):
            out.append(h._tensor_name)
    return out


def copy_model(model: nn.Module) -> nn.Module:
    """``copy.deepcopy`` that also works on ``torch.nn.utils.prune`` models: their cached ``weight`` is a
    non-leaf tensor, which deepcopy refuses; it is detached first (the pruning hook recomputes it before every
    forward pass, with its graph, so nothing is lost)."""
    for m in model.modules():  # pruned in torch's form (layers, norms) or tied to a pruned weight (_TiedWeight)
        for name in {"weight", "bias", *_pruned_names(m)}:
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


class _MhaOutProj:
    """Forward pre-hook of an ``nn.MultiheadAttention`` whose ``out_proj`` is pruned: the attention's forward reads
    ``out_proj.weight`` without calling ``out_proj``, so its pruning hook never runs; this recomputes the masked
    weight before every forward pass (a callable object, so a deep copy follows the copied module)."""

    def __call__(self, module: nn.Module, inputs) -> None:
        module.out_proj.weight = module.out_proj.weight_orig * module.out_proj.weight_mask


def _masked_or_dense(model: nn.Module, include=None) -> tuple[dict[str, tuple[nn.Module, str]],
                                                              dict[str, tuple[str, int]]]:
    """What :func:`sparsify` masks (name -> (module, tensor name)): every Linear, Conv1d/2d/3d, ConvTranspose and
    Embedding weight (subclasses included), the input and output projections of ``nn.MultiheadAttention``, and
    any other parameter of >= 2 dimensions for which ``include(module_name, module, param_name)`` is true; and the
    weight-bearing modules it leaves dense (name -> (class, weight count))."""
    mha = {n: m for n, m in model.named_modules() if isinstance(m, nn.MultiheadAttention)}
    inside_mha = {f"{n}.{c}" if n else c for n, m in mha.items() for c, _ in m.named_modules() if c}
    layers, dense = {}, {}
    for n, m in model.named_modules():
        if n in inside_mha:
            continue
        if isinstance(m, nn.MultiheadAttention):
            names = ["in_proj_weight"] if m.in_proj_weight is not None else ["q_proj_weight", "k_proj_weight",
                                                                              "v_proj_weight"]
            for pn in names:
                layers[f"{n}.{pn}" if n else pn] = (m, pn)
            layers[f"{n}.out_proj" if n else "out_proj"] = (m.out_proj, "weight")
            continue
        if isinstance(m, SPARSIFIABLE):
            layers[n] = (m, "weight")
            continue
        own = [(pn, p) for pn, p in m.named_parameters(recurse=False) if p.dim() >= 2]
        if include is not None:
            for pn, _ in [x for x in own if include(n, m, x[0])]:
                layers[f"{n}.{pn}" if n else pn] = (m, pn)
            own = [x for x in own if not include(n, m, x[0])]
        if own:
            dense[n] = (type(m).__name__, sum(p.numel() for _, p in own))
    return layers, dense


def sparsify(model: nn.Module, *, density, ratio: str = "uniform", generator: torch.Generator | None = None,
             exact: bool = True, include=None, **ratio_options) -> nn.Module:
    """Give every weight matrix of ``model`` that a forward pass reads as an attribute an ER mask, in place, in
    ``torch.nn.utils.prune`` form; returns ``model``.

    Masked: ``nn.Linear``, ``nn.Conv1d/2d/3d``, ``nn.ConvTranspose1d/2d/3d`` and ``nn.Embedding`` weights (any
    nesting, any subclass), ``nn.MultiheadAttention``'s input projection(s) and output projection, and any other
    parameter of >= 2 dimensions for which ``include(module_name, module, param_name)`` returns True. ``density``:
    a global fraction kept, spread over the masked tensors by ``ratio``
    (:func:`~lottery_theory.sparsity.layer_densities`: uniform, er, erk, balanced, pyramidal), or one density per
    tensor in ``model.named_modules()`` order. ``exact=True`` (default) keeps exactly ``round(d N)`` weights per
    tensor; ``exact=False`` draws each weight independently (the paper's ER model). Biases are not masked.
    All-or-nothing: every mask is drawn before any layer changes. Tensors shared by several modules (tied weights)
    get one mask and stay tied. Weight matrices left dense are listed in a :class:`DenseLeft` warning with the
    density reached over the masked weights and over all weight matrices.
    """
    _check_module(model)
    if include is not None and not callable(include):
        raise TypeError(f"include must be a callable (module_name, module, param_name) -> bool, got "
                        f"{type(include).__name__}")
    found, dense = _masked_or_dense(model, include)
    layers, tied = _untie(found)
    if not layers:
        raise ValueError("model has no weight matrix to sparsify (Linear, Conv, ConvTranspose, Embedding, "
                         "MultiheadAttention, or a parameter selected by include=)")
    masked = [n for n, (m, pn) in layers.items() if isinstance(m, MASKED_TYPES) or hasattr(m, pn + "_orig")]
    if masked:
        raise ValueError(f"layers {masked} already carry masks; export(model) first to start from plain weights")
    shapes = [tuple(getattr(m, pn).shape) for m, pn in layers.values()]
    dens = resolve_densities(shapes, density, ratio, **ratio_options)
    n_total = sum(getattr(m, pn).numel() for m, pn in layers.values())
    if exact and sum(round(d * getattr(m, pn).numel()) for (m, pn), d in zip(layers.values(), dens)) == 0:
        raise ValueError(f"density={density!r} keeps no weight of the {n_total:,} in the model's layers; the smallest "
                         f"density that keeps one is about {1 / n_total:.3g}")
    new = [er_mask(tuple(getattr(m, pn).shape), d, generator=generator, exact=exact).to(getattr(m, pn).device)
           for (m, pn), d in zip(layers.values(), dens)]  # every mask first: a refusal changes nothing
    parents = {id(mod.out_proj): mod for mod in model.modules() if isinstance(mod, nn.MultiheadAttention)}
    for (m, pn), mask in zip(layers.values(), new):
        torch_prune.custom_from_mask(m, pn, mask)
        setattr(m, pn, getattr(m, pn).detach())  # recomputed by the hook at each forward; a leaf can be deep-copied
        if id(m) in parents:  # MultiheadAttention reads out_proj.weight without calling out_proj
            parents[id(m)].register_forward_pre_hook(_MhaOutProj())
    for n, owner in tied.items():
        (m, pn), (o, opn) = found[n], layers[owner]
        if pn != "weight" or opn != "weight":
            raise ValueError(f"{n} shares its tensor with {owner}; only tied 'weight' tensors are supported")
        del m._parameters["weight"]
        m.register_forward_pre_hook(_TiedWeight(o))
        m.weight = (o.weight_orig * o.weight_mask).detach()
    if dense:
        _warn_dense(dense, sum(int(mask.sum()) for mask in new), n_total)
    return model


def _untie(found: dict) -> tuple[dict, dict]:
    """Split ``{name: (module, param_name)}`` into the tensors' first owners and the names that share an owner's
    tensor (tied weights: one mask, kept tied)."""
    owners: dict[int, str] = {}
    layers, tied = {}, {}
    for n, (m, pn) in found.items():
        t = getattr(m, pn)
        if id(t) in owners:
            tied[n] = owners[id(t)]
        else:
            owners[id(t)] = n
            layers[n] = (m, pn)
    return layers, tied


def _warn_dense(dense: dict, kept: int, n_masked: int) -> None:
    """A :class:`DenseLeft` warning listing the weight matrices left dense and the densities reached."""
    all_w = n_masked + sum(c for _, c in dense.values())
    warnings.warn("weight matrices left dense (pass include= to mask them): "
                  + ", ".join(f"{n} ({k}, {c:,} weights)" for n, (k, c) in dense.items())
                  + f"; density {kept / n_masked:.3g} over the masked weights, {(kept + all_w - n_masked) / all_w:.3g}"
                  " over all weight matrices", DenseLeft, stacklevel=3)


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
        for pname in _pruned_names(m):
            torch_prune.remove(m, pname)
        for key, h in list(m._forward_pre_hooks.items()):
            if isinstance(h, _MhaOutProj):
                del m._forward_pre_hooks[key]
    for m in out.modules():  # ties: point the tied layer at its owner's (now plain) weight parameter
        for key, h in list(m._forward_pre_hooks.items()):
            if isinstance(h, _TiedWeight):
                del m._forward_pre_hooks[key]
                del m.weight
                m.weight = h.owner.weight
    return out
