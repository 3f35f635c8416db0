r"""Representation (weak tickets) in an ER source of depth L+1: copies per layer so that every needed
edge is present (docs/theory.md, "Representation", eq. (RP-1))."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._common import arr, binom_pmf, layer_densities, out, to_int, unit, widths
from ._common import density as _density
from .record import Arg, bound


def representation_copies_expr():
    """sympy: ``log(n_pairs / delta) / log(1/(1-p))`` (before rounding up)."""
    import sympy as sp
    n, d, p = sp.symbols("n_pairs delta p", positive=True)
    return sp.log(n / d) / sp.log(1 / (1 - p)), (n, d, p)


def representation_copies(n_pairs, delta, density):
    r"""Copies needed so that :math:`n_{pairs}\,(1-p)^k \le \delta`: :math:`k = \lceil \log(n_{pairs}/\delta)/\log(1/(1-p)) \rceil`."""
    npairs, d, p = arr(n_pairs, "n_pairs"), unit(delta, "delta"), _density(density)
    if np.any(npairs <= 0):
        raise ValueError("n_pairs must be positive")
    with np.errstate(divide="ignore"):
        k = np.where(p < 1, np.log(npairs / d) / -np.log1p(-np.minimum(p, 1 - 1e-300)), 1.0)
    return out(to_int(np.maximum(1, np.ceil(k - 1e-9)), "copies"))


def _nnz(ws: list[int], nnz) -> list[int]:
    if nnz is None:
        return [ws[l] * ws[l + 1] for l in range(len(ws) - 1)]
    res = [int(x) for x in nnz]
    if len(res) != len(ws) - 1:
        raise ValueError(f"nnz needs one entry per target layer ({len(ws) - 1}), got {len(res)}")
    return res


@bound("representation", citation="docs/theory.md, eq. (RP-1) (weak tickets in ER sources, depth L+1)",
       latex=r"k_{l-1} = \left\lceil \frac{\log(L\,k_l\,\mathrm{nnz}_l/\delta)}{\log(1/(1-p_{l+1}))} \right\rceil",
       assumptions="source: one input-copy layer of K n_0 units, then k_l copies of each target neuron; "
                   "weights free (trainable), so an edge only has to be present",
       args=(Arg("widths", "ints", "target widths n_0,...,n_L"), Arg("density", "float", "ER density p"),
             Arg("delta", "float", "failure probability", 0.01)),
       report=lambda widths, density, delta: representation_plan(widths, delta, density),
       expr=representation_copies_expr)
def representation_plan(target_widths, delta, density, nnz=None) -> dict:
    r"""Copies per layer so that the L+1 representation exists w.p. >= 1 - :math:`\delta` (union bound).

    Layout (target widths :math:`n_0..n_L`, source weight layers 1..L+1 with densities :math:`p_s`):
    source layer 1 holds K copies of each input (copy c of :math:`x_j` uses edge j->c);
    source layer l+1 holds :math:`k_l` copies of each target neuron of layer l (:math:`k_L = 1`).
    Pair (copy i', input j) of target layer l fails iff no copy of j reaches i':

    * l = 1: marginal probability :math:`q_1 = (1-p_1 p_2)^K` (both edges of a 2-path);
    * l >= 2: :math:`q_l = (1-p_{l+1})^{k_{l-1}}`.

    With :math:`\delta/L` per layer, backwards from :math:`k_L = 1`:
    :math:`k_{l-1} = \lceil\log(L k_l \mathrm{nnz}_l/\delta)/\log(1/(1-p_{l+1}))\rceil` and
    :math:`K = \lceil\log(L k_1 \mathrm{nnz}_1/\delta)/\log(1/(1-p_1p_2))\rceil`.
    Returns K, k (hidden layers), source widths, the union bound and the exact success probability.
    """
    ws = widths(target_widths)
    dl = float(unit(delta, "delta"))
    L = len(ws) - 1
    ps = layer_densities(density, L + 1)
    nz = _nnz(ws, nnz)
    k = [1] * (L + 1)  # k[l] for target layer l = 1..L (k[0] unused)
    for l in range(L, 1, -1):
        k[l - 1] = int(representation_copies(L * k[l] * nz[l - 1], dl, ps[l]))
    K = int(representation_copies(L * k[1] * nz[0], dl, ps[0] * ps[1]))
    sw = [ws[0], K * ws[0]] + [k[l] * ws[l] for l in range(1, L)] + [ws[L]]
    hidden_k = k[1:L]
    return dict(K=K, k=hidden_k, source_widths=sw, densities=ps,
                union_bound=float(representation_failure_union(ws, K, hidden_k, ps, nnz)),
                exact_success=float(representation_success_exact(ws, K, hidden_k, ps, nnz)))


def _rep_pairs(ws, K, k, ps, nnz):
    L = len(ws) - 1
    ks = [None] + list(k) + [1]
    if len(ks) != L + 1:
        raise ValueError(f"k needs {L - 1} entries (one per hidden target layer), got {len(k)}")
    return L, ks, layer_densities(ps, L + 1), _nnz(ws, nnz)


def representation_failure_union(target_widths, K: int, k: Sequence[int], density, nnz=None) -> float:
    r"""Union bound on failure: :math:`k_1\mathrm{nnz}_1(1-p_1p_2)^K + \sum_{l\ge2} k_l\mathrm{nnz}_l(1-p_{l+1})^{k_{l-1}}`."""
    ws = widths(target_widths)
    L, ks, ps, nz = _rep_pairs(ws, K, k, density, nnz)
    total = ks[1] * nz[0] * (1 - ps[0] * ps[1]) ** K
    for l in range(2, L + 1):
        total += ks[l] * nz[l - 1] * (1 - ps[l]) ** ks[l - 1]
    return float(total)


def representation_success_exact(target_widths, K: int, k: Sequence[int], density, nnz=None,
                                 out_degree: Sequence[int] | None = None) -> float:
    r"""Exact P(every pair is connected) for the layout of :func:`representation_plan`.

    Edge sets of different pairs are disjoint, hence independent, except that the K copies of
    :math:`x_j` are shared by all pairs (i', j); conditioning on :math:`c_j \sim \mathrm{Bin}(K, p_1)`:

    .. math:: P = \prod_j \sum_{c} \mathrm{Bin}(c; K, p_1)\,(1-(1-p_2)^c)^{k_1\,\mathrm{outdeg}(j)}
              \prod_{l\ge 2} \left(1-(1-p_{l+1})^{k_{l-1}}\right)^{k_l \mathrm{nnz}_l}

    ``out_degree[j]`` = number of target neurons in layer 1 that read input j (dense: :math:`n_1`).
    """
    ws = widths(target_widths)
    L, ks, ps, nz = _rep_pairs(ws, K, k, density, nnz)
    outdeg = [ws[1]] * ws[0] if out_degree is None else list(out_degree)
    c = np.arange(K + 1)
    pmf = binom_pmf(c, K, ps[0])
    log_p = 0.0
    for od in outdeg:
        with np.errstate(divide="ignore"):
            term = np.where(c > 0, np.exp(ks[1] * od * np.log1p(-((1 - ps[1]) ** c))), 0.0) if ps[1] < 1 else (c > 0)
        s = float((pmf * term).sum())
        if s <= 0:
            return 0.0
        log_p += math.log(s)
    for l in range(2, L + 1):
        q = (1 - ps[l]) ** ks[l - 1]
        if q >= 1:
            return 0.0
        log_p += ks[l] * nz[l - 1] * math.log1p(-q)
    return math.exp(log_p)
