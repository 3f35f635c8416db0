"""The ``lottery-theory bounds`` subcommands, generated from the ``Bound`` records (one subcommand each)."""
from __future__ import annotations

import argparse

from .record import BOUNDS, REQUIRED


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
        sp = sub.add_parser(name, help=rec.citation, description=f"{rec.latex}\n\n{rec.citation}\nassumes: "
                            f"{rec.assumptions}", formatter_class=argparse.RawDescriptionHelpFormatter)
        for a in rec.args:
            required = a.default is REQUIRED
            extra = "" if required or a.default is None else f" (default {a.default})"
            sp.add_argument("--" + a.name.replace("_", "-"), dest=a.name, type=_KINDS[a.kind], choices=a.choices,
                            required=required, default=None if required else a.default, help=a.help + extra)
        sp.add_argument("--json", action="store_true", help="emit JSON")


def listing() -> dict:
    """Name -> formula and citation of every calculator (``bounds list``)."""
    return {k: f"{b.latex}  [{b.citation}]" for k, b in sorted(BOUNDS.items())}


def cli_evaluate(name: str, **given) -> dict:
    """Evaluate calculator ``name`` with the given arguments (None = the record's default); ``list`` lists them."""
    if name == "list":
        return listing()
    rec = BOUNDS.get_checked(name)
    return rec.evaluate(**{k: v for k, v in given.items() if v is not None})
