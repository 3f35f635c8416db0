r"""Orseau, Hutter & Rivasplata 2020, "Logarithmic pruning is all you need" (NeurIPS 2020, arXiv 2006.12156).

Their result: with hyperbolically distributed weights, a source of depth 2L needs a number of neurons that
is logarithmic (in all variables but depth) **per weight of the target**; a target weight is realised by a
binary decomposition over :math:`2\log(1/\varepsilon)` intermediate neurons (their Fig. 1). Form used here:
per target weight :math:`m = 2\lceil C \log(N_w / (\varepsilon' \delta)) \rceil` intermediate neurons, with
:math:`N_w` the number of target weights (biases included), :math:`\varepsilon'` the per-weight accuracy of
:func:`lottery_theory.bounds.per_weight_eps` and C = 1 (their constants are not restated here). The previous
calculator gave :math:`2\lceil\log(1/\varepsilon')\rceil` units per *input* and ignored :math:`\delta`: short by
about a factor :math:`n_l` (issue 16).
"""
from __future__ import annotations

import math

from .._common import ceil_int, interleave
from ..composition import per_weight_eps
from ..widths import width_theorem


def orseau_expr():
    """sympy: neurons per target weight ``2 C log(N_w / (eps' delta))`` (before rounding)."""
    import sympy as sp
    C, N, e, d = sp.symbols("C N_w epsilon_w delta", positive=True)
    return 2 * C * sp.log(N / (e * d)), (C, N, e, d)


@width_theorem("orseau", C=1.0, expr=orseau_expr,
               citation="Orseau et al. 2020, main theorem (logarithmic neurons per target weight, Fig. 1 decomposition)",
               latex=r"s_{2l-1} = (n_{l-1}+[b])\,n_l \cdot 2\lceil C\log(N_w/(\varepsilon'\delta))\rceil",
               assumptions="dense source with hyperbolic weight distribution (density ignored); C = 1")
def orseau_width(ws, eps, delta, density, C, bias):
    """Block l holds ``m`` neurons for each of its :math:`(n_{l-1} + [b]) n_l` target weights."""
    L = len(ws) - 1
    n_w = sum((ws[l - 1] + int(bias)) * ws[l] for l in range(1, L + 1))
    m = 2 * ceil_int(C * math.log(n_w / (per_weight_eps(ws, eps, bias) * delta)), "neurons per weight")
    return interleave(ws, [(ws[l - 1] + int(bias)) * ws[l] * m for l in range(1, L + 1)])
