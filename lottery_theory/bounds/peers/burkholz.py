r"""Burkholz 2022, "Most activation functions can win the lottery without excessive depth" (NeurIPS 2022):
strong tickets of depth L+1 in a dense source. Its widths are our L+1 construction at density 1
(docs/theory.md, eq. (AD-1)), with the subset-sum constant C measured by proofs_checks/subset_sum_lueker.py."""
from __future__ import annotations

from .._common import DEFAULT_C
from ..record import width_theorem
from ..widths import er_slt_l1, er_slt_l1_expr


@width_theorem("burkholz", C=DEFAULT_C, expr=er_slt_l1_expr,
               citation="Burkholz 2022, L+1 construction (dense source); docs/theory.md, eq. (AD-1) at p = 1",
               latex=r"s_1 = (n_0+1)k,\ s_{l+1} = \rho_l n_l + k^b_l",
               assumptions="dense source (density ignored); inputs in [-1,1]; ||W_l||_inf + ||b_l||_inf <= 1")
def burkholz_width(ws, eps, delta, density, C, bias):
    """The dense L+1 construction (density ignored)."""
    return er_slt_l1(ws, eps, delta, 1.0, C, bias)
