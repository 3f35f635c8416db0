"""The ``lottery-theory bounds`` subcommands, generated from the ``Bound`` records (one subcommand each)."""
from __future__ import annotations

import argparse

import re

from .record import BOUNDS, REQUIRED

_SYMBOLS = {"varepsilon": "eps", "epsilon": "eps", "delta": "delta", "rho": "rho", "sum": "sum", "log": "log",
            "min": "min", "max": "max", "le": "<=", "ge": ">=", "cdot": "*", "infty": "inf"}


def plain(latex: str) -> str:
    """A record's LaTeX as plain text for the terminal (help and ``bounds list``): fractions as a/(b), ceilings as
    ceil(...), Greek letters and operators spelled out, spacing commands dropped; no backslash survives."""
    t = latex.replace(r"\{", "\x01").replace(r"\}", "\x02")  # literal braces (sets), kept apart from groups
    t = re.sub(r"\\(left|right)(?![A-Za-z])", "", t)

    def symbol(m: re.Match) -> str:
        word = _SYMBOLS[m.group(2)]
        before = m.group(1)
        return before + (" " if (before.isalnum() or before == ")") and word[0].isalpha() else "") + word

    t = re.sub(r"(.?)\\(" + "|".join(sorted(_SYMBOLS, key=len, reverse=True)) + r")(?![A-Za-z])", symbol, t)
    t = re.sub(r"\\(?:mathrm|text)\{([^{}]*)\}", r"\1", t)
    t = re.sub(r"\\lceil\s*(.*?)\s*\\rceil", r"ceil(\1)", t)
    for _ in range(4):  # nested fractions, innermost first
        t = re.sub(r"\\frac\{((?:[^{}]|\{[^{}]*\})*)\}\{((?:[^{}]|\{[^{}]*\})*)\}",
                   lambda m: "(" + "/".join(x if re.fullmatch(r"[\w.]+", x) else f"({x})" for x in m.groups()) + ")",
                   t)
    t = re.sub(r"\\[,;: !]", " ", t).replace("\\", "")
    return re.sub(r"\s+", " ", t.replace("\x01", "{").replace("\x02", "}")).strip()


def _ints(s: str) -> list[int]:
    try:
        return [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from None


_KINDS = {"float": float, "int": int, "ints": _ints, "str": str}


def add_bound_parsers(sub: argparse._SubParsersAction) -> None:
    """One subparser per registered bound (``--name`` options from its ``args``), plus ``list``."""
    sub.add_parser("list", help="list every calculator with its formula and citation").add_argument(
        "--json", action="store_true", help="emit JSON (name -> formula and citation)")
    for name in sorted(BOUNDS):
        rec = BOUNDS[name]
        sp = sub.add_parser(name, help=rec.citation, description=f"{plain(rec.latex)}\n\n{rec.citation}\nassumes: "
                            f"{rec.assumptions}", formatter_class=argparse.RawDescriptionHelpFormatter)
        for a in rec.args:
            required = a.default is REQUIRED
            extra = "" if required or a.default is None else f" (default {a.default})"
            sp.add_argument("--" + a.name.replace("_", "-"), dest=a.name, type=_KINDS[a.kind], choices=a.choices,
                            required=required, default=None if required else a.default, help=a.help + extra)
        sp.add_argument("--json", action="store_true", help="emit JSON")


def listing() -> dict:
    """Name -> formula (plain text) and citation of every calculator (``bounds list``)."""
    return {k: f"{plain(b.latex)}  [{b.citation}]" for k, b in sorted(BOUNDS.items())}


def cli_evaluate(name: str, **given) -> dict:
    """Evaluate calculator ``name`` with the given arguments (None = the record's default); ``list`` lists them."""
    if name == "list":
        return listing()
    rec = BOUNDS.get_checked(name)
    return rec.evaluate(**{k: v for k, v in given.items() if v is not None})
