"""One record per calculator: the numeric function, its sympy form, its CLI arguments, its citation and
assumptions. ``lottery-theory bounds NAME`` subcommands are generated from these records (``BOUNDS``), and
the width theorems of :func:`lottery_theory.bounds.required_width` from ``THEOREMS``.

Adding a bound = one module under ``lottery_theory/bounds/`` (or ``bounds/peers/``) that calls
:func:`bound` or :func:`~lottery_theory.bounds.widths.width_theorem`, plus its test; the package imports every module it holds.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._validation import Registry

REQUIRED = object()


@dataclass(frozen=True)
class Arg:
    """One CLI argument of a bound: ``--name`` (underscores become hyphens), parsed as ``kind``."""
    name: str
    kind: str  # "float" | "int" | "ints" (comma-separated) | "str"
    help: str
    default: Any = REQUIRED
    choices: tuple | None = None


@dataclass(frozen=True)
class Bound:
    """A documented calculator.

    ``fn`` is the numeric function users import; ``report(**args)`` evaluates it for the CLI and returns a
    JSON-able dict; ``expr()`` returns its sympy form ``(expression, symbols)`` (None only for the inverse
    queries, which bisect a step function and have no closed form); ``citation``
    names the theorem/equation of a paper or the section of docs/theory.md.
    """
    name: str
    citation: str
    latex: str
    assumptions: str
    fn: Callable
    args: tuple[Arg, ...]
    report: Callable[..., dict]
    expr: Callable | None = None
    constants: dict = field(default_factory=dict)

    def evaluate(self, **given: Any) -> dict:
        """Run ``report`` with the record's defaults filled in; unknown or missing arguments are errors."""
        names = [a.name for a in self.args]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise TypeError(f"unknown argument(s) {unknown} for bound {self.name!r}; accepted: {', '.join(names)}")
        values = {a.name: given.get(a.name, a.default) for a in self.args}
        missing = [n for n, v in values.items() if v is REQUIRED]
        if missing:
            raise ValueError(f"bounds {self.name} needs " + ", ".join("--" + m.replace("_", "-") for m in missing))
        return self.report(**values)


BOUNDS = Registry("bound", "name")
THEOREMS = Registry("theorem", "theorem")  # theorem name -> the same Bound record as its CLI entry in BOUNDS


def bound(name: str, *, citation: str, latex: str, assumptions: str, args: tuple[Arg, ...],
          report: Callable[..., dict] | None = None, expr: Callable | None = None, **constants: Any):
    """Decorator registering ``fn`` as the bound ``name``; ``report`` defaults to ``{"value": fn(**args)}``."""
    def wrap(fn: Callable) -> Callable:
        rep = report or (lambda **kw: {"value": fn(**kw)})
        BOUNDS[name] = Bound(name, citation, latex, assumptions, fn, tuple(args), rep, expr, dict(constants))
        return fn
    return wrap
