r"""Lower bound for 3-layer ER networks (Gadhikar et al. 2023; docs/theory.md, "Lower bound", eq. (LB-1)):
a d-n-1 network can only represent a target whose output depends on all d inputs if every input keeps a
path to the output."""
from __future__ import annotations

import math

import numpy as np

from ._common import arr, binom_pmf, count, out, unit
from ._common import density as _density
from .er_subset_sum import er_factor
from .record import Arg, bound

_MAX_EXACT_N = 10_000_000  # the exact ER-output P(E) sums n + 1 terms: ~80 MB of float64 at this n


def lower_bound_success_expr():
    """sympy: dense-output success probability ``(1 - (1-p)^n)^d``."""
    import sympy as sp
    n, d, p = sp.symbols("n d p", positive=True)
    return (1 - (1 - p) ** n) ** d, (n, d, p)


def lower_bound_expr():
    """sympy: the dense-output critical width before rounding, ``log(1-(1-delta)^(1/d))/log(1-p)``."""
    import sympy as sp
    d, delta, p = sp.symbols("d delta p", positive=True)
    return sp.log(1 - (1 - delta) ** (1 / d)) / sp.log(1 - p), (d, delta, p)


def lower_bound_success_prob(n, d, density, output_density=1.0):
    r"""P(every input has a kept path to the output) for a d-n-1 ER network.

    .. math:: P(E) = \sum_{m=0}^{n} \binom{n}{m} p_2^m (1-p_2)^{n-m} \left(1-(1-p_1)^m\right)^d

    With a dense output (:math:`p_2 = 1`) this is :math:`(1-(1-p_1)^n)^d`. Below it, no choice of
    weights can represent a target whose output depends on all d inputs.
    """
    nn, dd = count(n, "n", allow_zero=True), count(d, "d")
    p1, p2 = _density(density), _density(output_density, "output_density")

    def one(n_, d_, a, b):
        n_ = int(n_)
        if b < 1 and n_ > _MAX_EXACT_N:
            raise ValueError(f"n={n_:,} is beyond the exact ER-output computation (n <= {_MAX_EXACT_N:,})")
        if b >= 1:  # closed form (1 - (1-p)^n)^d, no sum
            return float(np.exp(d_ * np.log1p(-((1 - a) ** n_)))) if n_ > 0 and a < 1 else float(n_ > 0)
        m = np.arange(n_ + 1)
        if a < 1:
            with np.errstate(divide="ignore"):
                inner = np.where(m > 0, np.exp(d_ * np.log1p(-((1 - a) ** m))), 0.0)
        else:
            inner = (m > 0) * 1.0
        return float((binom_pmf(m, n_, b) * inner).sum())

    return out(np.vectorize(one, otypes=[float])(nn, dd, p1, p2))


@bound("lower-bound", citation="Gadhikar et al. 2023, lower bound for 3-layer ER networks; docs/theory.md, eq. (LB-1)",
       latex=r"P(E) = \sum_m \mathrm{Bin}(m; n, p_2)\,(1-(1-p_1)^m)^d",
       assumptions="d inputs, hidden width n, one output; first layer ER(p_1), output layer ER(p_2)",
       args=(Arg("d", "int", "input dimension"), Arg("density", "float", "first-layer density p_1"),
             Arg("delta", "float", "failure probability", 0.01),
             Arg("output_density", "float", "output-layer density p_2", 1.0)),
       report=lambda d, density, delta, output_density: {
           "critical_width": int(lower_bound_width(d, delta, density, output_density)),
           "log(d/delta)*rho(p)": math.log(d / delta) * er_factor(density)},
       expr=lower_bound_expr)
def lower_bound_width(d, delta, density, output_density=1.0):
    r"""Critical width :math:`n^*`: the smallest n with P(E) >= 1 - :math:`\delta`; any smaller width fails w.p. > :math:`\delta`.

    Dense output: :math:`n^* = \lceil \log(1-(1-\delta)^{1/d}) / \log(1-p_1) \rceil \approx \log(d/\delta)\,\rho(p_1)`.
    ER output: the smallest n found by doubling and bisection on the exact P(E).
    """
    dd, dl = arr(d, "d"), unit(delta, "delta")
    p1, p2 = _density(density), _density(output_density, "output_density")
    if np.any(dd <= 0):
        raise ValueError("d must be a positive integer")

    def one(d_, delta_, a, b):
        if a >= 1:
            base = 1
        else:
            base = max(1, math.ceil(math.log(-math.expm1(math.log1p(-delta_) / d_)) / math.log1p(-a) - 1e-9))
        if b >= 1:
            return base
        if base > _MAX_EXACT_N:
            raise ValueError(f"density={a:g}: the critical width (> {base:,}) is beyond the exact ER-output "
                             f"computation (n <= {_MAX_EXACT_N:,}); use output_density=1 for the closed form")
        ok = lambda n: lower_bound_success_prob(n, d_, a, b) >= 1 - delta_  # noqa: E731
        hi = base
        while not ok(hi):
            hi *= 2
            if hi > _MAX_EXACT_N:
                raise ValueError(f"the critical width exceeds {_MAX_EXACT_N:,} (output_density={b:g} too small for "
                                 f"the exact computation)")
        lo = max(base - 1, hi // 2)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if ok(mid) else (mid, hi)
        return hi

    return out(np.vectorize(one, otypes=[np.int64])(dd, dl, p1, p2))
