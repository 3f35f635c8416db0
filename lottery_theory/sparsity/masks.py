"""Erdős–Rényi masks and the ``density`` measure (density = fraction kept)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._validation import check_alloc, check_bool, check_density, check_shape


def er_mask(shape: Sequence[int], density: float, *, generator: torch.Generator | None = None,
            exact: bool = True, device: torch.device | str | None = None) -> torch.Tensor:
    """A random boolean mask of ``shape`` that keeps a ``density`` fraction of entries.

    * ``exact=True``: exactly ``round(density * numel)`` entries, a uniformly random subset.
    * ``exact=False``: each entry kept independently with probability ``density``
      (the ER model of Gadhikar et al. 2023, Sec. 2).

    Randomness comes only from ``generator`` (a CPU ``torch.Generator``); the
    result is then moved to ``device``.
    """
    if not isinstance(shape, (tuple, list, torch.Size)):
        raise TypeError(f"shape must be a tuple of positive ints, got {shape!r}")
    shp = check_shape(shape, "shape") if len(tuple(shape)) >= 2 else _check_1d(shape)
    density = check_density(density, "density")
    check_bool(exact, "exact")
    numel = math.prod(shp)
    check_alloc(numel * (9 if exact else 5), f"er_mask of shape {shp}")
    if exact:
        k = int(round(density * numel))
        flat = torch.zeros(numel, dtype=torch.bool)
        if k:
            idx = torch.randperm(numel, generator=generator)[:k]
            flat[idx] = True
        out = flat.view(shp)
    else:
        out = torch.rand(shp, generator=generator) < density
    return out.to(device) if device is not None else out


def _check_1d(shape: Sequence[int]) -> tuple[int, ...]:
    dims = tuple(shape)
    if len(dims) != 1 or isinstance(dims[0], (bool, np.bool_)) or not isinstance(dims[0], (int, np.integer)) \
            or int(dims[0]) <= 0:
        raise ValueError(f"shape must be a non-empty tuple of positive ints, got {dims}")
    return (int(dims[0]),)


def density(obj: torch.Tensor | nn.Module) -> float:
    """Kept fraction of a mask tensor, of a masked layer, or of a model (over its masked layers).

    Returns ``(#ones) / (#entries)``; for a model the counts are summed over every module that owns a ``mask``
    buffer (package form) or a ``weight_mask`` (``torch.nn.utils.prune`` form). Raises ``ValueError`` if a model
    has none.
    """
    if isinstance(obj, torch.Tensor):
        if obj.numel() == 0:
            raise ValueError("density of an empty tensor is undefined")
        return float(obj.count_nonzero()) / obj.numel()
    if isinstance(obj, nn.Module):
        kept = total = 0
        for mod in obj.modules():
            m = getattr(mod, "mask", None)
            if not isinstance(m, torch.Tensor):  # torch.nn.utils.prune form (e.g. from sparsify)
                m = getattr(mod, "weight_mask", None)
            if isinstance(m, torch.Tensor):
                kept += int(m.count_nonzero())
                total += m.numel()
        if total == 0:
            raise ValueError("the model has no masked layers (no 'mask' or 'weight_mask' buffer)")
        return kept / total
    raise TypeError(f"density() takes a tensor or an nn.Module, got {type(obj).__name__}")
