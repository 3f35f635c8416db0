r"""Dense random subset sum (Lueker 1998): items needed so that subset sums of n i.i.d. U[-1, 1] values
:math:`\varepsilon`-cover [-1, 1] with probability at least 1 - :math:`\delta` (docs/theory.md, "Subset sum")."""
from __future__ import annotations

import numpy as np

from ._common import constant, out, to_int, unit
from .record import Arg, bound


def dense_subset_sum_n_expr():
    """sympy: ``C log2(1/m)`` for m = min(eps, delta) (before rounding up)."""
    import sympy as sp
    C, m = sp.symbols("C m", positive=True)
    return C * sp.log(1 / m, 2), (C, m)


@bound("dense-subset-sum", citation="Lueker 1998, main theorem (n = O(log 1/min(eps, delta))); docs/theory.md, eq. (SS-1)",
       latex=r"n = \lceil C \log_2(1/\min(\varepsilon,\delta)) \rceil",
       assumptions="values i.i.d. U[-1,1]; targets in [-1,1]; C is not published, 3 by default",
       args=(Arg("eps", "float", "accuracy epsilon"), Arg("delta", "float", "failure probability (default: eps)", None),
             Arg("C", "float", "constant", 3.0)),
       report=lambda eps, delta, C: {"n": int(dense_subset_sum_n(eps, delta, C)), "C": C},
       expr=dense_subset_sum_n_expr, C=3.0)
def dense_subset_sum_n(eps, delta=None, C: float = 3.0):
    r"""Dense random subset sum: :math:`n = \lceil C \log_2(1/\min(\varepsilon, \delta)) \rceil`.

    ``delta=None`` uses ``eps`` alone. Pensia et al.'s experiments used a different rounding,
    ``C * round(log2(1/eps))`` (21 at eps = 0.01, not 20): see :func:`lottery_theory.bounds.peers.pensia.pensia_items_per_weight`.
    """
    e = unit(eps, "eps")
    m = e if delta is None else np.minimum(e, unit(delta, "delta"))
    return out(to_int(np.ceil(constant(C) * np.log2(1.0 / m) - 1e-12), "n"))
