r"""Dense-to-sparse pruning restricted to a fixed support (Gadhikar et al. 2023: any dense-to-sparse
method can start sparse, inside a random ER mask).

``prune(model, method=..., density=...)`` computes the method's scores, lets only entries inside the
support (default: the model's current masks) compete, and keeps exactly ``round(density * N)``
weights: globally, or per layer with a ``ratio``. ``density`` is a fraction of the **full** weight
count. Ties are broken deterministically (stable sort: lower flat index first), so exactly that many
weights are kept (Synaptic-Flow's ``kthvalue`` threshold with ``<=`` removal mishandles ties: measured,
it kept 5 of a target of 6 on a tie). The new masks are
nested in the support and applied to the model.

Every method is a registry entry with one signature, ``run(task: PruneTask, **options) -> masks``: the task
holds the model, target density, support, ratio/scope, data and generator, and gives ``task.counts(...)``
(exact kept counts) and ``task.keep(scores, current, counts)`` (select and apply). One-shot score methods
are registered with :func:`register_scores` (``fn(model, data, generator, **options) -> {layer: scores}``,
higher = keep); iterative ones (``synflow``, ``imp``) with :func:`register_pruner`. ``prune`` has no
method-specific branch.

* ``random``: i.i.d. uniform;
* ``magnitude``: :math:`|w|`;
* ``snip`` (Lee et al. 2019): :math:`|w \odot \nabla_w L|`;
* ``grasp`` (Wang et al. 2020): :math:`w \odot Hg` (GraSP removes the largest :math:`-w \odot Hg`), with the
  logits divided by a temperature ``T`` (``grasp_temperature``, default 200 as in Synaptic-Flow's GraSP)
  before the loss, so :math:`g` and :math:`H` are those of :math:`L(f(x)/T)`;
* ``synflow`` (Tanaka et al. 2020): :math:`|w \odot \nabla_w R|`, :math:`R = 1^T |W_L| \cdots |W_1| 1`,
  applied iteratively (``synflow_rounds``, exponential schedule), data-free;
* ``snip-it`` (Verdenius et al. 2020): SNIP rescored on the shrinking masks, ``rounds`` rounds;
* ``imp``: iterative magnitude pruning with rewinding, driven by :func:`lottery_theory.search.train`.

Options every score method shares (Synaptic-Flow's controls, Tanaka et al. 2020): ``prune_bias`` /
``prune_batchnorm`` let biases of the masked layers / batch-norm affine parameters compete in the global ranking
(``density`` then counts them too); ``invert`` keeps the **lowest** scores (the ranking reversed: Synaptic-Flow's ``invert`` control); ``shuffle`` permutes each tensor's kept entries uniformly inside its support after pruning (same
counts, random positions: the layer-wise-ratio sanity check); ``reinitialize`` redraws the weights after pruning
(:math:`U(\pm 1/\sqrt{\text{fan\_in}})`, norms to 1 and 0) from ``generator``; ``rounding`` chooses how a density
becomes a count: ``"nearest"`` keeps :math:`\mathrm{round}(dN)` (ours), ``"peer"`` keeps
:math:`N - \lfloor (1-d) N \rfloor = \lceil dN \rceil` (Synaptic-Flow removes :math:`\lfloor (1-d) N \rfloor`);
the two differ by one whenever the fractional part of :math:`dN` is below 0.5 (and at halves rounded down to even); ``peer_compatible=True`` sets ``rounding="peer"`` and each method's peer defaults (SynFlow:
``synflow_bias="abs"``, biases kept as :math:`|b|` in the linearised pass), so iterative SynFlow reproduces
Synaptic-Flow's masks. Iterative methods take ``schedule="exponential"`` (default) or ``"linear"``.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._validation import (Registry, check_bool, check_density, check_options, check_positive_int, lookup,
                           merge_config, split_config)
from ..nets.interop import as_masked, torch_pruned_layers
from ..nets.masked import apply_masks, masked_layers
from ..sparsity import layer_densities
from . import _params
from .train import as_loader, loss_fn, train

ScoreFn = Callable[..., dict[str, torch.Tensor]]
Masks = dict[str, torch.Tensor]


@dataclass
class PruneTask:
    """What a pruner works on: prune ``model`` to ``density`` (fraction of all weights) inside ``support``."""
    model: nn.Module
    density: float
    support: Masks
    ratio: str | None = None
    scope: str = "global"
    data: Any = None
    generator: torch.Generator | None = None
    rounding: str = "nearest"
    invert: bool = False

    @property
    def keys(self) -> list[str]:
        """The tensors being pruned: the support's keys (layer names; ``"<module>.bias"`` etc. with
        ``prune_bias`` / ``prune_batchnorm``)."""
        return list(self.support)

    def counts(self, density: float | None = None, current: Masks | None = None, clamp: bool = False):
        """Exact kept counts at ``density`` (default: the task's) inside ``current`` (default: the support)."""
        return _targets(self.model, self.density if density is None else density,
                        self.support if current is None else current, self.ratio, self.scope, clamp, self.rounding)

    def keep(self, scores: dict[str, torch.Tensor], current: Masks, counts) -> Masks:
        """Keep the highest ``scores`` (the lowest with ``invert``) inside ``current`` (exactly ``counts``) and
        apply the masks."""
        missing = [k for k in current if k not in scores]
        if missing:
            raise ValueError(f"the method gave no scores for {missing}; prune_bias / prune_batchnorm need a method "
                             f"that scores those tensors (the built-in ones do)")
        if self.invert:
            scores = {k: -v for k, v in scores.items()}
        new = select({k: scores[k] for k in current}, current, counts)
        _apply(self.model, new)
        return new

    def iterate(self, scores: Callable[[], dict[str, torch.Tensor]], rounds: int | None = None,
                schedule: str = "exponential", *, densities: Sequence[float] | None = None,
                after_round: Callable[[int, float, Masks], None] | None = None) -> Masks:
        """Rescore and prune from the support's density down to the target on an ``"exponential"`` (geometric)
        or ``"linear"`` schedule (``rounds`` rounds; intermediate counts capped at the current masks, the last one
        exact). From a dense start these are Synaptic-Flow's ``d^(i/R)`` and ``1 - (1 - d) i / R``. ``densities``
        gives the rounds' densities instead (the last one is the task's); ``after_round(i, density, masks)`` runs
        after each round's masks are applied (IMP rewinds there)."""
        if densities is None:
            rounds = check_positive_int(rounds, "rounds")
            step = lookup(_SCHEDULES, schedule, "pruning schedule", "schedule")
            sup_d = sum(int(v.sum()) for v in self.support.values()) / sum(v.numel() for v in self.support.values())
            densities = [step(sup_d, self.density, i / rounds) for i in range(1, rounds + 1)]
        final = self.counts()
        current = self.support
        for i, d in enumerate(densities):
            last = i == len(densities) - 1
            counts = final if last else self.counts(d, current, clamp=True)
            current = self.keep(scores(), current, counts)
            if after_round is not None:
                after_round(i, d, current)
        return {k: v.clone() for k, v in current.items()}


_SCHEDULES: dict[str, Callable[[float, float, float], float]] = {
    "exponential": lambda start, end, f: start * (end / start) ** f,
    "linear": lambda start, end, f: start - (start - end) * f,
}


def _apply(model: nn.Module, new: Masks) -> None:
    """Apply weight masks (layer keys) and bias / norm masks (``_params`` keys)."""
    layers = masked_layers(model)
    apply_masks(model, {k: v for k, v in new.items() if k in layers})
    for k, v in new.items():
        if k not in layers:
            _params.apply_extra(model, k, v)


@dataclass(frozen=True)
class Pruner:
    """A registry entry: ``run(task, **options) -> masks``; ``options_of`` and ``skip`` say which keyword
    options it accepts (the named parameters of ``options_of`` after the first ``skip``)."""
    name: str
    run: Callable[..., Masks]
    options_of: Callable
    skip: int
    peer: dict = dataclasses.field(default_factory=dict)
    masks_only: bool = False


_PRUNERS = Registry("pruning")


def register_pruner(name: str, *, peer: dict | None = None, masks_only: bool = False):
    """Register an iterative (or any) pruner ``run(task: PruneTask, **options) -> masks``; ``peer``: the options
    ``peer_compatible=True`` sets; ``masks_only``: the pruner does not select through ``task.keep`` (IMP), so the
    shared options (invert, prune_bias, ...) do not apply to it."""
    return _PRUNERS.register(name, wrap=lambda fn: Pruner(name, fn, fn, 1, dict(peer or {}), masks_only))


def register_scores(name: str):
    """Register a one-shot method by its scores ``fn(model, data, generator, **options) -> {layer: scores}``
    (keyed like ``task.keys``: a built-in scorer also takes ``keys=`` to score biases and norms)."""
    def one_shot(fn: ScoreFn) -> Pruner:
        def run(task: PruneTask, **options) -> Masks:
            return task.keep(_score(fn, task, options), task.support, task.counts())
        return Pruner(name, run, fn, 3)
    return _PRUNERS.register(name, wrap=one_shot)


def _score(fn: ScoreFn, task: PruneTask, options: dict) -> dict[str, torch.Tensor]:
    """``fn``'s scores on the task's tensors (``keys=`` passed only when more than the weights are pruned)."""
    if set(task.keys) != set(masked_layers(task.model)):
        import inspect

        if "keys" not in inspect.signature(fn).parameters:
            raise ValueError("this method scores the weights only; prune_bias / prune_batchnorm need a method whose "
                             "score function takes keys= (every built-in one does)")
        options = {**options, "keys": task.keys}
    return fn(task.model, task.data, task.generator, **options)


def available_pruners() -> list[str]:
    return _PRUNERS.names()


def _first_batch(data, n: int = 256):
    if data is None:
        raise ValueError("this pruning method needs data=(X, y) or a DataLoader")
    x, y = next(iter(as_loader(data, n, False, None)))
    return x, y


def _tensors(model: nn.Module, keys: Sequence[str] | None) -> dict[str, torch.Tensor]:
    """The tensors to score: the masked layers' weights by default, else those behind ``keys``."""
    if keys is None:
        return {n: l.weight for n, l in masked_layers(model).items()}
    return {k: _params.tensor(model, k) for k in keys}


@register_scores("random")
def _random(model, data, generator, keys=None, **_):
    return {n: torch.rand(t.shape, generator=generator) for n, t in _tensors(model, keys).items()}


@register_scores("magnitude")
def _magnitude(model, data, generator, keys=None, **_):
    return {n: t.detach().abs().cpu() for n, t in _tensors(model, keys).items()}


def _grads(model, x, y, create_graph=False, temperature: float = 1.0, keys=None):
    tensors = _tensors(model, keys)
    ws = list(tensors.values())
    for w in ws:
        w.requires_grad_(True)
    loss = loss_fn(model(x) / temperature, y)
    return tensors, ws, torch.autograd.grad(loss, ws, create_graph=create_graph)


@register_scores("snip")
def _snip(model, data, generator, batch_size: int = 256, keys=None, **_):
    x, y = _first_batch(data, batch_size)
    dev = next(model.parameters()).device
    layers, ws, gs = _grads(model, x.to(dev), y.to(dev), keys=keys)
    return {n: (w.detach() * g).abs().cpu() for n, w, g in zip(layers, ws, gs)}


@register_scores("grasp")
def _grasp(model, data, generator, batch_size: int = 256, grasp_temperature: float = 200.0, keys=None, **_):
    """GraSP: Hg by double backprop on L(f(x)/T): g = dL/dw (held fixed), Hg = d(g_fixed . dL/dw)/dw."""
    import math as _m

    if isinstance(grasp_temperature, bool) or not isinstance(grasp_temperature, (int, float)) or \
            not _m.isfinite(grasp_temperature) or grasp_temperature <= 0:
        raise ValueError(f"grasp_temperature must be a finite number > 0, got {grasp_temperature!r}")
    x, y = _first_batch(data, batch_size)
    dev = next(model.parameters()).device
    x, y = x.to(dev), y.to(dev)
    layers, ws, g = _grads(model, x, y, temperature=grasp_temperature, keys=keys)
    g = [t.detach() for t in g]
    _, ws, g2 = _grads(model, x, y, create_graph=True, temperature=grasp_temperature, keys=keys)
    z = sum((a * b).sum() for a, b in zip(g, g2))
    hg = torch.autograd.grad(z, ws)
    return {n: (w.detach() * h).cpu() for n, w, h in zip(layers, ws, hg)}


SYNFLOW_BIAS = ("zero", "abs")


def synflow_scores(model: nn.Module, input_shape: Sequence[int], bias: str = "zero",
                   keys: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
    """SynFlow scores :math:`|w \\odot \\partial R/\\partial w|` with all weights replaced by |w| (masks
    applied), all-ones input, float64 (no overflow). ``bias="zero"``: biases off (the paper's :math:`R`);
    ``"abs"``: biases kept as :math:`|b|` (Synaptic-Flow takes the absolute value of every parameter)."""
    if bias not in SYNFLOW_BIAS:
        raise ValueError(f"synflow_bias must be one of {SYNFLOW_BIAS}, got {bias!r}")
    net = copy.deepcopy(model).double()
    with torch.no_grad():
        for l in masked_layers(net).values():
            l.weight.abs_()
            if l.bias is not None:
                l.bias.zero_() if bias == "zero" else l.bias.abs_()
        for k in keys or []:
            if k not in masked_layers(net):
                _params.tensor(net, k).abs_()
    tensors = _tensors(net, keys)
    ws = list(tensors.values())
    for w in ws:
        w.requires_grad_(True)
    r = net(torch.ones((1,) + tuple(input_shape), dtype=torch.float64, device=ws[0].device)).sum()
    gs = torch.autograd.grad(r, ws)
    return {n: (w.detach() * g).abs().float().cpu() for n, w, g in zip(tensors, ws, gs)}


@register_pruner("synflow", peer={"synflow_bias": "abs"})
def _synflow(task: PruneTask, input_shape: Sequence[int] | None = None, synflow_rounds: int = 100,
             schedule: str = "exponential", synflow_bias: str = "zero") -> Masks:
    """SynFlow, iterative: ``synflow_rounds`` rounds on ``schedule`` from the support's density down to the target,
    rescoring on the current masks each round (Tanaka et al. 2020, Alg. 1); ``synflow_bias`` as
    :func:`synflow_scores`."""
    check_positive_int(synflow_rounds, "synflow_rounds")
    if synflow_bias not in SYNFLOW_BIAS:
        raise ValueError(f"synflow_bias must be one of {SYNFLOW_BIAS}, got {synflow_bias!r}")
    if input_shape is None:
        input_shape = tuple(_first_batch(task.data, 1)[0].shape[1:])
    keys = None if set(task.keys) == set(masked_layers(task.model)) else task.keys
    return task.iterate(lambda: synflow_scores(task.model, input_shape, synflow_bias, keys), synflow_rounds,
                        schedule)


def select(scores: dict[str, torch.Tensor], support: dict[str, torch.Tensor], counts: dict[str, int] | int
           ) -> dict[str, torch.Tensor]:
    """Keep exactly ``counts`` entries (an int: globally; a dict: per layer) of highest score inside the
    support; ties go to the lower flat index (stable descending sort)."""
    names = list(scores)
    if isinstance(counts, int):
        flat = torch.cat([torch.where(support[n].flatten().cpu(), scores[n].flatten().double().cpu(),
                                      torch.tensor(-math.inf, dtype=torch.float64)) for n in names])
        if torch.isnan(flat).any():
            raise ValueError("pruning scores contain NaN")
        order = torch.sort(flat, descending=True, stable=True).indices[:counts]
        keep = torch.zeros(flat.numel(), dtype=torch.bool)
        keep[order] = True
        out, off = {}, 0
        for n in names:
            m = support[n].numel()
            out[n] = keep[off:off + m].view(support[n].shape)
            off += m
        return out
    out = {}
    for n in names:
        flat = torch.where(support[n].flatten().cpu(), scores[n].flatten().double().cpu(),
                           torch.tensor(-math.inf, dtype=torch.float64))
        order = torch.sort(flat, descending=True, stable=True).indices[:counts[n]]
        keep = torch.zeros(flat.numel(), dtype=torch.bool)
        keep[order] = True
        out[n] = keep.view(support[n].shape)
    return out


ROUNDING: dict[str, Callable[[float, int], int]] = {
    "nearest": lambda d, n: int(round(d * n)),
    "peer": lambda d, n: n - int((1.0 - d) * n),  # Synaptic-Flow: remove int((1 - d) N)
}


def _targets(model, density, support, ratio, scope, clamp: bool = False, rounding: str = "nearest"):
    """Kept counts: an int (global) or per layer (ratio). ``clamp`` caps per-layer counts at the support
    (used for the intermediate rounds of iterative methods, whose densities exceed the final one)."""
    layers = masked_layers(model)
    if not layers:
        raise ValueError("model has no masked layers")
    kept = ROUNDING[rounding]
    names = list(support)
    sizes = {n: support[n].numel() for n in names}
    n_total = sum(sizes.values())
    sup_total = sum(int(support[n].sum()) for n in names)
    if scope == "global" and ratio is None:
        k = kept(density, n_total)
        if k > sup_total:
            raise ValueError(f"density={density} keeps {k} weights but the support holds only {sup_total} "
                             f"(support density {sup_total / n_total:.4g}); density must not exceed it")
        return k
    if set(names) != set(layers):
        raise ValueError("prune_bias / prune_batchnorm rank every tensor together: use scope='global' without ratio")
    dens = layer_densities([tuple(layers[n].weight.shape) for n in names], density, ratio or "uniform")
    counts = {n: kept(d, sizes[n]) for n, d in zip(names, dens)}
    if clamp:
        return {n: min(c, int(support[n].sum())) for n, c in counts.items()}
    for n in names:
        if counts[n] > int(support[n].sum()):
            raise ValueError(f"layer {n!r}: density {counts[n] / sizes[n]:.4g} exceeds its support density "
                             f"{int(support[n].sum()) / sizes[n]:.4g}")
    return counts


SCOPES = {"global": "global", "layer": "layer", "local": "layer"}  # "local": Synaptic-Flow's name for "layer"


@dataclass(frozen=True)
class PruneConfig:
    """The options :func:`prune` shares across methods, checked when built (a bad value raises naming the field):
    ``method`` and ``density`` (required), ``ratio`` / ``scope`` (global ranking, or fixed per-layer densities),
    and Synaptic-Flow's controls ``rounding``, ``invert``, ``shuffle``, ``reinitialize``, ``prune_bias``,
    ``prune_batchnorm``, ``peer_compatible`` (module docstring). Method-specific options are keywords of
    :func:`prune` that are not fields here."""
    method: str | None = None
    density: float | None = None
    ratio: str | None = None
    scope: str = "global"
    rounding: str = "nearest"
    invert: bool = False
    shuffle: bool = False
    reinitialize: bool = False
    prune_bias: bool = False
    prune_batchnorm: bool = False
    peer_compatible: bool = False

    def __post_init__(self) -> None:
        if self.density is not None:
            object.__setattr__(self, "density", check_density(self.density, "density"))
        for k in ("invert", "shuffle", "reinitialize", "prune_bias", "prune_batchnorm", "peer_compatible"):
            check_bool(getattr(self, k), k)
        lookup(ROUNDING, self.rounding, "rounding", "rounding")
        object.__setattr__(self, "scope", lookup(SCOPES, self.scope, "scope", "scope"))
        if self.method is not None:
            _PRUNERS.get_checked(self.method)


def _prune_config(config: PruneConfig | None, options: dict) -> tuple[PruneConfig, dict]:
    """Split keyword ``options`` into :class:`PruneConfig` fields (merged onto ``config``) and the method's own."""
    return split_config(PruneConfig, config, options, "prune", required=("method", "density"))


def prune(model: nn.Module, config: PruneConfig | None = None, *, support: dict[str, torch.Tensor] | None = None,
          data=None, generator: torch.Generator | None = None, **options) -> dict[str, torch.Tensor]:
    """Prune ``model`` to ``density`` (fraction of all weights) inside ``support``; returns and applies masks.

    Options: a :class:`PruneConfig` and/or keywords, e.g. ``prune(model, method="snip", density=0.1, data=...)``
    (keywords win). ``scope="global"`` ranks all layers together; ``ratio`` (or ``scope="layer"``, alias
    ``"local"``) fixes per-layer densities with :func:`~lottery_theory.sparsity.layer_densities` first. Keywords
    that are not :class:`PruneConfig` fields go to the method (an unknown one is a TypeError naming the accepted):
    ``imp`` (:class:`IMPConfig`: ``rounds``, ``epochs``, ``rewind``, ``lr``, ...), ``synflow`` (``input_shape``,
    ``synflow_rounds``, default 100, ``schedule``, ``synflow_bias``), ``snip-it`` (``rounds``, ``schedule``),
    ``snip``/``grasp`` (``batch_size``; ``grasp_temperature``). A model masked with ``torch.nn.utils.prune`` (e.g.
    by :func:`~lottery_theory.sparsify`) is pruned inside those masks: its ``weight_mask`` buffers (and, after IMP,
    its weights) are updated in place.
    """
    cfg, options = _prune_config(config, options)
    if not masked_layers(model) and torch_pruned_layers(model):
        return _prune_torch_form(model, cfg, support=support, data=data, generator=generator, **options)
    entry = _PRUNERS.get_checked(cfg.method)
    rounding, method = cfg.rounding, cfg.method
    if cfg.peer_compatible:
        rounding = "peer"
        options = {**entry.peer, **options}
    if entry.masks_only and (cfg.invert or cfg.shuffle or cfg.reinitialize or cfg.prune_bias or cfg.prune_batchnorm
                             or rounding != "nearest"):
        raise ValueError(f"method {method!r} selects its own masks: invert, shuffle, reinitialize, prune_bias, "
                         f"prune_batchnorm and rounding do not apply to it")
    keys = _params.prunable_keys(model, cfg.prune_bias, cfg.prune_batchnorm)
    support = {k: v.clone().bool() for k, v in (support or {k: _params.current_mask(model, k) for k in keys}).items()}
    if set(support) != set(keys):
        raise ValueError(f"support keys {sorted(support)} do not match the prunable tensors {sorted(keys)}")
    for n in keys:
        shape = tuple(_params.tensor(model, n).shape)
        if tuple(support[n].shape) != shape:
            raise ValueError(f"support[{n!r}] has shape {tuple(support[n].shape)}, tensor {shape}")
    check_options(entry.options_of, options, f"pruner {method!r}", skip=entry.skip)
    task = PruneTask(model, cfg.density, support, cfg.ratio, cfg.scope, data, generator, rounding, cfg.invert)
    task.counts()  # refuses a density the support cannot hold, before any work
    _apply(model, support)
    new = entry.run(task, **options)
    if cfg.shuffle:
        new = _shuffled(new, support, generator)
        _apply(model, new)
    if cfg.reinitialize:
        _reinitialize(model, generator)
        _apply(model, new)
    return new


def _shuffled(masks: Masks, support: Masks, generator) -> Masks:
    """Each tensor's kept count placed uniformly at random inside its support (Synaptic-Flow's ``shuffle``)."""
    out = {}
    for k, m in masks.items():
        idx = support[k].flatten().nonzero().flatten()
        pick = idx[torch.randperm(idx.numel(), generator=generator)[:int(m.sum())]]
        new = torch.zeros(m.numel(), dtype=torch.bool)
        new[pick] = True
        out[k] = new.view(m.shape)
    return out


@torch.no_grad()
def _reinitialize(model: nn.Module, generator) -> None:
    """Fresh weights after pruning (Synaptic-Flow's ``reinitialize``): masked layers and plain Linear/Conv2d
    :math:`U(\\pm 1/\\sqrt{\\text{fan\\_in}})` for weight and bias (torch's default bound), norms to 1 and 0."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            w = getattr(m, "weight_orig", m.weight)
            bound = 1.0 / math.sqrt(math.prod(w.shape[1:]))
            w.copy_((torch.rand(w.shape, generator=generator) * 2 - 1).mul_(bound).to(w))
            b = getattr(m, "bias_orig", m.bias)
            if b is not None:
                b.copy_((torch.rand(b.shape, generator=generator) * 2 - 1).mul_(bound).to(b))
        elif isinstance(m, _params.NORMS) and m.affine:
            getattr(m, "weight_orig", m.weight).fill_(1.0)
            getattr(m, "bias_orig", m.bias).zero_()


def _prune_torch_form(model: nn.Module, cfg: PruneConfig, **kw) -> dict[str, torch.Tensor]:
    """``prune`` on a masked copy of a ``torch.nn.utils.prune`` model, then masks and weights written back."""
    work = as_masked(model)
    new = prune(work, cfg, **kw)
    done = masked_layers(work)
    with torch.no_grad():
        for name, m in torch_pruned_layers(model).items():
            m.weight_orig.copy_(done[name].weight)
            m.weight_mask.copy_(new[name].to(m.weight_mask.dtype))
            if m.bias is not None:
                getattr(m, "bias_orig", m.bias).copy_(done[name].bias)
        targets = dict(model.named_parameters())
        for pname, p in work.named_parameters():  # parameters of the other modules (norms, plain layers)
            if pname in targets and pname.rsplit(".", 1)[0] not in done:
                targets[pname].copy_(p)
        for key, mask in new.items():  # biases and norms pruned with prune_bias / prune_batchnorm
            if key not in done:
                _params.tensor(model, key).copy_(_params.tensor(work, key))
                _params.apply_extra(model, key, mask)
    return new


def imp_schedule(start: float, density: float, prune_fraction: float = 0.2, rounds: int | None = None
                 ) -> list[float]:
    """Densities after each IMP round: remove ``prune_fraction`` of the live weights per round until
    ``density`` (the last round lands exactly on it), or ``rounds`` geometric steps if given. ``start`` and
    ``density`` lie in (0, 1] with ``density <= start``, so the schedule always ends."""
    start = check_density(start, "start")
    density = check_density(density, "density")
    if density > start:
        raise ValueError(f"density={density} must not exceed start={start} (IMP only removes weights)")
    if isinstance(prune_fraction, bool) or not isinstance(prune_fraction, (int, float)):
        raise TypeError(f"prune_fraction must be a number in (0, 1), got {prune_fraction!r}")
    if rounds is not None:
        check_positive_int(rounds, "rounds")
        return [start * (density / start) ** (i / rounds) for i in range(1, rounds + 1)]
    if not 0 < prune_fraction < 1:
        raise ValueError(f"prune_fraction must lie in (0, 1), got {prune_fraction}")
    out, d = [], start
    while d * (1 - prune_fraction) > density * (1 + 1e-12):
        d *= 1 - prune_fraction
        out.append(d)
    return out + [density]


@dataclass(frozen=True)
class IMPConfig:
    """IMP's own options (:func:`imp`, ``prune(method="imp", ...)``): ``rounds`` (None: remove ``prune_fraction``
    of the live weights per round, as open_lth; else that many geometric rounds), ``epochs``/``lr``/``optimizer``
    of each round's training, ``rewind`` ("init" or a number of training epochs), ``val_data`` for the rounds'
    log rows, ``on_round`` (called with each row), ``progress`` and ``device`` (default: CUDA when available)."""
    rounds: int | None = None
    prune_fraction: float = 0.2
    epochs: int = 10
    lr: float = 1e-3
    optimizer: str = "adam"
    rewind: str | int = "init"
    val_data: Any = None
    on_round: Callable[[dict], None] | None = None
    progress: bool = False
    device: Any = None

    def __post_init__(self) -> None:
        if not (self.rewind == "init" or (isinstance(self.rewind, int) and not isinstance(self.rewind, bool))):
            raise ValueError(f"rewind must be 'init' or a number of epochs, got {self.rewind!r}")


def imp(model: nn.Module, *, density: float, data, support: dict[str, torch.Tensor] | None = None,
        generator: torch.Generator | None = None, **options) -> dict[str, torch.Tensor]:
    """Iterative magnitude pruning with rewinding (Frankle & Carbin 2019), inside ``support``: ``prune(model,
    method="imp", ...)``. ``options``: :class:`IMPConfig` fields and ``ratio``/``scope``.

    Each round trains ``epochs`` epochs, keeps the largest-magnitude live weights, and rewinds the
    weights to their values at initialisation (``rewind="init"``) or after ``rewind`` training
    epochs. Per round the kept fraction of the live weights is ``1 - prune_fraction`` (20% removed,
    as open_lth), except the last, which lands exactly on ``density``; ``rounds`` overrides with a
    geometric schedule. ``on_round`` receives a row per round (density, validation metrics). After
    the last prune the weights are rewound; training the final ticket is the caller's job. Training runs on
    ``device`` (default: CUDA when available); the model is returned on the device it came on.
    """
    return prune(model, method="imp", density=density, data=data, support=support, generator=generator, **options)


def _imp(task: PruneTask, **options) -> Masks:
    """IMP as a registry entry (:func:`imp`): rounds of :meth:`PruneTask.iterate` on the IMP schedule, each scoring
    by magnitude after training, then rewinding the weights."""
    cfg = merge_config(IMPConfig, None, options, "pruner 'imp'")
    if task.data is None:
        raise ValueError("imp needs data=(X, y) or a DataLoader")
    model, g = task.model, task.generator
    home = next(model.parameters()).device
    d0 = sum(int(v.sum()) for v in task.support.values()) / sum(v.numel() for v in task.support.values())
    schedule = imp_schedule(d0, task.density, cfg.prune_fraction, cfg.rounds)
    fit = dict(lr=cfg.lr, optimizer=cfg.optimizer, generator=g, device=cfg.device)
    if not isinstance(cfg.rewind, str) and cfg.rewind > 0:
        train(model, task.data, epochs=cfg.rewind, progress=False, **fit)
    saved = copy.deepcopy({k: v for k, v in model.state_dict().items() if not k.endswith("mask")})
    last: list = []

    def scores() -> dict[str, torch.Tensor]:
        last[:] = [train(model, task.data, epochs=cfg.epochs, val_data=cfg.val_data, progress=cfg.progress, **fit)]
        return _magnitude(model, None, None)

    def rewind(r: int, d: float, current: Masks) -> None:
        model.load_state_dict({**model.state_dict(), **saved})  # rewind weights, keep the new masks below
        apply_masks(model, current)
        if cfg.on_round:
            cfg.on_round({"round": r, "density": d, **(last[0].history[-1] if last[0].history else {})})

    out = task.iterate(scores, densities=schedule, after_round=rewind)
    model.to(home)
    return out


_PRUNERS.register("imp", wrap=lambda fn: Pruner("imp", fn, IMPConfig, 0, {}, True))(_imp)


@register_pruner("snip-it")
def _snip_it(task: PruneTask, rounds: int = 5, batch_size: int = 256, schedule: str = "exponential") -> Masks:
    """Iterative SNIP (Verdenius et al. 2020, "SNIP-it"): SNIP scores recomputed on the current masks, on the
    ``schedule`` of :meth:`PruneTask.iterate`; ``rounds=1`` is one-shot SNIP."""
    return task.iterate(lambda: _score(_snip, task, {"batch_size": batch_size}), rounds, schedule)
