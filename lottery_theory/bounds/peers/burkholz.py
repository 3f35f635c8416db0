r"""Our L+1 construction in a dense source (the layout of Burkholz 2022, "Most activation functions can win the
lottery without excessive depth", NeurIPS 2022). Its widths are ``er-slt-L+1`` at density 1 (docs/theory.md, eq.
(AD-1)) with our subset-sum constant C, measured by proofs_checks/subset_sum_lueker.py: they are not a formula from
her paper, so the record is named ``l1-dense``; ``burkholz`` stays as a deprecated alias."""
from __future__ import annotations

import warnings

from .._common import DEFAULT_C
from ..widths import width_theorem
from ..widths import er_slt_l1, er_slt_l1_expr

_COMMON = dict(C=DEFAULT_C, expr=er_slt_l1_expr, latex=r"s_1 = (n_0+1)k,\ s_{l+1} = \rho_l n_l + k^b_l",
               assumptions="dense source (density ignored); inputs in [-1,1]; ||W_l||_inf + ||b_l||_inf <= 1")


@width_theorem("l1-dense", citation="our L+1 construction at p = 1 (the layout of Burkholz 2022; the widths and C "
               "are ours); docs/theory.md, eq. (AD-1) at p = 1", **_COMMON)
def l1_dense_width(ws, eps, delta, density, C, bias):
    """Our L+1 construction in a dense source (density ignored)."""
    return er_slt_l1(ws, eps, delta, 1.0, C, bias)


@width_theorem("burkholz", citation="deprecated alias of l1-dense (our L+1 construction at p = 1, not a formula "
               "from Burkholz 2022)", **_COMMON)
def burkholz_width(ws, eps, delta, density, C, bias):
    """Deprecated alias of ``l1-dense``: our construction, not a formula from Burkholz 2022."""
    warnings.warn("theorem 'burkholz' is our L+1 construction at p = 1, not a formula from Burkholz 2022; it is "
                  "now called 'l1-dense' (this alias will be removed)", DeprecationWarning, stacklevel=3)
    return er_slt_l1(ws, eps, delta, 1.0, C, bias)
