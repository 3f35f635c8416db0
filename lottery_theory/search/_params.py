"""What a pruner may remove: the weights of masked layers (keyed by layer name, as always) and, on request, their
biases (``"<layer>.bias"``) and batch-norm affine parameters (``"<bn>.weight"``, ``"<bn>.bias"``).

Masked layers hold bias masks in their ``bias_mask`` buffer; a batch-norm parameter is masked in
``torch.nn.utils.prune`` form (``weight_orig`` + ``weight_mask``), so its pruned entries are exactly zero in every
forward pass and receive no gradient.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from ..nets.masked import masked_layers

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def prunable_keys(model: nn.Module, bias: bool = False, batchnorm: bool = False) -> list[str]:
    """Keys of the tensors a pruner ranks: every masked layer's weight, plus biases / batch-norm affine parameters."""
    layers = masked_layers(model)
    keys = list(layers)
    if bias:
        keys += [f"{n}.bias" for n, m in layers.items() if m.bias is not None]
    if batchnorm:
        keys += [f"{n}.{p}" for n, m in model.named_modules() if isinstance(m, NORMS) and m.affine
                 for p in ("weight", "bias")]
    return keys


def _split(model: nn.Module, key: str) -> tuple[nn.Module, str]:
    mod, _, pname = key.rpartition(".")
    return model.get_submodule(mod), pname


def tensor(model: nn.Module, key: str) -> torch.Tensor:
    """The trainable tensor behind ``key`` (a masked layer's weight, its bias, or a norm's ``*_orig`` / parameter)."""
    layers = masked_layers(model)
    if key in layers:
        return layers[key].weight
    m, p = _split(model, key)
    return getattr(m, p + "_orig") if hasattr(m, p + "_orig") else getattr(m, p)


def current_mask(model: nn.Module, key: str) -> torch.Tensor:
    """The boolean mask now on ``key`` (all ones where it has none)."""
    layers = masked_layers(model)
    if key in layers:
        return layers[key].mask.detach().clone()
    m, p = _split(model, key)
    if key.endswith(".bias") and key[:-5] in layers:
        return m.bias_mask.detach().clone()
    if hasattr(m, p + "_mask"):
        return getattr(m, p + "_mask").detach().bool().clone()
    return torch.ones_like(getattr(m, p), dtype=torch.bool)


@torch.no_grad()
def apply_extra(model: nn.Module, key: str, mask: torch.Tensor) -> None:
    """Set the mask of a bias or norm key (weights go through :func:`~lottery_theory.nets.apply_masks`)."""
    layers = masked_layers(model)
    mask = mask.bool()
    if key.endswith(".bias") and key[:-5] in layers:
        layer = layers[key[:-5]]
        layer.set_mask(layer.mask, mask)
        return
    m, p = _split(model, key)
    if not hasattr(m, p + "_mask"):
        torch_prune.custom_from_mask(m, p, mask.to(getattr(m, p).device))
    else:
        getattr(m, p + "_mask").copy_(mask.to(getattr(m, p + "_mask").dtype))
    orig = getattr(m, p + "_orig")
    orig.masked_fill_(~mask.to(orig.device), 0.0)
    setattr(m, p, (orig * getattr(m, p + "_mask")).detach())
