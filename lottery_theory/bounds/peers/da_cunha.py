r"""da Cunha, Natale & Viennot 2022, "Proving the lottery ticket hypothesis for convolutional neural networks"
(ICLR 2022).

Main theorem (CNN of depth 2L, target kernels :math:`d \times d \times c_{i-1} \times c_i`): each target layer is
replaced by a :math:`1\times1` convolution to :math:`2 n_i c_{i-1}` channels followed by a :math:`d\times d`
convolution to :math:`c_i` channels, with :math:`n_i = C\log(d^2 c_{i-1} c_i L / \min(\varepsilon, \delta))`.
The intermediate channels of input channel j serve every kernel position (the :math:`d\times d` second layer
holds one random weight per position), so the width carries :math:`d^2` only inside the log.

Our own conv 2L layout (``tickets/layouts.py``) puts the :math:`d\times d` kernel first and lets a unit keep one
(channel, dy, dx) edge, so it needs :math:`(c_{i-1} d^2 + 1) k` units: :math:`d^2` (9 for 3x3) times more than
this form. That factor is our construction's property, not the paper's.
"""
from __future__ import annotations

import math

from .._common import ceil_int, interleave
from ..record import Arg
from ..widths import width_theorem


def da_cunha_expr():
    """sympy: intermediate channels ``2 c_prev C log(d^2 c_prev c L / m)`` (before rounding n)."""
    import sympy as sp
    C, d, cp, c, L, m = sp.symbols("C d c_prev c L m", positive=True)
    return 2 * cp * C * sp.log(d ** 2 * cp * c * L / m), (C, d, cp, c, L, m)


@width_theorem("da-cunha", C=1.0, expr=da_cunha_expr,
               options=(Arg("kernel_size", "int", "kernel side d", 3),),
               citation="da Cunha et al. 2022, main theorem (1x1 then dxd convolutions, 2 n_i c_{i-1} channels)",
               latex=r"s_{2i-1} = 2 c_{i-1} \lceil C \log(d^2 c_{i-1} c_i L/\min(\varepsilon,\delta)) \rceil",
               assumptions="widths are channel counts; dense source (density ignored); no biases; C = 1")
def da_cunha_width(ws, eps, delta, density, C, bias, kernel_size: int = 3):
    """Intermediate channel counts of the 2L CNN (``ws`` are channel counts c_0..c_L)."""
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size <= 0:
        raise ValueError(f"kernel_size must be a positive int, got {kernel_size!r}")
    L, m = len(ws) - 1, min(eps, delta)
    return interleave(ws, [2 * ceil_int(C * math.log(kernel_size ** 2 * ws[i - 1] * ws[i] * L / m), "n_i") * ws[i - 1]
                           for i in range(1, L + 1)])
