r"""Edge-popup (Ramanujan et al. 2020) restricted to a fixed support (an ER mask), as used by
Gadhikar et al. 2023 to find strong tickets in ER sources.

Each prunable weight ``w`` gets a score ``s``; weights are frozen. Per layer the forward pass uses
``w * m`` with ``m`` the indicator of the top-``k_l`` entries of ``|s|`` **among the layer's support**
(entries outside it are set to -inf before one ``torch.topk`` call), ``k_l = round(d_l N_l)``. The
straight-through estimator passes ``dL/dm`` to ``|s|`` (restricted to the support), hence
``sign(s) dL/dm`` to ``s``. This fixes the four
bugs of the reference ER_SLT code: flat (not row) indices, a binary mask, k counted from the full
layer size but chosen inside the support only, and model selection on a validation split.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .._validation import check_bool, check_density, check_number, check_positive_int, merge_config
from ..nets.interop import as_masked, replace_module, to_prune_form, torch_pruned_layers
from ..nets.masked import MaskedConv2d, MaskedLinear, masked_layers
from ..sparsity import resolve_densities
from .train import as_loader, default_device, evaluate, run_epoch


class _TopKST(torch.autograd.Function):
    """Straight-through through |s|: forward returns the given binary mask (top-k of |s|), backward
    returns ``sign(s) * dL/dm`` (as hidden-networks, which ranks ``scores.abs()``). Scores outside the
    support also receive gradients but are never ranked, so they can never be selected."""

    @staticmethod
    def forward(ctx, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(scores)
        return mask.to(scores.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (scores,) = ctx.saved_tensors
        return grad * scores.sign(), None


def topk_in_support(scores: torch.Tensor, support_idx: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask (shape of ``scores``) of the ``k`` largest |scores| among the flat ``support_idx``.

    Only support entries are ranked, so nothing outside the support can be selected. One selection
    (numpy's introselect on CPU, ~15x faster than ``torch.kthvalue``; ``kthvalue`` elsewhere) gives
    the threshold; if ties make the count differ from ``k``, ``topk`` takes exactly ``k``.
    """
    vals = scores.detach().flatten()[support_idx].abs()
    out = torch.zeros(scores.numel(), dtype=torch.bool, device=scores.device)
    n = vals.numel()
    if k == 0:
        return out.view(scores.shape)
    if vals.device.type == "cpu":
        thr = torch.as_tensor(np.partition(vals.numpy(), n - k)[n - k])
    else:
        thr = torch.kthvalue(vals, n - k + 1).values
    keep = vals >= thr
    if int(keep.sum()) != k:  # ties at the threshold
        keep = torch.zeros_like(keep)
        keep[torch.topk(vals, k, sorted=False).indices] = True
    out.scatter_(0, support_idx, keep)  # no boolean indexing (nonzero) on the hot path
    return out.view(scores.shape)


def topk_mask(scores: torch.Tensor, support: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask with exactly ``k`` ones: the largest |scores| among ``support`` (flat indices)."""
    return topk_in_support(scores, support.flatten().nonzero().flatten(), k)


class _ScoredLayer(nn.Module):
    """Wraps a masked layer: frozen weight, trainable scores, top-k inside the layer's support."""

    def __init__(self, layer: MaskedLinear | MaskedConv2d, k: int, generator: torch.Generator | None,
                 bias_scores: bool = False) -> None:
        super().__init__()
        self.layer = layer
        self.k = k
        self.kb = 0
        fan_in = math.prod(layer.weight.shape[1:])
        bound = 1.0 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)), as hidden-networks initialises scores
        init = (torch.rand(layer.weight.shape, generator=generator) * 2 - 1) * bound
        self.scores = nn.Parameter(init.to(layer.weight.device))
        self.register_buffer("support_idx", layer.mask.flatten().nonzero().flatten(), persistent=False)
        self._cache: tuple | None = None  # (scores version, k, mask): the mask changes only when scores do
        self.bias_scores = None
        if bias_scores and layer.bias is not None:
            binit = (torch.rand(layer.bias.shape, generator=generator) * 2 - 1) * bound
            self.bias_scores = nn.Parameter(binit.to(layer.bias.device))
            self.register_buffer("bias_support_idx", layer.bias_mask.nonzero().flatten(), persistent=False)
        self._bcache: tuple | None = None
        layer.weight.requires_grad_(False)
        if layer.bias is not None:
            layer.bias.requires_grad_(False)

    def current_bias_mask(self) -> torch.Tensor | None:
        if self.bias_scores is None:
            return None
        return self._cached_topk("_bcache", self.bias_scores, self.bias_support_idx, self.kb)

    def current_mask(self) -> torch.Tensor:
        return self._cached_topk("_cache", self.scores, self.support_idx, self.k)

    def _cached_topk(self, slot: str, scores: torch.Tensor, idx: torch.Tensor, k: int) -> torch.Tensor:
        """Top-k mask, recomputed only when the scores changed (their version counter) or k did."""
        key = (scores._version, k)
        cached = getattr(self, slot)
        if cached is None or cached[0] != key:
            cached = (key, topk_in_support(scores, idx, k))
            setattr(self, slot, cached)
        return cached[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = _TopKST.apply(self.scores, self.current_mask())
        w = self.layer.weight * m
        if self.bias_scores is not None:
            b = self.layer.bias * _TopKST.apply(self.bias_scores, self.current_bias_mask())
        else:
            b = self.layer.masked_bias()
        if isinstance(self.layer, MaskedConv2d):
            return self.layer._conv_forward(x, w, b)
        return F.linear(x, w, b)


@dataclass
class EdgePopupResult:
    network: nn.Module
    history: list[dict] = field(default_factory=list)
    densities: list[float] = field(default_factory=list)
    best_val: float = math.nan


def _config(config: EdgePopupConfig | None, options: dict) -> EdgePopupConfig:
    return merge_config(EdgePopupConfig, config, options, "edge_popup", required=("density", "epochs"))


def _support_densities(density, masks) -> list[float]:
    r"""Per-layer densities keeping each layer's share of the support: layer l keeps
    :math:`d N s_l / \sum_j s_j` weights (s_l its support count, N all weights), so no layer exceeds its support
    while ``density`` does not exceed the support's global density."""
    if not isinstance(density, (int, float)) or isinstance(density, bool):
        raise TypeError("ratio='support' takes one global density")
    sup = [int(m.sum()) for m in masks]
    n = [m.numel() for m in masks]
    if density * sum(n) > sum(sup) + 0.5:
        raise ValueError(f"density={density} exceeds the support's global density {sum(sup) / sum(n):.4g}")
    return [density * sum(n) * s / sum(sup) / nl for s, nl in zip(sup, n)]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, loader, device) -> None:
    """Recompute every batch norm's running statistics in one pass over ``loader`` in train mode (cumulative
    average: ``momentum=None``); the model's mode and momenta are restored."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return
    was, moms = model.training, [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.to(device).train()
    for x, _ in loader:
        model(x.to(device))
    for m, mom in zip(norms, moms):
        m.momentum = mom
    model.train(was)


def anneal_schedule(start: float, final: float, levels: int) -> list[float]:
    """Geometric densities from ``start`` down to ``final`` over ``levels`` levels (the paper's annealing)."""
    check_positive_int(levels, "levels")
    if levels == 1:
        return [final]
    r = (final / start) ** (1.0 / (levels - 1))
    return [start * r ** i for i in range(levels - 1)] + [final]


@dataclass(frozen=True)
class EdgePopupConfig:
    """Options of :func:`edge_popup`, checked when built (a bad value raises naming the field).

    ``density``: final kept fraction per layer relative to the layer's **full** size (scalar, spread by
    ``ratio``, or one per layer); ``epochs`` per level; ``anneal=(start_density, levels)`` for geometrically
    decreasing densities; SGD with ``momentum``/``weight_decay`` and a cosine ``lr`` per level;
    ``val_fraction`` of the data picks the best epoch when no ``val_data`` is given; ``bias_scores`` also
    scores the biases; ``ratio="support"`` keeps each layer's share of the support (always feasible below the
    support's density). The returned network carries the buffers (batch-norm running statistics) of the epoch it
    was scored at; ``recalibrate_bn=True`` instead recomputes them in one pass over the training data (the exact
    average of the batch statistics under the final masks).
    """
    density: float | tuple[float, ...]
    epochs: int
    lr: float = 0.1
    batch_size: int = 128
    anneal: tuple[float, int] | None = None
    ratio: str = "uniform"
    val_fraction: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    bias_scores: bool = False
    recalibrate_bn: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.density, (int, float, np.integer, np.floating)) or isinstance(self.density, bool):
            if isinstance(self.density, (str, bytes)) or not isinstance(self.density, Sequence):
                raise TypeError(f"density must be a number or a sequence of numbers, got {self.density!r}")
            object.__setattr__(self, "density", tuple(self.density))
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        check_number(self.lr, "lr", lo=0.0, lo_open=True)
        check_number(self.momentum, "momentum", lo=0.0, hi=1.0, hi_open=True)
        check_number(self.weight_decay, "weight_decay", lo=0.0)
        check_number(self.val_fraction, "val_fraction", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        check_bool(self.bias_scores, "bias_scores")
        check_bool(self.recalibrate_bn, "recalibrate_bn")
        if self.anneal is not None:
            if not isinstance(self.anneal, (tuple, list)) or len(self.anneal) != 2:
                raise ValueError(f"anneal must be (start_density, levels), got {self.anneal!r}")
            check_density(self.anneal[0], "anneal start density")
            check_positive_int(self.anneal[1], "anneal levels")
            object.__setattr__(self, "anneal", tuple(self.anneal))


def _final_densities(cfg: EdgePopupConfig, layers: dict) -> list[float]:
    """Per-layer densities of the ticket (by ``cfg.ratio``, or the support's shares); each must fit its support."""
    names = list(layers)
    shapes = [tuple(layers[n].weight.shape) for n in names]
    if cfg.ratio == "support":
        final = _support_densities(cfg.density, [layers[n].mask for n in names])
    else:
        final = resolve_densities(shapes, cfg.density, cfg.ratio)
    for n, d, s in zip(names, final, shapes):
        k, sup = round(d * math.prod(s)), int(layers[n].mask.sum())
        if k > sup:
            raise ValueError(f"layer {n!r}: density {d:.4g} (ratio={cfg.ratio!r}) asks for {k} weights but its "
                             f"support holds only {sup} (support density {sup / math.prod(s):.4g}); lower density, "
                             f"or pass ratio='support' to keep every layer's share of the support (feasible up to "
                             f"the support's global density) or the ratio the support was drawn with")
        if k == 0:
            raise ValueError(f"layer {n!r}: density {d:.4g} keeps no weight")
    return final


def _split_val(data, fraction: float, generator: torch.Generator | None) -> tuple:
    """``(train, val)``: a random ``fraction`` of the tensors ``data = (X, y)`` held out for validation."""
    x, y = data if isinstance(data, (tuple, list)) else (None, None)
    if x is None:
        raise ValueError("with a DataLoader as data, pass val_data explicitly")
    perm = torch.randperm(len(x), generator=generator)
    n_val = max(1, int(round(fraction * len(x))))
    return (x[perm[n_val:]], y[perm[n_val:]]), (x[perm[:n_val]], y[perm[:n_val]])


def _levels(cfg: EdgePopupConfig, final: list[float]) -> list[list[float]]:
    """Per-level per-layer densities: the final ones, or ``cfg.anneal = (start, levels)`` steps down to them."""
    if cfg.anneal is None:
        return [final]
    start, n_lev = cfg.anneal
    if isinstance(cfg.density, float | int) and start < cfg.density:
        raise ValueError(f"anneal start density {start} must be >= the final density {cfg.density} (annealing "
                         "removes weights)")
    sched = [anneal_schedule(max(start, d), d, n_lev) for d in final]
    return [list(t) for t in zip(*sched)]


def _search(work: nn.Module, wrapped: dict, levels: list, loader, val_data, cfg: EdgePopupConfig, dev,
            progress: bool) -> tuple[list, float, dict, dict]:
    """Train the scores level by level (SGD with momentum, cosine schedule per level); returns the history, the best
    validation score of the last level, its masks and the other buffers (batch norm) it was scored with."""
    names = list(wrapped)
    shapes = [tuple(w.layer.weight.shape) for w in wrapped.values()]
    history: list[dict] = []
    best_val, best_masks, best_buffers = -math.inf, None, {}
    bar = tqdm(total=cfg.epochs * len(levels), desc="edge-popup", unit="epoch", disable=not progress, leave=False)
    for li, dens in enumerate(levels):
        for w, d, s in zip(wrapped.values(), dens, shapes):
            w.k = min(round(d * math.prod(s)), int(w.layer.mask.sum()))
            if w.bias_scores is not None:
                w.kb = min(round(d * w.layer.bias.numel()), int(w.layer.bias_mask.sum()))
        params = [w.scores for w in wrapped.values()] + [w.bias_scores for w in wrapped.values()
                                                         if w.bias_scores is not None]
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                              foreach=True)  # bit-identical to the per-tensor loop on CPU (search/train.py)
        sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
        for ep in range(cfg.epochs):
            train_loss = run_epoch(work, loader, opt, dev)
            sch.step()
            ev = evaluate(work, val_data, device=dev)
            history.append({"level": li, "epoch": ep, "train_loss": train_loss,
                            **{f"val_{k}": v for k, v in ev.items()},
                            "density": sum(w.k for w in wrapped.values()) / sum(math.prod(s) for s in shapes)})
            bar.update()
            score = ev.get("accuracy", -ev["loss"])
            if li == len(levels) - 1 and score > best_val:
                best_val = score
                best_masks = {n: (w.current_mask().cpu(), w.current_bias_mask()) for n, w in wrapped.items()}
                best_buffers = {k: v.detach().cpu().clone() for k, v in work.named_buffers()
                                if not any(k.startswith(n + ".") for n in names)}
    bar.close()
    return history, best_val, best_masks, best_buffers


def _rebuild(source: nn.Module, best_masks: dict, best_buffers: dict) -> nn.Module:
    """A copy of ``source`` with the best masks and the buffers (batch norm statistics) they were scored with."""
    network = copy.deepcopy(source)
    layers_out = masked_layers(network)
    for n, (m, bm) in best_masks.items():
        layers_out[n].set_mask(m, None if bm is None else bm.cpu())
    with torch.no_grad():  # the statistics the best epoch was scored with (batch norm), not the source's
        mine = dict(network.named_buffers())
        for k, v in best_buffers.items():
            if k in mine and mine[k].shape == v.shape:
                mine[k].copy_(v)
    return network


def edge_popup(source: nn.Module, data, config: EdgePopupConfig | None = None, *, val_data=None,
               generator: torch.Generator | None = None, device=None, progress: bool = True,
               **options) -> EdgePopupResult:
    """Find a strong ticket inside the masks of ``source`` (its support) by edge-popup.

    Options come as an :class:`EdgePopupConfig` or as its fields by keyword (``density=0.1, epochs=10``;
    keywords override a given config; an unknown keyword is a ``TypeError`` naming it). Each layer keeps
    exactly ``round(d_l N_l)`` weights, all inside its support; a request above the support's size raises
    ``ValueError``. ``val_data`` (default: a ``val_fraction`` split of ``data``) picks the best epoch of the
    last level; the test set is never used here. Each layer keeps ``round(d_l n_out)`` biases inside its
    ``bias_mask`` when ``bias_scores`` (else the biases stay frozen as in the source).
    Returns a plain masked network with the source's architecture and module names. ``source`` may be any
    ``nn.Module`` whose layers carry the package's masks or ``torch.nn.utils.prune`` masks (e.g. from
    :func:`~lottery_theory.sparsify`); the result comes back in the form it was given.
    """
    cfg = _config(config, options)
    dev = default_device(device)
    torch_form = not masked_layers(source) and bool(torch_pruned_layers(source))
    if torch_form:  # a model masked with torch.nn.utils.prune (e.g. by sparsify): search a masked copy
        source = as_masked(source)
    layers = masked_layers(source)
    if not layers:
        raise ValueError("source has no masked layers")
    final = _final_densities(cfg, layers)
    if val_data is None:
        data, val_data = _split_val(data, cfg.val_fraction, generator)
    work = copy.deepcopy(source).to(dev)
    wrapped = {}
    for n in layers:
        wrapped[n] = _ScoredLayer(masked_layers(work)[n], 1, generator, cfg.bias_scores)
        replace_module(work, n, wrapped[n])
    loader = as_loader(data, cfg.batch_size, True, generator)
    history, best_val, best_masks, best_buffers = _search(work, wrapped, _levels(cfg, final), loader, val_data, cfg,
                                                          dev, progress)
    network = _rebuild(source, best_masks, best_buffers)
    if cfg.recalibrate_bn:
        recalibrate_bn(network, loader, dev)
    if torch_form:
        network = to_prune_form(network)
    return EdgePopupResult(network=network, history=history, densities=final, best_val=best_val)
