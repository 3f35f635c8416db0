r"""Malach, Yehudai, Shalev-Shwartz & Shamir 2020, "Proving the lottery ticket hypothesis: pruning is all you
need" (ICML 2020, arXiv 2002.00585).

Theorem 2.1 (weight-subnetworks of a random ReLU network of depth 2L): the source is polynomially wider than
the target; Pensia et al. (2020, abstract) summarise the factor as :math:`O(d^4 l^2)` times the target width,
with :math:`1/\varepsilon^2` and :math:`\log(1/\delta)` dependence. Form used here, per hidden layer:
:math:`\lceil C\, n \cdot n^4 L^2 / \varepsilon^2 \cdot \log(nL/\delta) \rceil` with n the largest target width
and C = 1 (constants not restated). The previous calculator omitted the leading factor n (issue 16).
"""
from __future__ import annotations

import math

from .._common import ceil_int, interleave
from ..widths import width_theorem


def malach_expr():
    """sympy: hidden width ``C n^5 L^2 / eps^2 log(n L / delta)`` (before rounding)."""
    import sympy as sp
    C, n, L, e, d = sp.symbols("C n L epsilon delta", positive=True)
    return C * n ** 5 * L ** 2 / e ** 2 * sp.log(n * L / d), (C, n, L, e, d)


@width_theorem("malach", C=1.0, expr=malach_expr,
               citation="Malach et al. 2020, Theorem 2.1 (factor O(d^4 l^2) over the target width, per Pensia et al. 2020)",
               latex=r"s_{2l-1} = \lceil C\, n^5 L^2 \varepsilon^{-2} \log(nL/\delta) \rceil",
               assumptions="dense source (density ignored); bounded weights and inputs; no biases; C = 1")
def malach_width(ws, eps, delta, density, C, bias):
    """Every block layer has the same width, ``n`` times the :math:`n^4 L^2/\\varepsilon^2 \\log(nL/\\delta)` factor."""
    n, L = max(ws), len(ws) - 1
    return interleave(ws, [ceil_int(C * n ** 5 * L ** 2 / eps / eps * math.log(n * L / delta), "width")] * L)
