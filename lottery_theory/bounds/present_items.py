r"""Present items of an ER subset sum, exactly: the smallest n with :math:`P(\mathrm{Bin}(n, p) \ge m) \ge 1-\delta`
(the tail that the Chernoff step of docs/theory.md, eq. (ER-3) bounds). The Chernoff form (ER-3) over-provisions; this is the exact count it bounds."""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_positive_int
from ._common import density as _density
from ._common import unit
from .record import Arg, bound

_MAX_N = 10 ** 12


def present_probability(n: int, m: int, p: float) -> float:
    r""":math:`P(\mathrm{Bin}(n, p) \ge m) = I_p(m, n - m + 1)` (regularised incomplete beta); 0 when n < m."""
    from scipy.special import betainc

    return 0.0 if n < m else (1.0 if m == 0 else float(betainc(m, n - m + 1, p)))


def present_items_expr():
    """sympy: the m = 1 case, ``log(delta) / log(1 - p)`` (before rounding up)."""
    import sympy as sp
    d, p = sp.symbols("delta p", positive=True)
    return sp.log(d) / sp.log(1 - p), (d, p)


@bound("present-items", citation="docs/theory.md, ER subset sum: the exact binomial tail that the Chernoff step of (ER-3) bounds",
       latex=r"n^* = \min\{n : P(\mathrm{Bin}(n,p) \ge m) \ge 1-\delta\}",
       assumptions="each of n items present independently w.p. p",
       args=(Arg("m", "int", "present items needed (e.g. er-subset-sum at p = 1)"),
             Arg("density", "float", "presence probability p"), Arg("delta", "float", "failure probability", 0.01)),
       report=lambda m, density, delta: {"n": present_items_n(m, density, delta),
                                         "m_over_p": m / density},
       expr=present_items_expr)
def present_items_n(m: int, density, delta) -> int:
    r"""Smallest n with :math:`P(\mathrm{Bin}(n, p) \ge m) \ge 1 - \delta` (doubling, then bisection on the
    exact tail, which grows with n). For m = 1: :math:`\lceil \log\delta / \log(1-p) \rceil = \lceil\rho(p)\log(1/\delta)\rceil`."""
    m = check_positive_int(m, "m")
    p, d = float(_density(density)), float(unit(delta, "delta"))
    if p >= 1:
        return m
    ok = lambda n: present_probability(n, m, p) >= 1 - d  # noqa: E731
    hi = max(m, math.ceil(m / p))
    while not ok(hi):
        hi *= 2
        if hi > _MAX_N:
            raise ValueError(f"more than {_MAX_N:.0e} items needed (m={m}, density={p:g}, delta={d:g})")
    lo = m - 1  # ok(m - 1) is False: fewer than m items cannot hold m present ones
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return int(np.int64(hi))
