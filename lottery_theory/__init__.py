"""lottery-theory: verify the theory of random sparse networks and strong lottery tickets.

Conventions (used everywhere in the package):

* **density** = fraction of weights kept (the ER edge probability ``p``);
* **sparsity** = ``1 - density``.

Public functions take ``density``. Sub-packages are imported lazily so that
``import lottery_theory.bounds`` does not import torch. Importing the package pins torch's, MKL's and oneDNN's
CPU code paths so that results are the same bytes on every x86 CPU (:mod:`lottery_theory._reproducible`;
``LOTTERY_THEORY_FAST_MATH=1`` opts out).
"""

__version__ = "0.1.0"

from ._reproducible import pin as _pin  # noqa: E402 - before anything imports torch (see _reproducible)

_pin()

_LAZY = {"sparsify": "lottery_theory.nets.interop", "export": "lottery_theory.nets.interop",
         "as_masked": "lottery_theory.nets.interop", "to_prune_form": "lottery_theory.nets.interop"}


def __getattr__(name: str):
    """``lottery_theory.sparsify`` / ``export`` / ``as_masked`` / ``to_prune_form``, imported on first use
    (they need torch)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lottery_theory' has no attribute {name!r}")
