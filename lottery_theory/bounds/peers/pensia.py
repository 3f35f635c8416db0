r"""Pensia, Rajput, Nagle, Vishwakarma & Papailiopoulos 2020, "Optimal lottery tickets via SubsetSum"
(NeurIPS 2020, arXiv 2006.07990).

Theorem 1 (dense source of depth 2l, U[-1, 1] weights, no biases): the hidden layer before target layer i has
:math:`C\,d_{i-1}\log(d_{i-1} d_i\, l / \min(\varepsilon, \delta))` units, C an unspecified constant.
Their experiment (Sec. 5, 784-500-10 MNIST target at :math:`\varepsilon = 0.01`) gives every weight
:math:`n = c \cdot \mathrm{round}(\log_2(1/\varepsilon))` coefficients with c = 3, i.e. 21, and reports
397k target parameters -> 8.34M random parameters. Their target has no biases (``TwoLayerFC(..., bias=None)`` in
their models.py; their results file: 397,000 -> 8,337,000, "21.00 times"): 784 x 500 + 500 x 10 = 397,000 weights,
x 21 = 8,337,000.
"""
from __future__ import annotations

import math

import numpy as np

from .._common import ceil_int, constant, interleave, out, to_int, unit, widths
from ..record import Arg, bound
from ..widths import width_theorem


def pensia_expr():
    """sympy: units per input of block i, ``C log2(d_prev d l / m)`` (m = min(eps, delta), before rounding)."""
    import sympy as sp
    C, dp, d, l, m = sp.symbols("C d_prev d l m", positive=True)
    return C * sp.log(dp * d * l / m, 2), (C, dp, d, l, m)


@width_theorem("pensia", C=3.0, expr=pensia_expr,
               citation="Pensia et al. 2020, Theorem 1 (constant C = 3 and log2 as in their Sec. 5 experiment)",
               latex=r"s_{2i-1} = (d_{i-1} + [b])\; C \lceil \log_2(d_{i-1} d_i\, l/\min(\varepsilon,\delta)) \rceil",
               assumptions="dense source (density ignored); U[-1,1] weights; ||W_i|| <= 1, ||x|| <= 1")
def pensia_width(ws, eps, delta, density, C, bias):
    r"""Theorem 1's widths: per input of target layer i, :math:`C\lceil\log_2(d_{i-1} d_i l/\min(\varepsilon,\delta))\rceil`
    units (a bias counts as one more input). At one weight (:math:`d = l = 1`) and :math:`\varepsilon = \delta = 0.01`
    this is 3 x 7 = 21, the count of their experiment."""
    L, m = len(ws) - 1, min(eps, delta)
    return interleave(ws, [(ws[i - 1] + int(bias)) * C * ceil_int(math.log2(ws[i - 1] * ws[i] * L / m), "units")
                           for i in range(1, L + 1)])


def pensia_experiment_expr():
    """sympy: ``C log2(1/eps)`` (their code then rounds log2(1/eps) to the nearest integer before multiplying)."""
    import sympy as sp
    C, e = sp.symbols("C epsilon", positive=True)
    return C * sp.log(1 / e, 2), (C, e)


def _experiment_report(eps, C, widths_, bias="no"):
    n = int(pensia_items_per_weight(eps, C))
    rep = {"n_per_weight": n, "C": C}
    if widths_ is not None:
        if bias not in ("no", "yes"):
            raise ValueError(f"bias must be 'no' (their target has none) or 'yes', got {bias!r}")
        ws = widths(widths_)
        params = sum((ws[i] + (bias == "yes")) * ws[i + 1] for i in range(len(ws) - 1))
        rep |= {"target_params": params, "bias": bias == "yes", "random_params": params * n}
    return rep


@bound("pensia-experiment", citation="Pensia et al. 2020, Sec. 5 (Experiment 1: 21 coefficients per weight at eps = 0.01)",
       latex=r"n = C\cdot\mathrm{round}(\log_2(1/\varepsilon))",
       assumptions="one subset-sum instance per target weight, no union bound; coefficients from the weights' range",
       args=(Arg("eps", "float", "per-weight accuracy"), Arg("C", "float", "constant", 3.0),
             Arg("widths", "ints", "target widths (reports the parameter counts)", None),
             Arg("bias", "str", "whether the target has biases (theirs has none)", "no", ("no", "yes"))),
       report=lambda eps, C, widths, bias: _experiment_report(eps, C, widths, bias), expr=pensia_experiment_expr,
       C=3.0)
def pensia_items_per_weight(eps, C: float = 3.0):
    r"""Coefficients per target weight in Pensia et al.'s experiment: :math:`C\cdot\mathrm{round}(\log_2(1/\varepsilon))`
    (round half to even, as numpy rounds); 21 at :math:`\varepsilon = 0.01`, C = 3."""
    e = unit(eps, "eps")
    return out(to_int(constant(C) * np.round(np.log2(1.0 / e)), "n"))
