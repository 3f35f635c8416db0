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
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._validation import Registry, check_density, check_options, check_positive_int
from ..nets.interop import as_masked, torch_pruned_layers
from ..nets.masked import apply_masks, masked_layers
from ..nets.masked import masks as get_masks
from ..sparsity import layer_densities
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

    def counts(self, density: float | None = None, current: Masks | None = None, clamp: bool = False):
        """Exact kept counts at ``density`` (default: the task's) inside ``current`` (default: the support)."""
        return _targets(self.model, self.density if density is None else density,
                        self.support if current is None else current, self.ratio, self.scope, clamp)

    def keep(self, scores: dict[str, torch.Tensor], current: Masks, counts) -> Masks:
        """Keep the highest ``scores`` inside ``current`` (exactly ``counts``) and apply the masks."""
        new = select(scores, current, counts)
        apply_masks(self.model, new)
        return new

    def iterate(self, scores: Callable[[], dict[str, torch.Tensor]], rounds: int) -> Masks:
        """Rescore and prune on an exponential schedule from the support's density down to the target
        (``rounds`` rounds; each intermediate count capped at the current masks, the last one exact)."""
        rounds = check_positive_int(rounds, "rounds")
        sup_d = sum(int(v.sum()) for v in self.support.values()) / sum(v.numel() for v in self.support.values())
        final = self.counts()
        current = self.support
        for i in range(1, rounds + 1):
            counts = self.counts(sup_d * (self.density / sup_d) ** (i / rounds), current, clamp=True) \
                if i < rounds else final
            current = self.keep(scores(), current, counts)
        return {k: v.clone() for k, v in current.items()}


@dataclass(frozen=True)
class Pruner:
    """A registry entry: ``run(task, **options) -> masks``; ``options_of`` and ``skip`` say which keyword
    options it accepts (the named parameters of ``options_of`` after the first ``skip``)."""
    name: str
    run: Callable[..., Masks]
    options_of: Callable
    skip: int


_PRUNERS = Registry("pruning")


def register_pruner(name: str):
    """Register an iterative (or any) pruner ``run(task: PruneTask, **options) -> masks``."""
    return _PRUNERS.register(name, wrap=lambda fn: Pruner(name, fn, fn, 1))


def register_scores(name: str):
    """Register a one-shot method by its scores ``fn(model, data, generator, **options) -> {layer: scores}``."""
    def one_shot(fn: ScoreFn) -> Pruner:
        def run(task: PruneTask, **options) -> Masks:
            return task.keep(fn(task.model, task.data, task.generator, **options), task.support, task.counts())
        return Pruner(name, run, fn, 3)
    return _PRUNERS.register(name, wrap=one_shot)


def available_pruners() -> list[str]:
    return _PRUNERS.names()


def _first_batch(data, n: int = 256):
    if data is None:
        raise ValueError("this pruning method needs data=(X, y) or a DataLoader")
    x, y = next(iter(as_loader(data, n, False, None)))
    return x, y


@register_scores("random")
def _random(model, data, generator, **_):
    return {n: torch.rand(l.weight.shape, generator=generator) for n, l in masked_layers(model).items()}


@register_scores("magnitude")
def _magnitude(model, data, generator, **_):
    return {n: l.weight.detach().abs().cpu() for n, l in masked_layers(model).items()}


def _grads(model, x, y, create_graph=False, temperature: float = 1.0):
    layers = masked_layers(model)
    ws = [l.weight for l in layers.values()]
    for w in ws:
        w.requires_grad_(True)
    loss = loss_fn(model(x) / temperature, y)
    return layers, ws, torch.autograd.grad(loss, ws, create_graph=create_graph)


@register_scores("snip")
def _snip(model, data, generator, batch_size: int = 256, **_):
    x, y = _first_batch(data, batch_size)
    dev = next(model.parameters()).device
    layers, ws, gs = _grads(model, x.to(dev), y.to(dev))
    return {n: (w.detach() * g).abs().cpu() for n, w, g in zip(layers, ws, gs)}


@register_scores("grasp")
def _grasp(model, data, generator, batch_size: int = 256, grasp_temperature: float = 200.0, **_):
    """GraSP: Hg by double backprop on L(f(x)/T): g = dL/dw (held fixed), Hg = d(g_fixed . dL/dw)/dw."""
    import math as _m

    if isinstance(grasp_temperature, bool) or not isinstance(grasp_temperature, (int, float)) or \
            not _m.isfinite(grasp_temperature) or grasp_temperature <= 0:
        raise ValueError(f"grasp_temperature must be a finite number > 0, got {grasp_temperature!r}")
    x, y = _first_batch(data, batch_size)
    dev = next(model.parameters()).device
    x, y = x.to(dev), y.to(dev)
    layers, ws, g = _grads(model, x, y, temperature=grasp_temperature)
    g = [t.detach() for t in g]
    _, ws, g2 = _grads(model, x, y, create_graph=True, temperature=grasp_temperature)
    z = sum((a * b).sum() for a, b in zip(g, g2))
    hg = torch.autograd.grad(z, ws)
    return {n: (w.detach() * h).cpu() for n, w, h in zip(layers, ws, hg)}


def synflow_scores(model: nn.Module, input_shape: Sequence[int]) -> dict[str, torch.Tensor]:
    """SynFlow scores :math:`|w \\odot \\partial R/\\partial w|` with all weights replaced by |w| (masks
    applied), biases off, all-ones input (float64 to avoid overflow)."""
    net = copy.deepcopy(model).double()
    layers = masked_layers(net)
    with torch.no_grad():
        for l in layers.values():
            l.weight.abs_()
            if l.bias is not None:
                l.bias.zero_()
    ws = [l.weight for l in layers.values()]
    for w in ws:
        w.requires_grad_(True)
    r = net(torch.ones((1,) + tuple(input_shape), dtype=torch.float64, device=ws[0].device)).sum()
    gs = torch.autograd.grad(r, ws)
    return {n: (w.detach() * g).abs().float().cpu() for n, w, g in zip(layers, ws, gs)}


@register_pruner("synflow")
def _synflow(task: PruneTask, input_shape: Sequence[int] | None = None, synflow_rounds: int = 100) -> Masks:
    """SynFlow, iterative: ``synflow_rounds`` rounds on an exponential schedule from the support's density
    down to the target, rescoring on the current masks each round (Tanaka et al. 2020, Alg. 1)."""
    check_positive_int(synflow_rounds, "synflow_rounds")
    if input_shape is None:
        input_shape = tuple(_first_batch(task.data, 1)[0].shape[1:])
    return task.iterate(lambda: synflow_scores(task.model, input_shape), synflow_rounds)


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


def _targets(model, density, support, ratio, scope, clamp: bool = False):
    """Kept counts: an int (global) or per layer (ratio). ``clamp`` caps per-layer counts at the support
    (used for the intermediate rounds of iterative methods, whose densities exceed the final one)."""
    layers = masked_layers(model)
    if not layers:
        raise ValueError("model has no masked layers")
    names = list(layers)
    sizes = {n: layers[n].weight.numel() for n in names}
    n_total = sum(sizes.values())
    sup_total = sum(int(support[n].sum()) for n in names)
    if scope == "global" and ratio is None:
        k = int(round(density * n_total))
        if k > sup_total:
            raise ValueError(f"density={density} keeps {k} weights but the support holds only {sup_total} "
                             f"(support density {sup_total / n_total:.4g}); density must not exceed it")
        return k
    if scope not in ("global", "layer"):
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    dens = layer_densities([tuple(layers[n].weight.shape) for n in names], density, ratio or "uniform")
    counts = {n: int(round(d * sizes[n])) for n, d in zip(names, dens)}
    if clamp:
        return {n: min(c, int(support[n].sum())) for n, c in counts.items()}
    for n in names:
        if counts[n] > int(support[n].sum()):
            raise ValueError(f"layer {n!r}: density {counts[n] / sizes[n]:.4g} exceeds its support density "
                             f"{int(support[n].sum()) / sizes[n]:.4g}")
    return counts


def prune(model: nn.Module, *, method: str, density: float, support: dict[str, torch.Tensor] | None = None,
          ratio: str | None = None, scope: str = "global", data=None, generator: torch.Generator | None = None,
          **options) -> dict[str, torch.Tensor]:
    """Prune ``model`` to ``density`` (fraction of all weights) inside ``support``; returns and applies masks.

    ``scope="global"`` ranks all layers together; ``ratio`` (or ``scope="layer"``) fixes per-layer
    densities with :func:`~lottery_theory.sparsity.layer_densities` first. ``options`` go to the method:
    ``imp`` (``rounds``, ``epochs``, ``rewind``, ``lr``, ...), ``synflow`` (``input_shape``, ``synflow_rounds``,
    default 100), ``snip``/``grasp`` (``batch_size``; ``grasp_temperature``). A model masked with
    ``torch.nn.utils.prune`` (e.g. by :func:`~lottery_theory.sparsify`) is pruned inside those masks: its
    ``weight_mask`` buffers (and, after IMP, its weights) are updated in place.
    """
    if not masked_layers(model) and torch_pruned_layers(model):
        return _prune_torch_form(model, method=method, density=density, support=support, ratio=ratio, scope=scope,
                                 data=data, generator=generator, **options)
    density = check_density(density, "density")
    support = {k: v.clone().bool() for k, v in (support or get_masks(model)).items()}
    layers = masked_layers(model)
    if set(support) != set(layers):
        raise ValueError(f"support keys {sorted(support)} do not match the masked layers {sorted(layers)}")
    for n, l in layers.items():
        if tuple(support[n].shape) != tuple(l.weight.shape):
            raise ValueError(f"support[{n!r}] has shape {tuple(support[n].shape)}, weight {tuple(l.weight.shape)}")
    entry = _PRUNERS.get_checked(method)
    check_options(entry.options_of, options, f"pruner {method!r}", skip=entry.skip)
    task = PruneTask(model, density, support, ratio, scope, data, generator)
    task.counts()  # refuses a density the support cannot hold, before any work
    apply_masks(model, support)
    return entry.run(task, **options)


def _prune_torch_form(model: nn.Module, **kw) -> dict[str, torch.Tensor]:
    """``prune`` on a masked copy of a ``torch.nn.utils.prune`` model, then masks and weights written back."""
    work = as_masked(model)
    new = prune(work, **kw)
    done = masked_layers(work)
    with torch.no_grad():
        for name, m in torch_pruned_layers(model).items():
            m.weight_orig.copy_(done[name].weight)
            m.weight_mask.copy_(new[name].to(m.weight_mask.dtype))
            if m.bias is not None:
                m.bias.copy_(done[name].bias)
        targets = dict(model.named_parameters())
        for pname, p in work.named_parameters():  # parameters of the other modules (norms, plain layers)
            if pname in targets and pname.rsplit(".", 1)[0] not in done:
                targets[pname].copy_(p)
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


def imp(model: nn.Module, *, density: float, data, support: dict[str, torch.Tensor] | None = None,
        ratio: str | None = None, scope: str = "global", rounds: int | None = None, prune_fraction: float = 0.2,
        epochs: int = 10, lr: float = 1e-3, optimizer: str = "adam", rewind: str | int = "init",
        generator: torch.Generator | None = None, val_data=None, on_round: Callable[[dict], None] | None = None,
        progress: bool = False, device=None) -> dict[str, torch.Tensor]:
    """Iterative magnitude pruning with rewinding (Frankle & Carbin 2019), inside ``support``.

    Each round trains ``epochs`` epochs, keeps the largest-magnitude live weights, and rewinds the
    weights to their values at initialisation (``rewind="init"``) or after ``rewind`` training
    epochs. Per round the kept fraction of the live weights is ``1 - prune_fraction`` (20% removed,
    as open_lth), except the last, which lands exactly on ``density``; ``rounds`` overrides with a
    geometric schedule. ``on_round`` receives a row per round (density, validation metrics). After
    the last prune the weights are rewound; training the final ticket is the caller's job. Training runs on
    ``device`` (default: CUDA when available); the model is returned on the device it came on.
    """
    if data is None:
        raise ValueError("imp needs data=(X, y) or a DataLoader")
    home = next(model.parameters()).device
    support = {k: v.clone().bool() for k, v in (support or get_masks(model)).items()}
    apply_masks(model, support)
    n_total = sum(v.numel() for v in support.values())
    d0 = sum(int(v.sum()) for v in support.values()) / n_total
    if density > d0 + 1e-12:
        raise ValueError(f"density={density} exceeds the support density {d0:.4g}")
    schedule = imp_schedule(d0, density, prune_fraction, rounds)
    if isinstance(rewind, int) and not isinstance(rewind, bool):
        if rewind > 0:
            train(model, data, epochs=rewind, lr=lr, optimizer=optimizer, generator=generator, progress=False,
                  device=device)
    elif rewind != "init":
        raise ValueError(f"rewind must be 'init' or a number of epochs, got {rewind!r}")
    saved = copy.deepcopy({k: v for k, v in model.state_dict().items() if not k.endswith("mask")})
    current = support
    for r, d in enumerate(schedule):
        res = train(model, data, epochs=epochs, lr=lr, optimizer=optimizer, generator=generator, val_data=val_data,
                    progress=progress, device=device)
        last = r == len(schedule) - 1
        targets = _targets(model, d, current, ratio, scope, clamp=not last)
        current = select(_magnitude(model, None, None), current, targets)
        model.load_state_dict({**model.state_dict(), **saved})  # rewind weights, keep the new masks below
        apply_masks(model, current)
        if on_round:
            on_round({"round": r, "density": d, **(res.history[-1] if res.history else {})})
    model.to(home)
    return {k: v.clone() for k, v in current.items()}


@register_pruner("imp")
def _imp(task: PruneTask, rounds: int | None = None, prune_fraction: float = 0.2, epochs: int = 10,
         lr: float = 1e-3, optimizer: str = "adam", rewind: str | int = "init", val_data=None,
         on_round: Callable[[dict], None] | None = None, progress: bool = False, device=None) -> Masks:
    """IMP as a registry entry: :func:`imp` on the task's model, data and support."""
    return imp(task.model, density=task.density, data=task.data, support=task.support, ratio=task.ratio,
               scope=task.scope, rounds=rounds, prune_fraction=prune_fraction, epochs=epochs, lr=lr,
               optimizer=optimizer, rewind=rewind, generator=task.generator, val_data=val_data, on_round=on_round,
               progress=progress, device=device)


@register_pruner("snip-it")
def _snip_it(task: PruneTask, rounds: int = 5, batch_size: int = 256) -> Masks:
    """Iterative SNIP (Verdenius et al. 2020, "SNIP-it"): SNIP scores recomputed on the current masks, on the
    exponential schedule of :meth:`PruneTask.iterate`; ``rounds=1`` is one-shot SNIP."""
    return task.iterate(lambda: _snip(task.model, task.data, task.generator, batch_size=batch_size), rounds)
