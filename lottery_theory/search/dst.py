r"""Dynamic sparse training (prune-and-regrow at fixed density), started from any mask, on any model.

Every ``update_interval`` optimizer steps until ``end_fraction`` of training, each masked layer drops the
:math:`k_l = \lfloor \alpha_t\, n_l \rfloor` active weights of smallest :math:`|w|` (:math:`n_l` its active count)
and regrows :math:`k_l` connections among the inactive ones (inside ``support`` when one is given), so every layer,
and the global density, keeps its count exactly. The drop fraction follows RigL's cosine decay (Evci et al.,
ICML 2020, Eq. 1): :math:`\alpha_t = \tfrac{\alpha}{2}\,(1 + \cos(\pi t / T_{end}))`; ``"linear"`` and
``"constant"`` are the alternatives. Methods are registry entries (:func:`register_dst`) that score the
regrowth candidates:

* ``rigl`` (Evci et al. 2020): the largest :math:`|\nabla_w L|` of the dense gradient on the update step's
  batch; regrown weights start at **zero** (as the paper says);
* ``set`` (Mocanu et al., Nat. Commun. 2018): uniformly random candidates; regrown weights are drawn from the
  layer's default initialisation :math:`U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})` (SET adds new random
  weights); ``regrow_init`` overrides either default.

Conventions (documented choices where the papers leave room): the drop count truncates like RigL's own code
(``int(alpha * n)``); ties go to the lower flat index (kept first when dropping, chosen first when growing, as
:func:`~lottery_theory.search.prune.select`); a just-dropped connection may be regrown (RigL's code allows it; it
restarts at its initial value); the optimizer state (momentum, Adam moments) of dropped and regrown entries is
reset to zero; the update follows the optimizer step of its batch and RigL's dense gradient is taken from that
same forward/backward pass (no extra pass, so batch-norm statistics see each batch once). The model is changed
in place and keeps its own modules (subclasses, buffers, batch-norm statistics); layers carry masks either as
:class:`~lottery_theory.nets.MaskedLinear`/``MaskedConv2d`` or in ``torch.nn.utils.prune`` form. Pruned weights
are exactly zero after every step under every optimizer.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm import tqdm

from .._validation import Registry, check_bool, check_density, check_number, check_positive_int, lookup, merge_config
from ..nets.interop import is_torch_pruned, sparsify, to_prune_form
from ..nets.masked import MASKED_TYPES
from ..sparsity import layer_densities
from .train import _OPTIMIZERS, _SCHEDULES, as_loader, default_device, evaluate, loss_fn

Masks = dict[str, torch.Tensor]


@dataclass(frozen=True)
class DSTConfig:
    """Options of :func:`dst`, checked when built (a bad value raises naming the field).

    ``drop_fraction`` :math:`\\alpha` (RigL: 0.3), ``drop_schedule`` ("cosine" | "linear" | "constant"),
    ``method`` (a registered DST method: "rigl", "set", ...), ``density`` and ``epochs`` (required by :func:`dst`),
    ``update_interval`` :math:`\\Delta T` in optimizer steps, ``end_fraction`` of all steps after which masks stay
    fixed (RigL: 0.75); ``regrow_init`` "zero" | "random" (None: the method's default); ``ratio`` spreads the
    density over layers when :func:`dst` has to draw the start mask; the rest configure the optimizer.
    """
    method: str = "rigl"
    density: float | None = None
    epochs: int | None = None
    drop_fraction: float = 0.3
    drop_schedule: str = "cosine"
    update_interval: int = 100
    end_fraction: float = 0.75
    regrow_init: str | None = None
    ratio: str = "erk"
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "constant"
    batch_size: int = 128

    def __post_init__(self) -> None:
        if self.density is not None:
            object.__setattr__(self, "density", check_density(self.density, "density"))
        if self.epochs is not None:
            check_positive_int(self.epochs, "epochs")
        check_number(self.drop_fraction, "drop_fraction", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        lookup(_DROP_SCHEDULES, self.drop_schedule, "drop schedule", "drop_schedule")
        check_positive_int(self.update_interval, "update_interval")
        check_number(self.end_fraction, "end_fraction", lo=0.0, hi=1.0, lo_open=True)
        if self.regrow_init is not None:
            lookup(_INITS, self.regrow_init, "regrowth initialisation", "regrow_init")
        if not isinstance(self.ratio, str):
            raise TypeError(f"ratio must be a layer-wise ratio name, got {self.ratio!r}")
        check_number(self.lr, "lr", lo=0.0, lo_open=True)
        lookup(_OPTIMIZERS, self.optimizer, "optimizer", "optimizer")
        check_number(self.weight_decay, "weight_decay", lo=0.0)
        lookup(_SCHEDULES, self.schedule, "schedule", "schedule")
        check_positive_int(self.batch_size, "batch_size")


_DROP_SCHEDULES: dict[str, Callable[[float, float], float]] = {
    "cosine": lambda a, f: a / 2 * (1 + math.cos(math.pi * f)),
    "linear": lambda a, f: a * (1 - f),
    "constant": lambda a, f: a,
}


def drop_fraction_at(step: int, end_step: int, config: DSTConfig) -> float:
    """:math:`\\alpha_t` at optimizer step ``step`` (1-based) of ``end_step``: RigL's Eq. 1 for "cosine"."""
    return _DROP_SCHEDULES[config.drop_schedule](config.drop_fraction, min(step / end_step, 1.0))


def update_steps(total_steps: int, config: DSTConfig) -> list[int]:
    """The optimizer steps after which masks are updated: multiples of ``update_interval`` up to
    ``end_fraction * total_steps`` (inclusive)."""
    end = int(config.end_fraction * total_steps)
    return list(range(config.update_interval, end + 1, config.update_interval))


# ---- regrowth scores and initial values (the registry) ------------------------------------------------------

@dataclass(frozen=True)
class DSTMethod:
    """A registry entry: ``grow_scores(weight, dense_grad, generator) -> scores`` (higher = regrow first) over a
    layer's full shape; ``needs_grad`` says whether the dense gradient must be computed; ``init`` the default
    initialisation of regrown weights."""
    name: str
    grow_scores: Callable[[torch.Tensor, torch.Tensor | None, torch.Generator | None], torch.Tensor]
    needs_grad: bool
    init: str


_DST = Registry("dynamic sparse training")


def register_dst(name: str, *, needs_grad: bool, init: str):
    """Register a regrowth rule ``fn(weight, dense_grad, generator) -> scores``."""
    return _DST.register(name, wrap=lambda fn: DSTMethod(name, fn, needs_grad, init))


def available_dst() -> list[str]:
    return _DST.names()


@register_dst("rigl", needs_grad=True, init="zero")
def _rigl_scores(weight, grad, generator):
    return grad.abs()


@register_dst("set", needs_grad=False, init="random")
def _set_scores(weight, grad, generator):
    return torch.rand(weight.shape, generator=generator, dtype=torch.float64).to(weight.device)


def _zero_init(weight: torch.Tensor, generator) -> torch.Tensor:
    return torch.zeros_like(weight)


def _uniform_init(weight: torch.Tensor, generator) -> torch.Tensor:
    bound = 1.0 / math.sqrt(math.prod(weight.shape[1:]))
    return ((torch.rand(weight.shape, generator=generator) * 2 - 1) * bound).to(weight.device, weight.dtype)


_INITS = {"zero": _zero_init, "random": _uniform_init}


# ---- one mask update, pure -----------------------------------------------------------------------------------

def _top(scores: torch.Tensor, among: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of the ``k`` highest ``scores`` inside ``among`` (ties: lower flat index first)."""
    flat = torch.where(among.flatten(), scores.flatten().double(), torch.tensor(-math.inf, dtype=torch.float64,
                                                                                 device=scores.device))
    keep = torch.zeros(flat.numel(), dtype=torch.bool, device=scores.device)
    keep[torch.sort(flat, descending=True, stable=True).indices[:k]] = True
    return keep.view(scores.shape)


def mask_update(weight: torch.Tensor, mask: torch.Tensor, grow_scores: torch.Tensor, n_drop: int,
                support: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One prune-and-regrow step of a layer: drop the ``n_drop`` active entries of smallest ``|weight|``, regrow
    ``n_drop`` entries of highest ``grow_scores`` among those inactive after the drop (and inside ``support``).
    Returns ``(new mask, regrown entries)``; the active count is unchanged."""
    for name, t in (("mask", mask), ("grow_scores", grow_scores)) + ((("support", support),) if support is not None
                                                                       else ()):
        if tuple(t.shape) != tuple(weight.shape):
            raise ValueError(f"{name} has shape {tuple(t.shape)} but the weight has shape {tuple(weight.shape)}")
    n_active = int(mask.sum())
    if isinstance(n_drop, bool) or not isinstance(n_drop, int) or not 0 <= n_drop <= n_active:
        raise ValueError(f"n_drop must be an integer in [0, {n_active}] (the active count), got {n_drop!r}")
    kept = _top(weight.detach().abs(), mask, n_active - n_drop)
    candidates = ~kept if support is None else (~kept & support)
    grown = _top(grow_scores, candidates, n_drop)
    return kept | grown, grown


# ---- masks of either form -----------------------------------------------------------------------------------

@dataclass
class _Slot:
    """A masked layer of either form: its trainable weight and its mask buffer."""
    module: nn.Module

    @property
    def pruned_form(self) -> bool:
        return not isinstance(self.module, MASKED_TYPES)

    @property
    def weight(self) -> torch.Tensor:
        return self.module.weight_orig if self.pruned_form else self.module.weight

    @property
    def mask_buffer(self) -> torch.Tensor:
        return self.module.weight_mask if self.pruned_form else self.module.mask

    def mask(self) -> torch.Tensor:
        return self.mask_buffer.detach().bool().clone()

    @torch.no_grad()
    def set_mask(self, mask: torch.Tensor) -> None:
        self.mask_buffer.copy_(mask.to(self.mask_buffer.dtype))
        self.weight.masked_fill_(~mask, 0.0)
        if self.pruned_form:
            self.module.weight = (self.module.weight_orig * self.module.weight_mask).detach()


def _slots(model: nn.Module) -> dict[str, _Slot]:
    return {n: _Slot(m) for n, m in model.named_modules() if isinstance(m, MASKED_TYPES) or is_torch_pruned(m)}


def _start_masks(slots: dict[str, _Slot], density: float, ratio: str, generator) -> Masks:
    """The model's masks if they keep ``round(density N)`` weights (up to one per layer: per-layer counts are
    rounded); a random exact-count subset of them (per layer by ``ratio``) if they keep more; an error if fewer."""
    current = {n: s.mask() for n, s in slots.items()}
    n_total = sum(m.numel() for m in current.values())
    have, want = sum(int(m.sum()) for m in current.values()), round(density * n_total)
    if abs(have - want) <= len(current):
        return current
    if have < want:
        raise ValueError(f"density={density} keeps {want} weights but the model's masks keep only {have} "
                         f"(density {have / n_total:.4g}); DST keeps the density fixed, so it must not exceed it")
    dens = layer_densities([tuple(m.shape) for m in current.values()], density, ratio)
    out = {}
    for (n, m), d in zip(current.items(), dens):
        k = round(d * m.numel())
        if k > int(m.sum()):
            raise ValueError(f"layer {n!r}: ratio={ratio!r} asks for {k} weights but its mask holds only "
                             f"{int(m.sum())}; pass config=DSTConfig(ratio=...) with another ratio, or a denser mask")
        out[n] = _top(torch.rand(m.shape, generator=generator, dtype=torch.float64).to(m.device), m, k)
    return out


def _supports(support, slots: dict[str, _Slot]) -> Masks | None:
    if support is None:
        return None
    if isinstance(support, str):
        if support != "model":
            raise ValueError(f"support must be None (free regrowth), 'model' (the model's masks at the call) or "
                             f"a dict of masks, got {support!r}")
        return {n: s.mask() for n, s in slots.items()}
    if not isinstance(support, dict):
        raise TypeError(f"support must be None, 'model' or a dict {{layer: mask}}, got {type(support).__name__}")
    if set(support) != set(slots):
        raise ValueError(f"support keys {sorted(support)} do not match the masked layers {sorted(slots)}")
    out = {}
    for n, s in slots.items():
        m = torch.as_tensor(support[n])
        if tuple(m.shape) != tuple(s.weight.shape):
            raise ValueError(f"support[{n!r}] has shape {tuple(m.shape)}, weight {tuple(s.weight.shape)}")
        out[n] = m.bool().to(s.weight.device)
    return out


# ---- the training loop --------------------------------------------------------------------------------------

@dataclass
class DSTResult:
    """``network``: the trained model in ``torch.nn.utils.prune`` form; ``updates``: one row per mask update
    (step, drop fraction, pruned, regrown, per-layer counts); ``history``: one row per epoch; ``masks``: final."""
    network: nn.Module
    updates: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    masks: Masks = field(default_factory=dict)


@torch.no_grad()
def _reset_state(opt: torch.optim.Optimizer, p: torch.Tensor, where: torch.Tensor) -> None:
    """Zero the optimizer state (momentum, Adam moments) of ``p`` at ``where``."""
    for v in opt.state.get(p, {}).values():
        if isinstance(v, torch.Tensor) and v.shape == p.shape:
            v.masked_fill_(where, 0)


def dst(model: nn.Module, data, config: DSTConfig | None = None, *, support=None,
        generator: torch.Generator | None = None, val_data=None, device=None, progress: bool = False,
        **options) -> DSTResult:
    """Dynamic sparse training of ``model`` at fixed global ``density`` (fraction of all weights of its masked
    layers); see the module docstring for the update rule. Options: a :class:`DSTConfig` and/or its fields by
    keyword (``method="rigl", density=0.1, epochs=10``; keywords win; an unknown keyword is a TypeError).

    Start: the model's masks (``MaskedLinear``/``MaskedConv2d`` or ``torch.nn.utils.prune`` form) if they keep
    ``round(density N)`` weights (up to one per layer of rounding); a random subset of them (per layer by ``config.ratio``) if they keep more;
    a model without masks is first sparsified in place (``config.ratio``, default ERK as RigL). ``support``: None
    (regrowth anywhere), ``"model"`` (only inside the model's masks at the call: DST inside an ER super-mask) or
    ``{layer: mask}`` containing the start.
    """
    cfg = merge_config(DSTConfig, config, options, "dst", required=("density", "epochs"))
    entry = _DST.get_checked(cfg.method)
    check_bool(progress, "progress")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    dev = default_device(device)
    loader = as_loader(data, cfg.batch_size, True, generator)
    if len(loader) == 0:
        raise ValueError("data holds no batch")
    slots, sup = _start(model, cfg, support, generator, dev)
    run = _Run(model, len(loader), slots, sup, entry, cfg, generator, dev)
    res = DSTResult(model)
    for epoch in tqdm(range(cfg.epochs), desc=f"dst ({cfg.method})", unit="epoch", disable=not progress, leave=False):
        row = {"epoch": epoch, **run.epoch(model, loader, res)}
        if val_data is not None:
            row.update({f"val_{k}": v for k, v in evaluate(model, val_data, device=dev).items()})
            model.train()
        res.history.append(row)
    res.masks = {k: s.mask() for k, s in slots.items()}
    res.network = model if all(s.pruned_form for s in slots.values()) else to_prune_form(model)
    return res


def _start(model: nn.Module, cfg: DSTConfig, support, generator, dev) -> tuple[dict[str, _Slot], Masks | None]:
    """The masked layers (the model sparsified first if it has none), moved to ``dev`` with their start masks set;
    and the support regrowth must stay in (None: anywhere)."""
    slots = _slots(model)
    if not slots:
        sparsify(model, density=cfg.density, ratio=cfg.ratio, generator=generator)
        slots = _slots(model)
    model.to(dev)
    sup = _supports(support, slots)
    start = _start_masks(slots, cfg.density, cfg.ratio, generator)
    if sup is not None:
        outside = [n for n in slots if bool((start[n].to(dev) & ~sup[n]).any())]
        if outside:
            raise ValueError(f"the start mask leaves the support in layers {outside}")
    for n, s in slots.items():
        s.set_mask(start[n].to(dev))
    return slots, sup


class _Run:
    """The state of one DST run: the masked layers, the support, the method, the optimizer and its schedule, and
    the steps at which masks are updated."""

    def __init__(self, model: nn.Module, n_batches: int, slots: dict[str, _Slot], sup: Masks | None,
                 entry: DSTMethod, cfg: DSTConfig, generator, dev) -> None:
        self.slots, self.sup, self.entry, self.cfg, self.generator, self.dev = slots, sup, entry, cfg, generator, dev
        self.init = _INITS[cfg.regrow_init or entry.init]
        params = [p for p in model.parameters() if p.requires_grad]
        self.opt = _OPTIMIZERS[cfg.optimizer](params, cfg.lr, cfg.weight_decay)
        self.sched = _SCHEDULES[cfg.schedule](self.opt, cfg.epochs)
        total = cfg.epochs * n_batches
        self.due = set(update_steps(total, cfg))  # the optimizer steps that update the masks
        self.end_step = max(1, int(cfg.end_fraction * total))
        self.step = 0

    def epoch(self, model: nn.Module, loader, res: DSTResult) -> dict:
        """One epoch: a step per batch (masks enforced after every optimizer step; dense gradients on update steps,
        then prune and regrow); returns the epoch's log row."""
        model.train()
        tot, n = 0.0, 0
        for x, y in loader:
            self.step += 1
            loss = self._batch(model, x.to(self.dev), y.to(self.dev), res)
            tot += float(loss.detach()) * x.shape[0]
            n += x.shape[0]
        self.sched.step()
        return {"train_loss": tot / n, "lr": self.opt.param_groups[0]["lr"]}

    def _batch(self, model: nn.Module, x, y, res: DSTResult) -> torch.Tensor:
        slots, opt = self.slots, self.opt
        dense = self.step in self.due and self.entry.needs_grad
        masks_now = {k: s.mask() for k, s in slots.items()}
        if dense:  # all-ones masks: same outputs (pruned weights are 0), dense gradients
            for s in slots.values():
                s.mask_buffer.fill_(1)
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = {}
        if dense:
            for k, s in slots.items():
                grads[k] = s.weight.grad.detach().clone()
                s.weight.grad.masked_fill_(~masks_now[k], 0.0)
                s.mask_buffer.copy_(masks_now[k].to(s.mask_buffer.dtype))
        opt.step()
        for k, s in slots.items():
            s.set_mask(masks_now[k])  # re-zero pruned weights (optimizers that move them, e.g. weight decay)
        if self.step in self.due:
            res.updates.append(self._update(masks_now, grads, drop_fraction_at(self.step, self.end_step, self.cfg)))
        return loss

    def _update(self, masks_now: Masks, grads: dict, alpha: float) -> dict:
        """Prune and regrow every layer at drop fraction ``alpha``; returns the update's log row."""
        row = {"step": self.step, "drop_fraction": alpha, "pruned": 0, "regrown": 0, "layers": {}}
        g = self.generator
        for k, s in self.slots.items():
            m = masks_now[k]
            n_drop = int(alpha * int(m.sum()))
            scores = self.entry.grow_scores(s.weight.detach(), grads.get(k), g)
            new, grown = mask_update(s.weight, m, scores, n_drop, None if self.sup is None else self.sup[k])
            with torch.no_grad():
                s.weight.copy_(torch.where(grown, self.init(s.weight, g), s.weight))
            s.set_mask(new)
            _reset_state(self.opt, s.weight, (m & ~new) | grown)
            row["pruned"] += n_drop
            row["regrown"] += int(grown.sum())
            row["layers"][k] = n_drop
        return row
