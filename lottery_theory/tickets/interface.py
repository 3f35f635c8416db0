"""What a layout is written against. A :class:`Construction` has three steps, each with a typed input and output:

* ``plan(target: TargetChain, config: ConstructConfig) -> Plan``: block sizes (from the bound calculators, or the
  width the caller asked for);
* ``build(target: TargetChain, plan: Plan, ctx: BuildContext) -> BuildResult``: draw the ER source, solve the subset
  sums (:func:`~lottery_theory.tickets.blocks.solve_block` / :func:`~lottery_theory.tickets.blocks.solve_rows`) and
  write the ticket's masks;
* ``realise(network, layout) -> list[RealisedLayer]``: what the rebuilt ticket computes per target layer, read from
  its masked weights (for the certificates; :func:`~lottery_theory.tickets.bracket.realise_block` for 2L blocks).

Register it with ``@CONSTRUCTIONS.register(name)`` and ``construct(target, construction=name, ...)`` uses it;
tests/test_extension_points.py writes one from scratch with the helpers of :mod:`lottery_theory.tickets.blocks`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .._validation import Registry, check_density, check_number, check_open_unit, check_positive_int
from .blocks import SolverSpec
from .distribute import check_executor
from .._construct_options import OPTIONS, check_choice

CONSTRUCTIONS = Registry("construction", "construction")


@dataclass(frozen=True)
class TargetChain:
    """The target as a layout reads it: the traced ``nn.Sequential`` (``target``), its modules (``mods``), each
    Linear/Conv2d's effective weight ``[n_out, n_in_virtual]`` and bias (numpy, None without one; ``specs``), the
    virtual layer widths (conv: ``c k_h k_w``; ``widths``), whether any layer has a bias, the input shape."""
    target: nn.Sequential
    mods: list
    specs: list
    widths: list
    has_bias: bool
    input_shape: tuple

    @property
    def layers(self) -> list[nn.Module]:
        """The target's Linear/Conv2d modules, in order."""
        return [m for m in self.mods if isinstance(m, (nn.Linear, nn.Conv2d))]


@dataclass(frozen=True)
class Plan:
    """A layout's plan: ``blocks`` the units per input of each block layer (reported as ``Ticket.block_sizes``).
    Layouts with more sizes subclass it (:class:`~lottery_theory.tickets.layouts.LPlusOnePlan`)."""
    blocks: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(int(k) for k in self.blocks))


@dataclass
class BuildContext:
    """Everything ``build`` needs besides the target and the plan: the source ``density`` (scalar or per layer) and
    its layer ``ratio``, the ``generator`` every draw comes from, the subset-sum ``solver`` (method, objective, the
    per-layer budgets; ``solver.at(l)`` selects layer ``l``'s), the item cap ``max_items``, the unit ``assignment``,
    ``timings``: seconds by stage, added to by the helpers (``t_draw_source_s``, ``t_prepare_s``,
    ``t_solve_s``), and ``signed_input`` (False for a non-negative input box: the first block realises each weight
    once, :math:`s^+`)."""
    density: float | tuple[float, ...]
    ratio: str
    generator: torch.Generator | None
    solver: SolverSpec
    max_items: int
    assignment: str
    timings: dict = field(default_factory=dict)
    signed_input: bool = True  # False when every input is >= 0: the first block needs s+ only

    def add_time(self, key: str, seconds: float) -> None:
        self.timings[key] = self.timings.get(key, 0.0) + seconds


@dataclass
class BuildResult:
    """What ``build`` returns: the ER ``source`` (an ``nn.Sequential`` of masked layers, or a
    :class:`~lottery_theory.tickets.source.SourceRecipe` that draws it on demand), the ticket ``network`` (the
    source with the ticket's masks), ``instance_errors`` (one array per target layer, the subset sums' errors), the
    source layers' ``densities``, the ``layout`` that ``realise`` reads, ``source_edges`` (None: counted from the
    source's masks) and ``budgets`` (per target layer; None: the budgets ``construct`` gave, unchanged)."""
    source: object
    network: nn.Sequential
    instance_errors: list[np.ndarray]
    densities: list[float]
    layout: dict
    source_edges: int | None = None
    budgets: list[float] | None = None


class Construction:
    """A layout: :meth:`plan`, :meth:`build`, :meth:`realise` (module docstring). ``default_objective`` is the
    subset-sum objective ``construct`` uses when none is given ("fewest" or "min_error")."""
    name = ""
    default_objective = "min_error"

    def plan(self, target: TargetChain, config: ConstructConfig) -> Plan:
        raise NotImplementedError

    def build(self, target: TargetChain, plan: Plan, ctx: BuildContext) -> BuildResult:
        raise NotImplementedError

    def realise(self, network: nn.Sequential, layout: dict) -> list:
        raise NotImplementedError


@dataclass(frozen=True)
class ConstructConfig:
    r"""Every option of :func:`construct`, with its one set of defaults; checked when built (a bad value raises
    naming the field). ``density`` and ``eps`` have no default.

    * ``density``: ER density (fraction kept) of the source layers: a global scalar (spread by ``ratio`` over the
      source layers) or a per-layer sequence (2L: one per target layer or per source layer; L+1: one per source
      layer).
    * ``eps``: target sup error over the input box (``box``); each weight aims at its
      budget and ``Ticket.failures`` counts instances that missed it. ``delta``: failure probability of the bound.
    * ``construction``: a registered layout (``"2L"``, ``"L+1"``; :data:`~lottery_theory.tickets.CONSTRUCTIONS`).
    * Width: by default the bound's requirement (:func:`lottery_theory.bounds.required_width`), i.e. ``k`` units
      per input in each block layer. ``width_multiplier`` sets ``k`` directly (2L: units per input; L+1: ``k`` of
      the input block and the copies per neuron); ``width`` sets the block layer widths (``(n_in + 1) k``). Too
      small a width is allowed: failures are reported. ``C``: the subset-sum constant (default
      :data:`~lottery_theory.bounds.DEFAULT_C`).
    * ``assignment``: how block-layer units are tied to inputs (2L, and the first layer of L+1).
      ``"adaptive"`` (default): each unit serves one input among its surviving edges of layer A, so an item is
      present when its edge into layer B survives (probability :math:`p_B/2` with the sign): one ER factor per
      layer. Units are tied by a bipartite matching that gives every input the largest quota any assignment can
      (:func:`~lottery_theory.tickets.blocks.assign_units_matched`), so the width of
      ``required_width(assignment="adaptive")`` is proven (docs/theory.md, eq. (AD-2)). ``"greedy"``: the same
      layout tied least-loaded first (:func:`~lottery_theory.tickets.blocks.assign_units`; its width, eq. (AD-1),
      is a heuristic; the published adaptive-layout results used it). ``"fixed"``: unit ``u`` serves input
      ``u // k`` and needs that one edge (probability :math:`p_A p_B/2`). ``"matched"`` is ``"adaptive"``'s
      former name.
    * ``objective``: ``"fewest"`` (the default of both layouts) picks, per weight, the smallest subset within the
      layer's budget; ``"min_error"`` the most accurate subset. L+1 copy layers amplify the errors they read by the
      copies' summed |weights|, so L+1 solves them last to first and rescales the earlier layers' budgets by the
      realised gains (docs/theory.md, LB-1). ``solver``: the subset-sum method; ``max_items`` (<= 44): items per
      subset sum.
    * ``budget``: ``"assumed"`` (default): :func:`~lottery_theory.bounds.per_weight_eps`, which assumes
      :math:`\|W_l\|_\infty + \|b_l\|_\infty \le 1`; ``"norms"``: spent from the realised target's interval bounds
      and norms (:func:`~lottery_theory.bounds.per_weight_budget`), one per layer.
    * ``ratio``: the layer-wise ratio that spreads a scalar density. ``input_shape``: the input's shape (needed for
      conv targets).
    * ``box``: the input box, a number ``B`` (inputs in :math:`[-B, B]`) or a pair ``(lo, hi)``. A box with
      ``lo >= 0`` (images in [0, 1]) needs each first-layer weight realised once (:math:`s^+`), not twice: half
      the first layer's subset sums; the budgets and ``certified_error`` are then over :math:`[0, \text{hi}]`.
      Any other pair is treated as its symmetric hull :math:`[-B, B]`, ``B = max(|lo|, |hi|)``.
    * ``executor``: where the subset sums are solved: ``None`` (here), ``"local"`` (a process pool of
      ``workers``), ``"dask"`` (a local Dask cluster of ``workers``) or an executor/``dask.distributed.Client``
      (:mod:`lottery_theory.tickets.distribute`); the ticket is bit-identical to the serial one.
    * ``retries``: at a fixed width, draw up to ``retries`` sources (independent generators seeded from the
      generator), stop at the first whose certificate is <= ``eps``, and return the draw with the smallest
      certified upper bound; ``Ticket.draws`` reports the draws.
    """
    density: float | tuple[float, ...]
    eps: float
    delta: float = OPTIONS["delta"].default
    construction: str = OPTIONS["construction"].default
    width: int | tuple[int, ...] | None = None
    width_multiplier: int | tuple[int, ...] | None = None
    ratio: str = OPTIONS["ratio"].default
    solver: str = OPTIONS["solver"].default
    max_items: int = OPTIONS["max_items"].default
    box: float | tuple[float, float] = 1.0
    input_shape: tuple[int, ...] | None = None
    C: float | None = None
    assignment: str = OPTIONS["assignment"].default
    objective: str | None = None  # None: the layout's default_objective ("fewest" for 2L and L+1)
    budget: str = OPTIONS["budget"].default
    executor: object = None
    workers: int = 2
    retries: int = OPTIONS["retries"].default

    def __post_init__(self) -> None:
        put = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 - frozen
        put("retries", check_positive_int(self.retries, "retries"))
        CONSTRUCTIONS.get_checked(self.construction)
        put("eps", check_open_unit(self.eps, "eps"))  # numpy scalars welcome; bools, strings, NaN refused
        put("delta", check_open_unit(self.delta, "delta"))
        check_positive_int(self.max_items, "max_items")
        box = self.box
        if isinstance(box, (list, tuple)):
            if len(box) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))
                                    or not math.isfinite(v) for v in box) or not box[0] < box[1] or box[1] <= 0:
                raise ValueError(f"box must be a number > 0 or a pair (lo, hi) of finite numbers with lo < hi and "
                                 f"hi > 0, got {box!r}")
            put("box", (float(box[0]), float(box[1])))
        elif isinstance(box, bool) or not isinstance(box, (int, float, np.floating)) or not math.isfinite(box) \
                or box <= 0:
            raise ValueError(f"box must be a finite number > 0 (inputs in [-box, box]) or a pair (lo, hi), got "
                             f"{box!r}")
        if self.max_items > 44:
            raise ValueError("max_items must be <= 44 (the exact solver's limit)")
        if self.width is not None and self.width_multiplier is not None:
            raise ValueError("give width or width_multiplier, not both")
        for name in ("assignment", "objective", "budget"):
            if not (name == "objective" and self.objective is None):  # None: the layout's own
                put(name, check_choice(name, getattr(self, name)))
        check_executor(self.executor, self.workers)
        if self.C is not None:
            put("C", check_number(self.C, "C", lo=0.0, lo_open=True))
        d = self.density
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, float, np.integer, np.floating, list, tuple)):
            raise TypeError(f"density must be a number in (0, 1] or a list of them, got {d!r}")
        if isinstance(d, (list, tuple)):
            [check_density(x, f"density[{i}]") for i, x in enumerate(d)]
            put("density", tuple(d))
        else:
            put("density", check_density(d, "density"))
        for name in ("width", "width_multiplier", "input_shape"):
            if isinstance(getattr(self, name), list):
                put(name, tuple(getattr(self, name)))

    @property
    def box_pair(self) -> tuple[float, float]:
        """``box`` as ``(lo, hi)``: a number ``B`` is ``(-B, B)``."""
        return self.box if isinstance(self.box, tuple) else (-float(self.box), float(self.box))

    @property
    def input_box(self) -> tuple[float, float]:
        """The box the ticket is built and certified for: ``(0, hi)`` for a non-negative box, else ``(-B, B)``."""
        lo, hi = self.box_pair
        return (0.0, hi) if lo >= 0 else (-max(-lo, hi), max(-lo, hi))
