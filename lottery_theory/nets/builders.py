"""Target networks and Erdős–Rényi source networks built from masked layers."""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .._validation import Registry, check_alloc, check_bool, check_density, check_positive_int, lookup, split_config
from ..sparsity import er_mask, resolve_densities
from .masked import MASKED_TYPES, MaskedConv2d, MaskedLinear, masked_layers

InitFn = Callable[[torch.Tensor, torch.Generator | None], None]
_INITS = Registry("init", "init")
_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"relu": nn.ReLU, "identity": nn.Identity, "tanh": nn.Tanh}


def register_init(name: str) -> Callable[[InitFn], InitFn]:
    """Register ``fn(weight, generator)`` that fills ``weight`` in place."""
    return _INITS.register(name)


def available_inits() -> list[str]:
    return _INITS.names()


def _fan_in(w: torch.Tensor) -> int:
    return int(math.prod(w.shape[1:]))


@register_init("uniform")
def _init_uniform(w: torch.Tensor, g: torch.Generator | None) -> None:
    """U[-1, 1], the distribution assumed by the subset-sum constructions (Lueker 1998)."""
    w.copy_(torch.rand(w.shape, generator=g, dtype=w.dtype) * 2 - 1)


@register_init("kaiming_normal")
def _init_kaiming_normal(w: torch.Tensor, g: torch.Generator | None) -> None:
    """N(0, 2/fan_in) (He et al. 2015), as in edge-popup (Ramanujan et al. 2020)."""
    w.copy_(torch.randn(w.shape, generator=g, dtype=w.dtype) * math.sqrt(2.0 / _fan_in(w)))


@register_init("signed_constant")
def _init_signed_constant(w: torch.Tensor, g: torch.Generator | None) -> None:
    """±sqrt(2/fan_in) with random signs (edge-popup's signed Kaiming constant)."""
    sign = torch.randint(0, 2, w.shape, generator=g).to(w.dtype) * 2 - 1
    w.copy_(sign * math.sqrt(2.0 / _fan_in(w)))


@register_init("kaiming_uniform")
def _init_kaiming_uniform(w: torch.Tensor, g: torch.Generator | None) -> None:
    """U[-b, b] with b = 1/sqrt(fan_in): PyTorch's default Linear init, drawn from ``g``."""
    b = 1.0 / math.sqrt(_fan_in(w))
    w.copy_((torch.rand(w.shape, generator=g, dtype=w.dtype) * 2 - 1) * b)


@torch.no_grad()
def init_params(model: nn.Module, init: str = "kaiming_uniform", *, generator: torch.Generator | None = None,
                bias: str | None = "same") -> None:
    """Re-initialise every Linear/Conv2d of ``model`` with ``init``; biases use the same rule or zero."""
    fn = _INITS.get_checked(init)
    for mod in model.modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            fn(mod.weight, generator)
            if mod.bias is not None:
                if bias == "same":
                    tmp = torch.empty(mod.bias.shape[0], max(1, _fan_in(mod.weight)), dtype=mod.bias.dtype)
                    fn(tmp, generator)
                    mod.bias.copy_(tmp[:, 0])
                else:
                    mod.bias.zero_()
            if isinstance(mod, MASKED_TYPES):
                mod.zero_pruned()


def _check_widths(widths: Sequence[int], name: str = "widths") -> list[int]:
    if not isinstance(widths, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be a list of positive ints, got {widths!r}")
    ws = list(widths)
    if len(ws) < 2:
        raise ValueError(f"{name} needs at least an input and an output width, got {ws}")
    return [check_positive_int(w, f"{name}[{i}]") for i, w in enumerate(ws)]


def mlp(widths: Sequence[int], *, bias: bool = True, activation: str = "relu", init: str = "kaiming_uniform",
        generator: torch.Generator | None = None) -> nn.Sequential:
    """Fully connected network ``widths = (n_0, ..., n_L)`` of masked layers (all-ones masks).

    Module names are ``"0", "2", ...`` for the Linear layers (``nn.Sequential``
    indices), with the activation between layers and none after the last.
    """
    ws = _check_widths(widths)
    check_bool(bias, "bias")
    act = lookup(_ACTIVATIONS, activation, "activation", "activation")
    check_alloc(sum(a * b for a, b in zip(ws[:-1], ws[1:])) * 9.0, f"mlp({ws})")  # float32 weight, bool mask, init
    layers: list[nn.Module] = []
    for i in range(len(ws) - 1):
        layers.append(MaskedLinear(ws[i], ws[i + 1], bias=bias))
        if i < len(ws) - 2:
            layers.append(act())
    net = nn.Sequential(*layers)
    init_params(net, init, generator=generator)
    return net


def conv_net(in_channels: int = 1, num_classes: int = 10, *, channels: Sequence[int] = (16, 32), image_size: int = 8,
             hidden: int = 64, bias: bool = True, init: str = "kaiming_uniform",
             generator: torch.Generator | None = None) -> nn.Sequential:
    """Small conv net: [3x3 conv (padding 1) + ReLU] per entry of ``channels``, flatten, Linear-ReLU-Linear."""
    if not isinstance(channels, (list, tuple)) or not channels:
        raise TypeError(f"channels must be a non-empty list of positive ints, got {channels!r}")
    cs = [check_positive_int(in_channels, "in_channels")] + [check_positive_int(c, "channels") for c in channels]
    check_positive_int(image_size, "image_size")
    check_positive_int(hidden, "hidden")
    check_bool(bias, "bias")
    layers: list[nn.Module] = []
    for a, b in zip(cs[:-1], cs[1:]):
        layers += [MaskedConv2d(a, b, 3, padding=1, bias=bias), nn.ReLU()]
    layers += [nn.Flatten(), MaskedLinear(cs[-1] * image_size * image_size, hidden, bias=bias), nn.ReLU(),
               MaskedLinear(hidden, check_positive_int(num_classes, "num_classes"), bias=bias)]
    net = nn.Sequential(*layers)
    init_params(net, init, generator=generator)
    return net


def widths_of(target: nn.Module) -> list[int]:
    """Widths ``(n_0, ..., n_L)`` of an MLP made of Linear layers."""
    lins = [m for m in target.modules() if isinstance(m, nn.Linear)]
    if not lins or any(isinstance(m, nn.Conv2d) for m in target.modules()):
        raise ValueError("widths_of needs a network made of nn.Linear layers")
    return [lins[0].in_features] + [m.out_features for m in lins]


def _widen(target: nn.Sequential, k: Sequence[int]) -> nn.Sequential:
    """Copy the architecture of ``target`` with the output width of prunable layer ``i`` times ``k[i]``."""
    out: list[nn.Module] = []
    idx = 0
    prev = 1  # multiplier of the previous layer's output channels/features
    n_prunable = sum(isinstance(m, (nn.Linear, nn.Conv2d)) for m in target)
    size, pv, i = 0, 1, 0  # parameter count of the widened network, checked before anything is allocated
    for m in target:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            mult = k[i] if i < n_prunable - 1 else 1
            size += m.weight.numel() * pv * mult
            pv, i = mult, i + 1
    check_alloc(size * 9.0, f"an ER source of {size:,} weights")  # float32 weight, bool mask, init scratch
    for m in target:
        if isinstance(m, nn.Conv2d):
            mult = k[idx] if idx < n_prunable - 1 else 1
            out.append(MaskedConv2d(m.in_channels * prev, m.out_channels * mult, m.kernel_size, stride=m.stride,
                                    padding=m.padding, dilation=m.dilation, bias=m.bias is not None))
            prev, idx = mult, idx + 1
        elif isinstance(m, nn.Linear):
            mult = k[idx] if idx < n_prunable - 1 else 1
            out.append(MaskedLinear(m.in_features * prev, m.out_features * mult, bias=m.bias is not None))
            prev, idx = mult, idx + 1
        elif isinstance(m, (nn.ReLU, nn.Flatten, nn.Identity, nn.Tanh, nn.MaxPool2d, nn.AvgPool2d)):
            out.append(copy.deepcopy(m))  # parameter-free: copied as is
        else:
            raise TypeError(f"er_source cannot widen a {type(m).__name__}; use Linear, Conv2d, ReLU, Flatten, pooling")
    return nn.Sequential(*out)


def _draw_weights(source: nn.Module, layers, init: str, scale_fan: float | None, generator) -> None:
    """Fresh weights for ``source`` by ``init``; ``scale_fan`` (a density) divides those of ``layers`` by
    ``sqrt(scale_fan)`` (hidden-networks' ``--scale-fan``)."""
    init_params(source, init, generator=generator)
    if scale_fan is not None:
        factor = 1.0 / math.sqrt(check_density(scale_fan, "scale_fan"))
        with torch.no_grad():
            for m in layers:
                m.weight.mul_(factor)


def _er_source_any(target: nn.Module, width_multiplier, init: str, scale_fan: float | None, generator,
                   masks: dict) -> nn.Module:
    """er_source for a module of any class: same architecture (width_multiplier must be 1), fresh weights,
    ER masks in ``torch.nn.utils.prune`` form (:func:`~lottery_theory.nets.interop.sparsify` with ``masks``: density,
    ratio, exact and the ratio's options)."""
    from .interop import sparsify

    ks = [width_multiplier] if isinstance(width_multiplier, int) else list(width_multiplier)
    if any(isinstance(k, bool) or k != 1 for k in ks):
        raise ValueError(f"width_multiplier={width_multiplier!r}: only an nn.Sequential target can be widened; "
                         f"for a {type(target).__name__} use width_multiplier=1")
    source = copy.deepcopy(target)
    _draw_weights(source, [m for m in source.modules() if isinstance(m, (nn.Linear, nn.Conv2d))], init, scale_fan,
                  generator)
    return sparsify(source, generator=generator, **masks)


@dataclass(frozen=True)
class SourceConfig:
    """Options of :func:`er_source` (``width_multiplier`` and ``density`` required); ``ratio_options`` go to the
    layer-wise ratio (e.g. ``erk_power``)."""
    width_multiplier: int | Sequence[int] | None = None
    density: float | Sequence[float] | None = None
    ratio: str = "uniform"
    exact: bool = False
    bias: bool = True
    init: str = "uniform"
    scale_fan: float | None = None
    ratio_options: dict = field(default_factory=dict)


def er_source(target_or_widths: nn.Module | Sequence[int], config: SourceConfig | None = None, *,
              generator: torch.Generator | None = None, **options) -> nn.Sequential:
    """An ER source network: the target's depth, hidden widths times ``width_multiplier``, random masks.

    Options: a :class:`SourceConfig` and/or its fields by keyword (keywords win); other keywords are options of
    the layer-wise ratio (an unknown one is an error naming it). ``density`` (fraction kept) is either a global
    density, spread over layers by ``ratio`` via :func:`~lottery_theory.sparsity.layer_densities`, or a list with
    one density per layer. Each mask is drawn by :func:`er_mask` (Bernoulli, the
    paper's ER model, unless ``exact=True``). Weights are drawn with ``init``
    (default U[-1, 1], the constructions' distribution). ``scale_fan`` (a density) divides the
    weights by ``sqrt(scale_fan)``, so a Kaiming init has the variance of a layer whose fan-in is
    ``scale_fan`` times smaller: hidden-networks' ``--scale-fan`` for a ticket of that density. ``bias``: whether a
    target given by its widths has biases.
    A target of any other ``nn.Module`` class keeps its architecture (``width_multiplier=1``) and gets
    ``torch.nn.utils.prune`` masks (:func:`~lottery_theory.nets.interop.sparsify`).
    """
    cfg, rest = split_config(SourceConfig, config, options, "er_source", required=("width_multiplier", "density"))
    ratio_options = {**cfg.ratio_options, **rest}
    width_multiplier, density, ratio, exact, bias, init, scale_fan = (cfg.width_multiplier, cfg.density, cfg.ratio,
                                                                      cfg.exact, cfg.bias, cfg.init, cfg.scale_fan)
    if isinstance(target_or_widths, nn.Module) and not isinstance(target_or_widths, nn.Sequential):
        return _er_source_any(target_or_widths, width_multiplier, init, scale_fan, generator,
                              dict(density=density, ratio=ratio, exact=exact, **ratio_options))
    if isinstance(target_or_widths, nn.Module):
        target = target_or_widths
        n_layers = sum(isinstance(m, (nn.Linear, nn.Conv2d)) for m in target)
    else:
        ws = _check_widths(target_or_widths, "target_or_widths")
        target = mlp(ws, bias=bias)
        n_layers = len(ws) - 1
    if not isinstance(width_multiplier, (list, tuple)):
        k = [check_positive_int(width_multiplier, "width_multiplier")] * max(1, n_layers - 1)
    else:
        k = [check_positive_int(x, "width_multiplier") for x in width_multiplier]
        if len(k) != n_layers - 1:
            raise ValueError(f"width_multiplier has {len(k)} entries; the target has {n_layers - 1} hidden layers")
    source = _widen(target, k)
    layers = list(masked_layers(source).values())
    _draw_weights(source, layers, init, scale_fan, generator)
    shapes = [tuple(l.weight.shape) for l in layers]
    dens = resolve_densities(shapes, density, ratio, **ratio_options)
    for layer, d in zip(layers, dens):
        layer.set_mask(er_mask(layer.weight.shape, d, generator=generator, exact=exact))
    return source
