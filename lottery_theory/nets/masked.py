"""Masked layers: ``nn.Linear`` / ``nn.Conv2d`` subclasses whose forward pass uses ``weight * mask``.

The mask is a boolean **buffer** named ``mask`` (in ``state_dict``). An optional
``bias_mask`` buffer does the same for the bias. Pruned weights are set to zero
when a mask is applied; because the forward pass multiplies by the mask, their
gradient is exactly zero, so SGD (momentum, weight decay) and Adam/AdamW keep
them exactly zero (0 * anything = 0 in IEEE arithmetic).
:func:`enforce_masks` re-zeroes them anyway, for optimizers that add noise.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn


def _as_binary(mask, name: str) -> torch.Tensor:
    """A mask as a bool tensor: bool, or numbers that are all exactly 0 or 1 (0.5, NaN, -1 are errors)."""
    try:
        t = torch.as_tensor(mask)
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{name} must be a bool tensor or an array of 0/1, got {type(mask).__name__}: {e}") from None
    if t.dtype == torch.bool:
        return t
    if t.is_complex() or not bool(torch.all((t == 0) | (t == 1))):
        raise ValueError(f"{name} must hold only 0/1 (or True/False); got other values (e.g. 0.5, NaN, -1)")
    return t.bool()


class _MaskMixin:
    weight: torch.Tensor
    bias: torch.Tensor | None
    mask: torch.Tensor
    bias_mask: torch.Tensor | None

    def _init_masks(self) -> None:
        self.register_buffer("mask", torch.ones_like(self.weight, dtype=torch.bool))
        if self.bias is not None:
            self.register_buffer("bias_mask", torch.ones_like(self.bias, dtype=torch.bool))
        else:
            self.register_buffer("bias_mask", None)

    def set_mask(self, mask: torch.Tensor, bias_mask: torch.Tensor | None = None) -> None:
        """Replace the weight mask (and optionally the bias mask); zero the pruned entries."""
        mask = _as_binary(mask, "mask")
        if tuple(mask.shape) != tuple(self.weight.shape):
            raise ValueError(f"mask has shape {tuple(mask.shape)} but the weight has shape {tuple(self.weight.shape)}")
        self.mask.copy_(mask.to(device=self.mask.device, dtype=torch.bool))
        if bias_mask is not None:
            if self.bias is None:
                raise ValueError("bias_mask given, but the layer has no bias")
            bias_mask = _as_binary(bias_mask, "bias_mask")
            if tuple(bias_mask.shape) != tuple(self.bias.shape):
                raise ValueError(f"bias_mask has shape {tuple(bias_mask.shape)} but the bias has shape {tuple(self.bias.shape)}")
            self.bias_mask.copy_(bias_mask.to(device=self.bias_mask.device, dtype=torch.bool))
        self.zero_pruned()

    @torch.no_grad()
    def zero_pruned(self) -> None:
        self.weight.masked_fill_(~self.mask, 0.0)  # a fill, not a product: inf * 0 would leave NaN
        if self.bias is not None and self.bias_mask is not None:
            self.bias.masked_fill_(~self.bias_mask, 0.0)

    def masked_weight(self) -> torch.Tensor:
        """``weight`` with pruned entries exactly 0 (a select, not a product: an inf or NaN pruned weight gives 0,
        not NaN; the gradient of pruned entries is 0 either way)."""
        return torch.where(self.mask, self.weight, torch.zeros((), dtype=self.weight.dtype, device=self.weight.device))

    def masked_bias(self) -> torch.Tensor | None:
        if self.bias is None:
            return None
        return torch.where(self.bias_mask, self.bias, torch.zeros((), dtype=self.bias.dtype, device=self.bias.device))


def _sizes(**sizes) -> None:
    """Layer sizes must be positive ints (torch would raise a raw RuntimeError, or build an empty layer)."""
    for name, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


class MaskedLinear(_MaskMixin, nn.Linear):
    """``nn.Linear`` with a boolean ``mask`` buffer (and ``bias_mask`` when it has a bias)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        _sizes(in_features=in_features, out_features=out_features)
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self._init_masks()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.masked_weight(), self.masked_bias())


class MaskedConv2d(_MaskMixin, nn.Conv2d):
    """``nn.Conv2d`` with a boolean ``mask`` buffer (and ``bias_mask`` when it has a bias)."""

    def __init__(self, in_channels: int, out_channels: int, *args, **kwargs) -> None:
        _sizes(in_channels=in_channels, out_channels=out_channels)
        super().__init__(in_channels, out_channels, *args, **kwargs)
        self._init_masks()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.masked_weight(), self.masked_bias())


MASKED_TYPES = (MaskedLinear, MaskedConv2d)


def masked_layers(model: nn.Module) -> dict[str, _MaskMixin]:
    """Masked layers of ``model`` by module name, in registration (input-to-output) order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, MASKED_TYPES)}


def masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Weight masks of every masked layer, keyed by module name (clones, boolean)."""
    return {name: m.mask.detach().clone() for name, m in masked_layers(model).items()}


def apply_masks(model: nn.Module, new_masks: Mapping[str, torch.Tensor]) -> None:
    """Set the weight masks of ``model`` from ``{module name: mask}``; pruned weights become 0. Layers masked
    with ``torch.nn.utils.prune`` (e.g. by :func:`~lottery_theory.sparsify`) get their ``weight_mask`` set."""
    layers = masked_layers(model)
    pruned = {n: m for n, m in model.named_modules()
              if isinstance(m, (nn.Linear, nn.Conv2d)) and hasattr(m, "weight_mask") and n not in layers}
    known = {**layers, **pruned}
    unknown = sorted(set(new_masks) - set(known))
    if unknown:
        hint = "" if known else " (the model has no masks: lottery_theory.sparsify(model, density=...) adds them)"
        raise ValueError(f"masks given for unknown layers {unknown}; masked layers are {sorted(known)}{hint}")
    for name, mask in new_masks.items():
        if name in layers:
            layers[name].set_mask(mask)
        else:
            m = pruned[name]
            mask = torch.as_tensor(mask)
            if tuple(mask.shape) != tuple(m.weight_mask.shape):
                raise ValueError(f"mask for {name!r} has shape {tuple(mask.shape)}, weight {tuple(m.weight_mask.shape)}")
            with torch.no_grad():
                m.weight_mask.copy_(mask.to(m.weight_mask.dtype))
                m.weight = m.weight_orig * m.weight_mask


@torch.no_grad()
def enforce_masks(model: nn.Module) -> None:
    """Re-zero every pruned weight (and pruned bias) of ``model``."""
    for layer in masked_layers(model).values():
        layer.zero_pruned()
