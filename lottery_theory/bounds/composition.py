r"""Error composition through the layers of a ticket and the per-weight budget it implies
(docs/theory.md, "Certificates", eq. (CP-1)); the realised-weight certificate lives in ``certificate.py``."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import unit, widths


def composition_bound(layers: Sequence[dict]) -> list[np.ndarray]:
    r"""Certified sup-error per layer (vectors over neurons), for a ticket compared with its target.

    Each layer ``l`` gives ``E`` [n_l, n_{l-1}] (per-weight error :math:`|s_{ij}-w_{ij}|`),
    ``G`` [n_l, n_{l-1}] (bound on the ticket's effective :math:`|s_{ij}|`), ``beta`` [n_l] (bias
    error) and ``H`` [n_{l-1}] (bound on the target's :math:`|h_{l-1,j}|` over the input box).
    With 1-Lipschitz activations:

    .. math:: e_{l,i} = \sum_j E_{ij} H_j + \sum_j G_{ij}\, e_{l-1,j} + \beta_i,\qquad e_0 = 0,

    from :math:`|s\hat h - w h| \le |s-w|\,|h| + |s|\,|\hat h - h|`. Returns :math:`[e_1, ..., e_L]`;
    the certified error of the output is :math:`\max_i e_{L,i}`.
    """
    errs = []
    e_prev = None
    for lay in layers:
        E, G = np.asarray(lay["E"], float), np.asarray(lay["G"], float)
        H = np.asarray(lay["H"], float)
        beta = np.asarray(lay.get("beta", np.zeros(E.shape[0])), float)
        e = E @ H + beta
        if e_prev is not None:
            e = e + G @ e_prev
        errs.append(e)
        e_prev = e
    return errs


def activation_bounds(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray | None], box: float = 1.0):
    r"""Per-neuron bounds :math:`H_l` on the target's :math:`|h_l|` for inputs in :math:`[-B, B]^{n_0}`.

    :math:`H_0 = B\mathbf{1}`, :math:`H_l = |W_l| H_{l-1} + |b_l|` (ReLU keeps the bound). Returns
    :math:`[H_0, ..., H_{L-1}]` (the inputs of each layer).
    """
    H = [np.full(np.asarray(weights[0]).shape[1], float(box))]
    for W, b in zip(weights[:-1], biases[:-1]):
        h = np.abs(np.asarray(W, float)) @ H[-1]
        if b is not None:
            h = h + np.abs(np.asarray(b, float))
        H.append(h)
    return H


def composition_expr(L: int = 3):
    """sympy: the unrolled recursion :math:`e_L = \\sum_l \\Delta_l \\prod_{m>l} G_m` for scalar layers."""
    import sympy as sp
    D = sp.symbols(f"Delta1:{L + 1}", nonnegative=True)
    G = sp.symbols(f"G1:{L + 1}", nonnegative=True)
    e = 0
    for l in range(L):
        e = D[l] + G[l] * e if l else D[0]
    closed = sum(D[l] * sp.prod(G[l + 1:]) for l in range(L))
    return e, closed, (D, G)


def per_weight_eps(target_widths, eps, bias: bool = True) -> float:
    r"""Per-weight accuracy :math:`\varepsilon' = \varepsilon / (2\sum_l (n_{l-1} + [\text{bias}]))`.

    Under :math:`\|W_l\|_\infty + \|b_l\|_\infty \le 1` and inputs in :math:`[-1,1]^{n_0}`
    (so :math:`H \le 1`), :func:`composition_bound` gives :math:`e_l \le a_l + (1+2a_l)e_{l-1}` with
    :math:`a_l = (n_{l-1}+1)\varepsilon'`; hence :math:`e_L \le (\varepsilon/2)e^{\varepsilon} \le \varepsilon`
    for :math:`\varepsilon \le \log 2`.
    """
    ws = widths(target_widths)
    e = float(unit(eps, "eps"))
    return e / (2 * sum(n + int(bias) for n in ws[:-1]))
