r"""Strong-ticket constructions inside ER sources: 2L (Pensia et al. 2020; Malach et al. 2020) and
L+1 (Burkholz 2022), with the ER mask entering as the presence of paths.

**2L layout** (MLP and conv targets). Each target layer :math:`W \in R^{n\times m}` (a conv layer
is read through its ``[c_out, c_in k_h k_w]`` view) becomes two source layers:

* block layer ``A`` with :math:`(m + [\text{bias}])\,k` units (conv: channels, with the target's
  kernel, stride and padding). Each of the first :math:`m k` units serves one input ``j`` and keeps only
  the edge ``j -> u`` (weight :math:`a_u`), so it outputs :math:`\mathrm{relu}(a_u x_j)`. *Adaptive*
  layout (default): ``j`` is one of the unit's surviving edges, balanced over inputs; *fixed* layout:
  ``j = u // k``. The last ``k`` units keep only their own bias :math:`c_u` and output the constant
  :math:`\mathrm{relu}(c_u)`;
* output layer ``B`` (conv: 1x1) with the target's ``n`` units and weights :math:`b_{iu}`; its
  own biases are pruned.

For input :math:`x_j \ge 0` only units with :math:`a_u > 0` are active, for :math:`x_j < 0` only
those with :math:`a_u < 0`. So :math:`w_{ij}` is realised twice, by the subset sums
:math:`s^+_{ij} = \sum_{u \in S^+} a_u b_{iu}` (units with :math:`a_u > 0`) and
:math:`s^-_{ij}` (units with :math:`a_u < 0`); the block computes :math:`s^{\pm}_{ij} x_j`. After a
ReLU the inputs are non-negative and only :math:`s^+` is needed. The bias is
:math:`\sum_{u \in S^b} \mathrm{relu}(c_u) b_{iu}`. **ER mask:** item ``u`` of instance ``(i, j)``
is present iff ``A.mask[u, j]`` and ``B.mask[i, u]`` are both kept (a path needs both edges) and
:math:`a_u` has the right sign; bias items need ``B.mask[i, u]`` and :math:`c_u > 0`. In the adaptive
layout ``A.mask[u, j]`` holds by construction, so only layer B's edge is a coin flip (docs/theory.md).

**L+1 layout** (MLP targets). Source layer 1 is the block layer of the first target layer (as
above). Source layer :math:`l+1` holds :math:`\rho_l` *copies* of every neuron of target layer
``l`` plus :math:`k^b` constant units (for the next bias). A copy ``q`` of neuron ``i`` of layer
:math:`l \ge 2` realises :math:`w_{ij}` as a subset sum of its incoming weights :math:`c_{qm}` from
the copies ``m`` of ``j`` (all of which output :math:`\approx h_j \ge 0`); layer 1's copies use the
block products as in 2L. **ER mask:** the edge ``m -> q`` must be kept. The output layer has one
copy per neuron. Depth L+1 instead of 2L.

Every subset-sum instance of a layer goes to the solver in one batch. Items per instance are
capped at ``max_items`` (evenly spaced order statistics of the present values are kept), which
bounds the solver's time; the resulting errors are reported, not hidden. ``Ticket.certified_error`` is the
composition inequality on what the rebuilt network realises (:func:`lottery_theory.bounds.composition_certificate`);
``Ticket.sup_error`` brackets the sup error with an attack and the tighter of the interval and differential
certificates (:func:`lottery_theory.tickets.bracket.certify`). The layouts live in :mod:`.layouts`, their shared block
code in :mod:`.blocks`.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .._validation import merge_config
from ..bounds.certificate import composition_certificate
from ..bounds import per_weight_eps
from ..nets.masked import masked_layers
from .blocks import SolverSpec, target_weight
from .distribute import opened
from .interface import BuildContext, BuildResult, ConstructConfig, Plan, TargetChain
from .layouts import CONSTRUCTIONS

PASSTHROUGH = (nn.ReLU, nn.Flatten, nn.MaxPool2d, nn.AvgPool2d, nn.Identity)
# Monotone activations a 2L target may use besides ReLU (the block layers stay ReLU: they only represent the
# linear part; the target's activation is copied between blocks; docs/theory.md, "Other activations")
ACTIVATIONS = (nn.Tanh, nn.Sigmoid, nn.LeakyReLU)


@dataclass
class Ticket:
    """A strong ticket: the pruned ``network``, its ER ``source`` (same module names; a 2L source is held as a
    :class:`~lottery_theory.tickets.source.SourceRecipe` and drawn densely on first access) and its errors."""
    source_recipe: object
    network: nn.Sequential
    target: nn.Module
    construction: str
    certified_error: float
    eps: float
    eps_weight: float
    failures: int
    n_instances: int
    instance_errors: np.ndarray
    source_params: int
    kept_params: int
    target_params: int
    timings: dict = field(default_factory=dict)
    block_sizes: list = field(default_factory=list)
    densities: list = field(default_factory=list)
    input_shape: tuple = ()
    layout: dict = field(default_factory=dict)
    source_edges: int = 0
    draws: dict = field(default_factory=dict)
    _realised: tuple | None = field(default=None, init=False, repr=False, compare=False)  # (state key, layers)

    @property
    def source(self) -> nn.Sequential:
        """The dense ER source (weights, biases, masks). A 2L source is redrawn from its recipe here, on first
        access only: the construction itself never holds it."""
        if not isinstance(self.source_recipe, nn.Module):
            self.source_recipe = self.source_recipe.materialise()
        return self.source_recipe

    @property
    def kept_ratio(self) -> float:
        """Kept ticket parameters / target parameters."""
        return self.kept_params / self.target_params

    @torch.no_grad()
    def measure_error(self, x: torch.Tensor, batch_size: int = 500) -> dict:
        """Run **the ticket network** and the target on ``x`` (in batches); max and mean |ticket(x) - target(x)|."""
        dev = next(self.network.parameters()).device
        x = torch.as_tensor(x, dtype=torch.float32)
        if not torch.all(torch.isfinite(x)):
            raise ValueError("x contains NaN or inf")
        target = self.target.to(dev)
        tdt = next(target.parameters()).dtype  # a float64 target runs in float64
        gaps = []
        for s in range(0, x.shape[0], batch_size):
            xb = x[s:s + batch_size].to(dev)
            gaps.append((self.network(xb).double() - target(xb.to(tdt)).double()).abs().cpu())
        gap = torch.cat(gaps)
        return {"max": float(gap.max()), "mean": float(gap.mean()), "n": int(x.shape[0])}

    def realise(self) -> list:
        """What the rebuilt network realises per target layer, read from its masked weights
        (:class:`lottery_theory.bounds.RealisedLayer`, one per target Linear/Conv2d). Computed once per state of
        the network (any write to its weights or masks recomputes it); the layers are shared between calls, so copy
        an array before writing into it."""
        from .layouts import CONSTRUCTIONS

        key = _state_key(self.network)  # construct() and sup_error() both read it: computed once per state
        if self._realised is None or self._realised[0] != key:
            self._realised = (key, CONSTRUCTIONS.get_checked(self.construction)().realise(self.network, self.layout))
        return list(self._realised[1])

    def box_symmetric(self, lo, hi) -> bool:
        """Is ``(lo, hi)`` the box the construction certified with ``certified_error`` (``[-box, box]``, or
        ``[0, box]`` for a non-negative input box)?"""
        b = self.layout.get("box")
        b_lo = self.layout.get("input_lo", None if b is None else -b)
        return b is not None and np.all(np.asarray(lo) == b_lo) and np.all(np.asarray(hi) == b)

    def sup_error(self, box=(-1.0, 1.0), *, generator: torch.Generator | None = None, restarts: int = 16,
                  steps: int = 100, samples: int = 2000, method: str = "bracket", eps: float | None = None):
        """Bracket ``[lower, upper]`` of :math:`\\sup_{x \\in box} |ticket(x) - target(x)|` with the maximiser
        ``argmax``. ``method``:

        * ``"bracket"`` (default): an attack and the tighter of the interval and the differential certificates
          (:func:`lottery_theory.tickets.bracket.sup_error`);
        * ``"interval"`` / ``"differential"``: an attack and that certificate alone;
        * ``"exact"``: the MILP optimum for small 2L and L+1 tickets of ReLU targets (one input: every kink of
          both networks, at any width)
          (:func:`lottery_theory.tickets.exact.exact_sup_error`: ``lower`` = the gap at the MILP's maximiser on the
          rebuilt networks, ``upper`` = the proven bound with a 1e-6 relative solver margin); when the MILP's time
          limit strikes first, its incumbent and dual bound are intersected with the ``"bracket"`` result
          (``method`` is then ``"milp-gap"`` if the MILP's bound is the tighter upper, else the certificate's);
        * ``"auto"``: the cheapest that reaches ``eps`` (default: the ticket's eps): the interval certificate, then
          the differential one (input splitting included), then, if the ticket is small enough, the exact MILP.

        ``SupError.method`` says which certified ``upper``."""
        from .bracket import SupError, sup_error
        from .exact import exact_sup_error

        if method not in ("bracket", "interval", "differential", "exact", "auto"):
            raise ValueError(f"method must be 'bracket', 'interval', 'differential', 'exact' or 'auto', got {method!r}")
        if method == "exact":
            ex = exact_sup_error(self, box)
            if ex.optimal:
                return SupError(lower=ex.recheck, upper=ex.bound, argmax=ex.argmax, random_max=float("nan"),
                                composition=None, method="exact")
            # the time limit struck: the MILP's incumbent and dual bound are a bracket too; intersect it with the
            # attack and certificate bracket, and say that the MILP was not proven ("milp-gap")
            return _merge_milp(sup_error(self, box, generator=generator, restarts=restarts, steps=steps,
                                         samples=samples, certificate="best"), ex)
        target_eps = self.eps if eps is None else eps
        cert = {"bracket": "best", "interval": "interval", "differential": "differential", "auto": "cheapest"}[method]
        br = sup_error(self, box, generator=generator, restarts=restarts, steps=steps, samples=samples,
                       certificate=cert if method != "auto" else "interval")
        if method != "auto" or br.upper <= target_eps or br.lower > target_eps:
            return br  # certified already, or the attack already shows the ticket misses eps
        from .bracket import certify

        c = certify(self, box[0], box[1], method="cheapest", stop_at=target_eps, interval=br.interval)
        br = SupError(lower=br.lower, upper=c["upper"], argmax=br.argmax, random_max=br.random_max,
                      composition=br.composition, method=c["method"], interval=c["interval"],
                      differential=c["differential"])
        if br.upper <= target_eps:
            return br
        try:
            ex = exact_sup_error(self, box)
        except ValueError:  # too large or not a 2L ReLU ticket: the bracket is the answer
            return br
        return _merge_milp(br, ex)

    def summary(self) -> dict:
        return dict(construction=self.construction, certified_error=self.certified_error, eps=self.eps,
                    eps_weight=self.eps_weight, failures=self.failures, n_instances=self.n_instances,
                    source_params=self.source_params, source_edges=self.source_edges, kept_params=self.kept_params,
                    target_params=self.target_params, kept_ratio=self.kept_ratio, **self.timings)


# ----------------------------------------------------------------------------- helpers
def _state_key(net: nn.Module) -> tuple:
    """What identifies the network's current weights and masks: per tensor its identity, in-place version counter,
    storage, shape, dtype and a CRC-32 of its bytes (a write through ``.data`` leaves the version counter alone; the
    checksum reads the memory once, 6x faster than float64 sums on the largest quick ticket (benchmarks/state_key.py),
    and catches permutations, which sums miss)."""
    import zlib

    def crc(t: torch.Tensor) -> int:
        a = t.detach()
        if a.device.type != "cpu" or not a.is_contiguous():
            a = a.cpu().contiguous()
        return zlib.crc32(a.reshape(-1).view(torch.uint8).numpy())

    with torch.no_grad():
        return tuple((name, id(t), t._version, t.data_ptr(), tuple(t.shape), str(t.dtype), crc(t))
                     for name, t in net.state_dict(keep_vars=True).items())


def _merge_milp(br, ex):
    """Intersect an attack + certificate bracket ``br`` (SupError) with a MILP result ``ex`` (ExactResult): the
    larger lower bound (with its maximiser) and the smaller upper; ``method`` names who certified the upper
    ("exact" for a proven optimum, "milp-gap" for a time-limited dual bound, else the certificate's name)."""
    from .bracket import SupError

    if ex.bound < br.upper:
        how = "exact" if ex.optimal else "milp-gap"
    else:
        how = br.method
    return SupError(lower=max(br.lower, ex.recheck), upper=min(br.upper, ex.bound),
                    argmax=ex.argmax if ex.recheck > br.lower else br.argmax, random_max=br.random_max,
                    composition=br.composition, method=how, interval=br.interval, differential=br.differential)


def _target_layers(target: nn.Module) -> list[nn.Module]:
    from ..nets.chain import as_sequential

    if not isinstance(target, nn.Module):
        raise TypeError(f"target must be an nn.Module (an nn.Sequential, or a module whose forward is one chain of "
                        f"Linear/Conv2d, ReLU, Flatten and pooling layers), got {type(target).__name__}")
    try:
        mods = list(as_sequential(target).children())
    except TypeError as e:
        raise TypeError(f"target: {e}") from None
    for m in mods:
        if not isinstance(m, (nn.Linear, nn.Conv2d) + PASSTHROUGH + ACTIVATIONS):
            raise TypeError(f"construct cannot handle a {type(m).__name__} layer in the target")
        if isinstance(m, nn.LeakyReLU) and not 0 <= m.negative_slope <= 1:
            raise ValueError(f"LeakyReLU targets need 0 <= negative_slope <= 1 (1-Lipschitz), got {m.negative_slope}")
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            w = m.weight.detach()
            if not torch.all(torch.isfinite(w)) or (m.bias is not None and not torch.all(torch.isfinite(m.bias))):
                raise ValueError("target contains NaN or inf weights")
            if isinstance(m, nn.Conv2d) and (m.groups != 1 or m.dilation != (1, 1)):
                raise ValueError("conv targets must have groups=1 and dilation=1")
    return mods


def _live_params(net: nn.Module) -> int:
    """Weights and biases a masked network keeps (mask entries set)."""
    return sum(int(torch.count_nonzero(l.mask)) + (int(l.bias_mask.sum()) if l.bias_mask is not None else 0)
               for l in masked_layers(net).values())


def available_constructions() -> list[str]:
    return CONSTRUCTIONS.names()


def construct(target: nn.Module, config: ConstructConfig | None = None, *, generator: torch.Generator | None = None,
              **options) -> Ticket:
    r"""Draw an ER source for ``target`` and build a strong ticket inside it (see the module docstring).

    ``target``: an ``nn.Sequential``, or any module whose forward is one chain of Linear/Conv2d, ReLU, Flatten and
    pooling steps (traced with ``torch.fx`` by :func:`~lottery_theory.nets.chain.as_sequential`; residual or
    branching graphs are refused naming the node); ``Ticket.target`` is that chain, sharing the model's layers.
    Options: a :class:`ConstructConfig` and/or its fields as keywords (keywords win; an unknown keyword is a
    TypeError naming the accepted ones), e.g. ``construct(target, density=0.5, eps=0.01)``. Weights of the source
    are U[-1, 1]; masks are Bernoulli (the ER model); everything is drawn from ``generator``. Returns a
    :class:`Ticket`; its errors come from the rebuilt ticket (plan -> build -> account -> certify below).
    """
    cfg = merge_config(ConstructConfig, config, options, "construct", required=("density", "eps"))
    if cfg.retries > 1:
        return _best_of(target, cfg, generator)
    t0 = time.perf_counter()
    chain = _chain(target, cfg.input_shape)
    cons = CONSTRUCTIONS.get_checked(cfg.construction)()
    tols, gains = _budgets(chain, cfg)
    plan = cons.plan(chain, cfg)
    t1 = time.perf_counter()
    with opened(cfg.executor, cfg.workers) as ex:
        spec = SolverSpec(cfg.solver, cfg.objective or cons.default_objective, tuple(tols), executor=ex,
                          gains=tuple(gains))
        ctx = BuildContext(cfg.density, cfg.ratio, generator, spec, cfg.max_items, cfg.assignment,
                           signed_input=cfg.input_box[0] < 0)
        built = cons.build(chain, plan, ctx)
    ticket = _account(chain, cfg, plan, built, tols, timings={"t_plan_s": t1 - t0, **ctx.timings},
                      t_build_s=time.perf_counter() - t1)
    lo, hi = cfg.input_box
    ticket.certified_error = composition_certificate(chain.target, ticket.realise(), hi, chain.input_shape,
                                                     nonneg_input=lo >= 0)
    ticket.timings["t_total_s"] = time.perf_counter() - t0
    if ticket.failures:
        warnings.warn(f"{ticket.failures} of {ticket.n_instances} subset sums missed their per-weight budget, so the "
                      f"ticket may miss eps = {cfg.eps:g} (composition certificate {ticket.certified_error:.3g}); "
                      f"Ticket.sup_error gives the certified bracket. A wider source, more items or a larger C helps",
                      BudgetMissed, stacklevel=2)
    return ticket


def _chain(target: nn.Module, input_shape) -> TargetChain:
    mods = _target_layers(target)
    target = nn.Sequential(*mods) if not isinstance(target, nn.Sequential) else target  # the traced chain
    lins = [m for m in mods if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not lins:
        raise ValueError("target has no Linear or Conv2d layer")
    specs = [target_weight(m) for m in lins]
    if input_shape is None:
        if isinstance(lins[0], nn.Conv2d):
            raise ValueError("conv targets need input_shape=(channels, height, width)")
        input_shape = (lins[0].in_features,)
    widths = [specs[0][0].shape[1]] + [W.shape[0] for W, _ in specs]
    return TargetChain(target, mods, specs, widths, any(b is not None for _, b in specs), tuple(input_shape))


def _budgets(chain: TargetChain, cfg: ConstructConfig) -> tuple[list[float], list[float]]:
    """Per-layer error budgets and the gains |||W_l|||_inf they assume (LB-1 rescales L+1's by the realised ones)."""
    L = len(chain.specs)
    if cfg.budget == "norms":
        from ..bounds.certificate import per_weight_budget

        return per_weight_budget(chain.target, cfg.eps, *cfg.input_box, chain.input_shape,
                                 return_gains=True)
    return [per_weight_eps(chain.widths, cfg.eps, chain.has_bias)] * L, [1.0] * L  # assumed: every |||W_l||| <= 1


def _account(chain: TargetChain, cfg: ConstructConfig, plan: Plan, built: BuildResult, tols: list, timings: dict,
             t_build_s: float) -> Ticket:
    """The Ticket of a build: parameter counts, instance errors against the (possibly rescaled) budgets, timings."""
    source, network, errs, dens, layout = (built.source, built.network, built.instance_errors, built.densities,
                                           dict(built.layout))
    tols = list(built.budgets if built.budgets is not None else tols)  # L+1: rescaled by the realised gains
    all_err = np.concatenate([e.ravel() for e in errs])
    if isinstance(source, nn.Module):
        n_src = sum(int(l.weight.numel()) + (int(l.bias.numel()) if l.bias is not None else 0)
                    for l in masked_layers(source).values())
    else:
        n_src = source.params()
    n_edges = built.source_edges if built.source_edges is not None else _live_params(source)
    n_tgt = sum(int((W != 0).sum()) + (int((b != 0).sum()) if b is not None else 0) for W, b in chain.specs)
    inner = sum(v for k, v in timings.items() if k != "t_plan_s")
    return Ticket(source_recipe=source, network=network, target=chain.target, construction=cfg.construction,
                  certified_error=math.nan, eps=float(cfg.eps), eps_weight=min(tols),
                  failures=sum(int((e.ravel() > t).sum()) for e, t in zip(errs, tols)), n_instances=int(all_err.size),
                  instance_errors=all_err, source_params=n_src, kept_params=_live_params(network),
                  target_params=n_tgt,
                  timings={**timings, "t_masks_and_bounds_s": t_build_s - inner,
                           "t_total_s": timings["t_plan_s"] + t_build_s},
                  block_sizes=list(plan.blocks), densities=list(dens), input_shape=chain.input_shape,
                  layout={**layout, "box": cfg.input_box[1], **({"input_lo": 0.0} if cfg.input_box[0] >= 0 else {})},
                  source_edges=n_edges)


def _best_of(target: nn.Module, cfg: ConstructConfig, generator: torch.Generator | None) -> Ticket:
    """``construct`` on up to ``cfg.retries`` independent draws; the ticket with the smallest certified bound
    (:func:`~lottery_theory.tickets.bracket.certify`, cheapest first)."""
    import dataclasses

    from .bracket import certify

    retries, one = cfg.retries, dataclasses.replace(cfg, retries=1)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    seeds = [int(s) for s in torch.randint(0, 2**62, (retries,), generator=g)]
    best, uppers = None, []
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BudgetMissed)
            tk = construct(target, one, generator=torch.Generator().manual_seed(seed))
        up = certify(tk, *cfg.input_box, method="cheapest", stop_at=cfg.eps)["upper"]
        uppers.append(up)
        if best is None or up < best[0]:
            best = (up, tk)
        if up <= cfg.eps:
            break
    tk = best[1]
    tk.draws = {"draws": len(uppers), "max_draws": retries, "uppers": uppers, "seeds": seeds[:len(uppers)],
                "met_eps": sum(u <= cfg.eps for u in uppers), "best_upper": best[0]}
    if tk.draws["met_eps"] == 0:
        warnings.warn(f"no draw of {retries} met eps = {cfg.eps:g}: the best certified upper bound is "
                      f"{best[0]:.3g}; widen the source or raise retries", BudgetMissed, stacklevel=3)
    return tk


class BudgetMissed(UserWarning):
    """``construct`` returned a ticket some of whose subset sums missed their budget (width, items or C too small);
    filter it with ``warnings.simplefilter("ignore", BudgetMissed)`` where that is intended (width sweeps)."""
