r"""ER subset sum (Gadhikar et al. 2023): items needed when each item is present only with probability p,
the ER factor :math:`\rho(p) = 1/\log(1/(1-p))`, and exact inverses (docs/theory.md, "ER subset sum").

Notation: ``p`` = density (probability that an edge is kept); sparsity = 1 - p; ``log`` is natural.
"""
from __future__ import annotations

import numpy as np

from ._common import DEFAULT_C, constant, er_factor, out, positive, to_int, unit
from ._common import density as _density
from .record import Arg, bound


def er_factor_expr():
    """sympy: ``1/log(1/(1-p))``."""
    import sympy as sp
    p = sp.symbols("p", positive=True)
    return 1 / sp.log(1 / (1 - p)), p


er_factor = bound("er-factor", citation="Gadhikar et al. 2023 (arXiv 2210.02412), the overparameterization factor of its main theorems; docs/theory.md, eq. (ER-1)",
       latex=r"\rho(p) = \frac{1}{\log\frac{1}{1-p}}", assumptions="p in (0, 1]; rho(1) = 0",
       args=(Arg("density", "float", "ER density p (fraction kept)"),),
       report=lambda density: {"density": density, "er_factor": er_factor(density), "one_over_p": 1 / density},
       expr=er_factor_expr)(er_factor)
ER_FACTOR = er_factor  # the function's name in earlier releases (a function, not a constant; kept for old scripts)


def er_subset_sum_n_expr():
    """sympy: ``C log(1/m) / log(1/(1-p))`` for m = min(eps, delta) (the unclamped paper form)."""
    import sympy as sp
    C, m, p = sp.symbols("C m p", positive=True)
    return C * sp.log(1 / m) / sp.log(1 / (1 - p)), (C, m, p)


def _er_report(eps, delta, density, C):
    c = DEFAULT_C if C is None else C
    return {"n": int(er_subset_sum_n(eps, delta, density, c)), "C": c,
            "n_sufficient_1_over_p": int(er_subset_sum_n_sufficient(eps, delta, density, c))}


@bound("er-subset-sum", citation="Gadhikar et al. 2023, ER subset-sum lemma (Lueker 1998 with ER presence); docs/theory.md, eq. (ER-2)",
       latex=r"n = \left\lceil C \log\frac{1}{\min(\varepsilon,\delta)} \max\{1, \rho(p)\} \right\rceil",
       assumptions="values i.i.d. U[-1,1], each present w.p. p; the factor is clamped at 1 because an ER source "
                   "never holds more items than a dense one",
       args=(Arg("eps", "float", "accuracy epsilon"), Arg("density", "float", "ER density p"),
             Arg("delta", "float", "failure probability", 0.01), Arg("C", "float", "constant (default 8)", None)),
       report=_er_report, expr=er_subset_sum_n_expr, C=DEFAULT_C)
def er_subset_sum_n(eps, delta, density, C: float = DEFAULT_C, integer: bool = True):
    r"""Items needed so that present ones :math:`\varepsilon`-cover [-1, 1] w.p. >= 1 - :math:`\delta`.

    .. math:: n = C \log\frac{1}{\min(\varepsilon,\delta)}\,\max\{1, \rho(p)\}

    The paper's factor is :math:`\rho(p)`; below :math:`p = 1 - 1/e` it exceeds 1, above it the
    clamp keeps the dense requirement (a sparser source cannot need fewer items). ``integer=False``
    returns the real value (used by the exact inverse queries).
    """
    e, d, p = unit(eps, "eps"), unit(delta, "delta"), _density(density)
    n = constant(C) * np.log(1.0 / np.minimum(e, d)) * np.maximum(1.0, np.asarray(er_factor(p)))
    return out(to_int(np.ceil(n - 1e-9), "n") if integer else n)


def er_subset_sum_eps(n, delta, density, C: float = DEFAULT_C):
    r"""Inverse in :math:`\varepsilon`: :math:`\varepsilon = \exp(-n / (C \max\{1,\rho(p)\}))`.

    Returns NaN where even :math:`\varepsilon \ge \delta` would need more than ``n`` items.
    """
    nn, d, p = positive(n, "n"), unit(delta, "delta"), _density(density)
    eps = np.exp(-nn / (C * np.maximum(1.0, np.asarray(er_factor(p)))))
    return out(np.where(eps <= d, eps, np.nan))


def er_subset_sum_density(n, eps, delta, C: float = DEFAULT_C):
    r"""Inverse in p: the smallest density with :math:`C \log(1/\min(\varepsilon,\delta))\max\{1,\rho(p)\} \le n`.

    :math:`p = 1 - \exp(-C \log(1/\min(\varepsilon,\delta)) / n)`; NaN where even a dense source needs more than n.
    """
    nn = positive(n, "n")
    lg = C * np.log(1.0 / np.minimum(unit(eps, "eps"), unit(delta, "delta")))
    with np.errstate(divide="ignore"):
        p = -np.expm1(-lg / nn)
    return out(np.where(nn >= lg * (1 - 1e-12), p, np.nan))


def er_subset_sum_n_sufficient_expr():
    """sympy: ``max(2 C log(1/eps), 8 log(2/delta)) / p``."""
    import sympy as sp
    C, e, d, p = sp.symbols("C epsilon delta p", positive=True)
    return sp.Max(2 * C * sp.log(1 / e), 8 * sp.log(2 / d)) / p, (C, e, d, p)


@bound("er-subset-sum-sufficient", citation="docs/theory.md, eq. (ER-3): Lueker + Chernoff",
       latex=r"n = \frac{\max\{2C\log(1/\varepsilon),\ 8\log(2/\delta)\}}{p}",
       assumptions="m ~ Bin(n, p) present items; P(m < np/2) <= exp(-np/8)",
       args=(Arg("eps", "float", "accuracy epsilon"), Arg("density", "float", "ER density p"),
             Arg("delta", "float", "failure probability", 0.01), Arg("C", "float", "constant", DEFAULT_C)),
       report=lambda eps, delta, density, C: {"n": int(er_subset_sum_n_sufficient(eps, delta, density, C))},
       expr=er_subset_sum_n_sufficient_expr, C=DEFAULT_C)
def er_subset_sum_n_sufficient(eps, delta, density, C: float = DEFAULT_C):
    r"""A sufficient size with explicit dependence (Chernoff on the present count): the 1/p form.

    .. math:: n = \max\{2C\log(1/\varepsilon), 8\log(2/\delta)\} / p
    """
    e, d, p = unit(eps, "eps"), unit(delta, "delta"), _density(density)
    return out(to_int(np.ceil(np.maximum(2 * constant(C) * np.log(1 / e), 8 * np.log(2 / d)) / p - 1e-9), "n"))


def subset_sum_block_size(eps_w, delta_w, p_path, C: float = DEFAULT_C) -> int:
    """Items per subset-sum instance for per-weight accuracy ``eps_w`` (see :func:`er_subset_sum_n`)."""
    return int(er_subset_sum_n(eps_w, delta_w, p_path, C))


__all__ = ["ER_FACTOR", "er_factor", "er_factor_expr", "er_subset_sum_n", "er_subset_sum_n_expr", "er_subset_sum_eps",
           "er_subset_sum_density", "er_subset_sum_n_sufficient", "er_subset_sum_n_sufficient_expr",
           "subset_sum_block_size"]
