"""The one table of :func:`~lottery_theory.tickets.construct`'s scalar options: default, allowed values and help.

:class:`~lottery_theory.tickets.interface.ConstructConfig` takes its defaults from here, the ``ticket`` command
generates its flags from here, and the ``ticket`` experiment (:class:`~lottery_theory.experiments.builtin.TicketConfig`)
takes its defaults from here; so a default is changed in one place. It lives outside :mod:`lottery_theory.tickets`
(whose package imports torch) and imports neither torch nor numpy, so the command's ``--help`` stays fast.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """One option: its default, its allowed values (None: any value the config accepts) and a one-line help."""
    default: object
    help: str
    choices: tuple | None = None
    type: type | None = None


OPTIONS: dict[str, Option] = {
    "delta": Option(0.01, "failure probability of the width bound", type=float),
    "construction": Option("2L", "layout: 2L (two source layers per target layer) or L+1 (one, plus an input "
                           "block; Burkholz 2022)", type=str),
    "ratio": Option("uniform", "layer-wise ratio that spreads a scalar density over the source layers", type=str),
    "solver": Option("mitm", "subset-sum solver", type=str),
    "max_items": Option(24, "items kept per subset sum (exact solver, <= 44; each 2 more double the solve time)",
                        type=int),
    "assignment": Option("adaptive", "block layout: adaptive (a unit serves one of its surviving inputs, tied by a "
                         "bipartite matching: one ER factor per layer, proven width, docs/theory.md AD-2), greedy "
                         "(the same layout tied least-loaded first; its width AD-1 is a heuristic), fixed (unit u "
                         "serves input u // k); matched is adaptive's former name",
                         ("adaptive", "greedy", "fixed", "matched"), str),
    "objective": Option(None, "subset-sum objective: fewest (smallest subset within the budget) or min_error",
                        ("fewest", "min_error"), str),
    "budget": Option("assumed", "per-weight budget: assumed (presumes ||W||_inf + ||b||_inf <= 1 per layer) or "
                     "norms (from the realised target's norms and interval bounds)", ("assumed", "norms"), str),
    "retries": Option(1, "at a fixed width, draw up to R sources and keep the one with the smallest certified "
                      "upper bound (stops at the first <= eps)", type=int),
}

# The built-in layouts' (2L, L+1) own objective: what construct()'s ``objective=None`` means for them, and the
# ticket experiments' default.
LAYOUT_OBJECTIVE = "fewest"


# Former names still accepted: option -> {old name: current name}.
ALIASES: dict[str, dict[str, str]] = {"assignment": {"matched": "adaptive"}}

# The names stored results use (experiments/config.py, ``stored_names``): the greedy layout was stored as
# "adaptive" before the matched layout took that name (2026-12-02).
STORED_NAMES: dict[str, dict[str, str]] = {"assignment": {"greedy": "adaptive", "adaptive": "matched"}}


def check_choice(name: str, value: object) -> str:
    """``value`` under its current name (:data:`ALIASES`); a ValueError naming option ``name`` unless ``value`` is
    one of its choices."""
    allowed = OPTIONS[name].choices
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return ALIASES.get(name, {}).get(value, value)


# The ``ticket`` command reads checkpoints whose norms nobody has checked, so its budget comes from the realised
# norms; this is the one place the command departs from the table (its --help says so).
CLI_DEFAULTS: dict[str, object] = {"budget": "norms"}

# Flags the ``ticket`` command generates from OPTIONS (construction, ratio and solver stay API options: the
# command builds the default 2L layout).
CLI_OPTIONS = ("assignment", "objective", "budget", "max_items", "retries", "delta")

