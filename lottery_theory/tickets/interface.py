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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from .blocks import SolverSpec

if TYPE_CHECKING:  # pragma: no cover
    from .construct import ConstructConfig


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
    and ``timings``: seconds by stage, added to by the helpers (``t_draw_source_s``, ``t_prepare_s``,
    ``t_solve_s``)."""
    density: float | tuple[float, ...]
    ratio: str
    generator: torch.Generator | None
    solver: SolverSpec
    max_items: int
    assignment: str
    timings: dict = field(default_factory=dict)

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
