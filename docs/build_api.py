"""Build the API reference from the docstrings: every module of lottery_theory (and the checks) -> docs/api/.

Run: python docs/build_api.py [OUT_DIR]     (or: make docs)
"""
import pkgutil
import sys
from pathlib import Path

import pdoc

import lottery_theory


def modules() -> list[str]:
    names = ["lottery_theory"] + [m.name for m in pkgutil.walk_packages(lottery_theory.__path__, "lottery_theory.")]
    return names + ["proofs_checks"]


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "api"
    pdoc.render.configure(docformat="restructuredtext")
    pdoc.pdoc(*modules(), output_directory=out)
    print(f"API reference: {out / 'index.html'} ({len(modules())} modules)")
