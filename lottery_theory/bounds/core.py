r"""Bound calculators for ER source networks (Gadhikar, Mukherjee & Burkholz, ICML 2023).

Notation: ``p`` = density (probability that an edge is kept); sparsity = 1 - p;
:math:`\rho(p) = 1/\log(1/(1-p))` is the ER factor. ``log`` is natural unless
said otherwise. O(.) constants are not published; where a formula needs one it
is the parameter ``C`` with a documented default, and ``proofs_checks``
measures the constant that actually suffices.

This module imports numpy and scipy only (sympy lazily, in ``*_expr``).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .._validation import Registry, check_number, check_options, check_positive_int

# Subset-sum constant in n = C log(1/min(eps, delta)) max(1, rho(p)), fitted on held-out seeds:
# `python proofs_checks/subset_sum_lueker.py --calibrate` (seeds 100-104, 400 trials each; eps 1e-1..1e-4,
# p 1..0.05, delta = 0.1) gives a smallest covering C of 7.23, rounded up to 8. The verdict that C covers the
# grid is judged on other seeds (2023 quick, 2024 full). The worst cell is eps = 0.1, p = 0.5, where the
# additive part of n = 1.7 log(1/eps) + 6.5 dominates.
DEFAULT_C = 8.0


@dataclass(frozen=True)
class Bound:
    """A documented bound: its name, citation, formula (LaTeX), assumptions and constants."""
    name: str
    citation: str
    latex: str
    assumptions: str
    constants: dict = field(default_factory=dict)
    fn: Callable | None = None


BOUNDS = Registry("bound", "name")


def _register(name, citation, latex, assumptions, **constants):
    return BOUNDS.register(name, wrap=lambda fn: Bound(name, citation, latex, assumptions, constants, fn))


# ----------------------------------------------------------------------------- validation
def _arr(x, name: str) -> np.ndarray:
    if isinstance(x, (bool, str, bytes)) or x is None:
        raise TypeError(f"{name} must be a number or array of numbers, got {x!r}")
    try:
        raw = np.asarray(x)
        if raw.dtype.kind not in "iuf":  # strings, bools, objects: refused, not converted
            raise TypeError
        a = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or array of numbers, got {x!r}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return a


def _density(p, name: str = "density") -> np.ndarray:
    a = _arr(p, name)
    if np.any((a <= 0) | (a > 1)):
        raise ValueError(f"{name} must lie in (0, 1] (density = fraction kept), got {p!r}")
    return a


def _unit(x, name: str) -> np.ndarray:
    a = _arr(x, name)
    if np.any((a <= 0) | (a >= 1)):
        raise ValueError(f"{name} must lie in (0, 1), got {x!r}")
    return a


def _widths(widths, name: str = "target_widths") -> list[int]:
    if widths is None or isinstance(widths, (str, bytes)):
        raise ValueError(f"{name} must be a list of positive ints (n_0, ..., n_L), got {widths!r}")
    ws = list(widths)
    if len(ws) < 2 or any(isinstance(w, bool) or int(w) != w or int(w) <= 0 for w in ws):
        raise ValueError(f"{name} must be at least two positive ints (n_0, ..., n_L), got {ws}")
    return [int(w) for w in ws]


def _binom_pmf(k: np.ndarray, n: int, p: float) -> np.ndarray:
    """Binomial pmf via log-gamma (avoids importing scipy.stats, which is slow to import)."""
    k = np.asarray(k)
    if p >= 1:
        return (k == n).astype(float)
    if p <= 0:
        return (k == 0).astype(float)
    lg = np.vectorize(math.lgamma)
    logc = math.lgamma(n + 1) - lg(k + 1) - lg(n - k + 1)
    return np.exp(logc + k * math.log(p) + (n - k) * math.log1p(-p))


def _out(a: np.ndarray):
    return a.item() if a.ndim == 0 else a


_INT_LIMIT = float(2 ** 62)


def _int(x, what: str = "the result") -> np.ndarray:
    """Round up to int64, refusing values int64 cannot hold (a wrong number, never a wrap-around)."""
    x = np.asarray(x, dtype=float)
    if np.any(~np.isfinite(x)) or np.any(x > _INT_LIMIT):
        raise ValueError(f"{what} exceeds {_INT_LIMIT:.3g} (got {np.nanmax(x):.3g}): the inputs are too extreme "
                         f"for an integer answer")
    return x.astype(np.int64)


def _C(C) -> float:
    """The subset-sum constant: a finite number > 0."""
    return check_number(C, "C", lo=0.0, lo_open=True)


# ----------------------------------------------------------------------------- ER factor
@_register("er-factor", "Gadhikar et al. 2023 (arXiv 2210.02412), overparameterization factor",
           r"\rho(p) = \frac{1}{\log\frac{1}{1-p}}", "p in (0, 1]; rho(1) = 0")
def ER_FACTOR(p):
    r"""The ER factor :math:`\rho(p) = 1/\log(1/(1-p))` (:math:`\approx 1/p` as p -> 0; 0 at p = 1).

    Since :math:`p \le \log(1/(1-p))`, :math:`\rho(p) \le 1/p`.
    """
    a = _density(p)
    with np.errstate(divide="ignore"):
        out = np.where(a < 1, -1.0 / np.log1p(-np.minimum(a, 1 - 1e-300)), 0.0)
    return _out(out)


def er_factor_expr():
    """sympy: ``1/log(1/(1-p))``."""
    import sympy as sp
    p = sp.symbols("p", positive=True)
    return 1 / sp.log(1 / (1 - p)), p


# ----------------------------------------------------------------------------- subset sum
@_register("dense-subset-sum", "Lueker 1998; Pensia et al. 2020 used C = 3 with log base 2",
           r"n = \lceil C \log_2(1/\min(\varepsilon,\delta)) \rceil", "values i.i.d. U[-1,1]; targets in [-1,1]",
           C=3.0)
def dense_subset_sum_n(eps, delta=None, C: float = 3.0):
    r"""Dense random subset sum (Lueker 1998): :math:`n = \lceil C \log_2(1/\min(\varepsilon, \delta)) \rceil`.

    ``delta=None`` uses ``eps`` alone, as Pensia et al.'s experiments did (``C = 3``).
    """
    e = _unit(eps, "eps")
    m = e if delta is None else np.minimum(e, _unit(delta, "delta"))
    return _out(_int(np.ceil(_C(C) * np.log2(1.0 / m) - 1e-12), "n"))


@_register("er-subset-sum", "Gadhikar et al. 2023, ER subset sum (Lueker 1998 with ER presence)",
           r"n = \left\lceil C \log\frac{1}{\min(\varepsilon,\delta)} \max\{1, \rho(p)\} \right\rceil",
           "values i.i.d. U[-1,1], each present w.p. p; the factor is clamped at 1 because an ER source "
           "never holds more items than a dense one", C=DEFAULT_C)
def er_subset_sum_n(eps, delta, density, C: float = DEFAULT_C, integer: bool = True):
    r"""Items needed so that present ones :math:`\varepsilon`-cover [-1, 1] w.p. >= 1 - :math:`\delta`.

    .. math:: n = C \log\frac{1}{\min(\varepsilon,\delta)}\,\max\{1, \rho(p)\}

    The paper's factor is :math:`\rho(p)`; below :math:`p = 1 - 1/e` it exceeds 1, above it the
    clamp keeps the dense requirement (a sparser source cannot need fewer items). ``integer=False``
    returns the real value (used by the exact inverse queries).
    """
    e, d, p = _unit(eps, "eps"), _unit(delta, "delta"), _density(density)
    C = _C(C)
    n = C * np.log(1.0 / np.minimum(e, d)) * np.maximum(1.0, np.asarray(ER_FACTOR(p)))
    return _out(_int(np.ceil(n - 1e-9), "n") if integer else n)


def dense_subset_sum_n_expr():
    """sympy: ``C log2(1/m)`` for m = min(eps, delta) (before rounding up)."""
    import sympy as sp
    C, m = sp.symbols("C m", positive=True)
    return C * sp.log(1 / m, 2), (C, m)


def er_subset_sum_n_sufficient_expr():
    """sympy: ``max(2 C log(1/eps), 8 log(2/delta)) / p``."""
    import sympy as sp
    C, e, d, p = sp.symbols("C epsilon delta p", positive=True)
    return sp.Max(2 * C * sp.log(1 / e), 8 * sp.log(2 / d)) / p, (C, e, d, p)


def representation_copies_expr():
    """sympy: ``log(n_pairs / delta) / log(1/(1-p))`` (before rounding up)."""
    import sympy as sp
    n, d, p = sp.symbols("n_pairs delta p", positive=True)
    return sp.log(n / d) / sp.log(1 / (1 - p)), (n, d, p)


def lower_bound_success_expr():
    """sympy: dense-output success probability ``(1 - (1-p)^n)^d``."""
    import sympy as sp
    n, d, p = sp.symbols("n d p", positive=True)
    return (1 - (1 - p) ** n) ** d, (n, d, p)


def er_subset_sum_n_expr():
    """sympy: ``C log(1/m) / log(1/(1-p))`` for m = min(eps, delta) (the unclamped paper form)."""
    import sympy as sp
    C, m, p = sp.symbols("C m p", positive=True)
    return C * sp.log(1 / m) / sp.log(1 / (1 - p)), (C, m, p)


def er_subset_sum_eps(n, delta, density, C: float = DEFAULT_C):
    r"""Inverse in :math:`\varepsilon`: :math:`\varepsilon = \exp(-n / (C \max\{1,\rho(p)\}))`.

    Returns NaN where even :math:`\varepsilon \ge \delta` would need more than ``n`` items.
    """
    nn, d, p = _arr(n, "n"), _unit(delta, "delta"), _density(density)
    eps = np.exp(-nn / (C * np.maximum(1.0, np.asarray(ER_FACTOR(p)))))
    return _out(np.where(eps <= d, eps, np.nan))


def er_subset_sum_density(n, eps, delta, C: float = DEFAULT_C):
    r"""Inverse in p: the smallest density with :math:`C \log(1/\min(\varepsilon,\delta))\max\{1,\rho(p)\} \le n`.

    :math:`p = 1 - \exp(-C \log(1/\min(\varepsilon,\delta)) / n)`; NaN where even a dense source needs more than n.
    """
    nn = _arr(n, "n")
    lg = C * np.log(1.0 / np.minimum(_unit(eps, "eps"), _unit(delta, "delta")))
    with np.errstate(divide="ignore"):
        p = -np.expm1(-lg / nn)
    return _out(np.where(nn >= lg * (1 - 1e-12), p, np.nan))


@_register("er-subset-sum-sufficient", "docs/theory.md, ER subset sum: Lueker + Chernoff",
           r"n = \frac{\max\{2C\log(1/\varepsilon),\ 8\log(2/\delta)\}}{p}",
           "m ~ Bin(n, p) present items; P(m < np/2) <= exp(-np/8)", C=DEFAULT_C)
def er_subset_sum_n_sufficient(eps, delta, density, C: float = DEFAULT_C):
    r"""A sufficient size with explicit dependence (Chernoff on the present count): the 1/p form.

    .. math:: n = \max\{2C\log(1/\varepsilon), 8\log(2/\delta)\} / p
    """
    e, d, p = _unit(eps, "eps"), _unit(delta, "delta"), _density(density)
    return _out(_int(np.ceil(np.maximum(2 * _C(C) * np.log(1 / e), 8 * np.log(2 / d)) / p - 1e-9), "n"))


# ----------------------------------------------------------------------------- lower bound (3 layers)
@_register("lower-bound", "Gadhikar et al. 2023, lower bound for 3-layer ER networks (docs/theory.md, lower bound)",
           r"P(E) = \sum_m \mathrm{Bin}(m; n, p_2)\,(1-(1-p_1)^m)^d",
           "d inputs, hidden width n, one output; first layer ER(p_1), output layer ER(p_2)")
def lower_bound_success_prob(n, d, density, output_density=1.0):
    r"""P(every input has a kept path to the output) for a d-n-1 ER network.

    .. math:: P(E) = \sum_{m=0}^{n} \binom{n}{m} p_2^m (1-p_2)^{n-m} \left(1-(1-p_1)^m\right)^d

    With a dense output (:math:`p_2 = 1`) this is :math:`(1-(1-p_1)^n)^d`. Below it, no choice of
    weights can represent a target whose output depends on all d inputs.
    """
    nn, dd = _arr(n, "n"), _arr(d, "d")
    p1, p2 = _density(density), _density(output_density, "output_density")
    if np.any(nn < 0) or np.any(dd <= 0):
        raise ValueError("n must be >= 0 and d > 0")

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
        return float((_binom_pmf(m, n_, b) * inner).sum())

    return _out(np.vectorize(one, otypes=[float])(nn, dd, p1, p2))


_MAX_EXACT_N = 10_000_000  # the exact ER-output P(E) sums n + 1 terms: ~80 MB of float64 at this n


def lower_bound_width(d, delta, density, output_density=1.0):
    r"""Critical width :math:`n^*`: the smallest n with P(E) >= 1 - :math:`\delta`; any smaller width fails w.p. > :math:`\delta`.

    Dense output: :math:`n^* = \lceil \log(1-(1-\delta)^{1/d}) / \log(1-p_1) \rceil \approx \log(d/\delta)\,\rho(p_1)`.
    ER output: the smallest n found by doubling and bisection on the exact P(E).
    """
    dd, dl = _arr(d, "d"), _unit(delta, "delta")
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

    return _out(np.vectorize(one, otypes=[np.int64])(dd, dl, p1, p2))


def lower_bound_expr():
    """sympy: the dense-output critical width before rounding, ``log(1-(1-delta)^(1/d))/log(1-p)``."""
    import sympy as sp
    d, delta, p = sp.symbols("d delta p", positive=True)
    return sp.log(1 - (1 - delta) ** (1 / d)) / sp.log(1 - p), (d, delta, p)


# ----------------------------------------------------------------------------- representation (weak ticket)
def representation_copies(n_pairs, delta, density):
    r"""Copies needed so that :math:`n_{pairs}\,(1-p)^k \le \delta`: :math:`k = \lceil \log(n_{pairs}/\delta)/\log(1/(1-p)) \rceil`."""
    npairs, d, p = _arr(n_pairs, "n_pairs"), _unit(delta, "delta"), _density(density)
    if np.any(npairs <= 0):
        raise ValueError("n_pairs must be positive")
    with np.errstate(divide="ignore"):
        k = np.where(p < 1, np.log(npairs / d) / -np.log1p(-np.minimum(p, 1 - 1e-300)), 1.0)
    return _out(_int(np.maximum(1, np.ceil(k - 1e-9)), "copies"))


def _layer_densities(density, n: int, name: str = "density") -> list[float]:
    if np.ndim(density) == 0:
        return [float(_density(density, name))] * n
    ds = [float(x) for x in _density(density, name)]
    if len(ds) != n:
        raise ValueError(f"{name} needs 1 or {n} entries (one per source weight layer), got {len(ds)}")
    return ds


def _nnz(widths: list[int], nnz) -> list[int]:
    if nnz is None:
        return [widths[l] * widths[l + 1] for l in range(len(widths) - 1)]
    out = [int(x) for x in nnz]
    if len(out) != len(widths) - 1:
        raise ValueError(f"nnz needs one entry per target layer ({len(widths) - 1}), got {len(out)}")
    return out


@_register("representation", "docs/theory.md, representation (weak tickets in ER sources, depth L+1)",
           r"k_{l-1} = \left\lceil \frac{\log(L\,k_l\,\mathrm{nnz}_l/\delta)}{\log(1/(1-p_{l+1}))} \right\rceil",
           "source: one input-copy layer of K n_0 units, then k_l copies of each target neuron; "
           "weights free (trainable), so an edge only has to be present")
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
    ws = _widths(target_widths)
    dl = float(_unit(delta, "delta"))
    L = len(ws) - 1
    ps = _layer_densities(density, L + 1)
    nz = _nnz(ws, nnz)
    k = [1] * (L + 1)  # k[l] for target layer l = 1..L (k[0] unused)
    for l in range(L, 1, -1):
        k[l - 1] = int(representation_copies(L * k[l] * nz[l - 1], dl, ps[l]))
    K = int(representation_copies(L * k[1] * nz[0], dl, ps[0] * ps[1]))
    widths = [ws[0], K * ws[0]] + [k[l] * ws[l] for l in range(1, L)] + [ws[L]]
    hidden_k = k[1:L]
    return dict(K=K, k=hidden_k, source_widths=widths, densities=ps,
                union_bound=float(representation_failure_union(ws, K, hidden_k, ps, nnz)),
                exact_success=float(representation_success_exact(ws, K, hidden_k, ps, nnz)))


def _rep_pairs(ws, K, k, ps, nnz):
    L = len(ws) - 1
    ks = [None] + list(k) + [1]
    if len(ks) != L + 1:
        raise ValueError(f"k needs {L - 1} entries (one per hidden target layer), got {len(k)}")
    ps = _layer_densities(ps, L + 1)
    nz = _nnz(ws, nnz)
    return L, ks, ps, nz


def representation_failure_union(target_widths, K: int, k: Sequence[int], density, nnz=None) -> float:
    r"""Union bound on failure: :math:`k_1\mathrm{nnz}_1(1-p_1p_2)^K + \sum_{l\ge2} k_l\mathrm{nnz}_l(1-p_{l+1})^{k_{l-1}}`."""
    ws = _widths(target_widths)
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
    ws = _widths(target_widths)
    L, ks, ps, nz = _rep_pairs(ws, K, k, density, nnz)
    outdeg = [ws[1]] * ws[0] if out_degree is None else list(out_degree)
    c = np.arange(K + 1)
    pmf = _binom_pmf(c, K, ps[0])
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


# ----------------------------------------------------------------------------- error composition
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
    for i, lay in enumerate(layers):
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
    ws = _widths(target_widths)
    e = float(_unit(eps, "eps"))
    return e / (2 * sum(n + int(bias) for n in ws[:-1]))


def subset_sum_block_size(eps_w, delta_w, p_path, C: float = DEFAULT_C) -> int:
    """Items per subset-sum instance for per-weight accuracy ``eps_w`` (see :func:`er_subset_sum_n`)."""
    return int(er_subset_sum_n(eps_w, delta_w, p_path, C))


# ----------------------------------------------------------------------------- required width
_THEOREMS = Registry("theorem", "theorem")


def _theorem(name):
    return _THEOREMS.register(name)


def _slt_common(ws, eps, delta, bias):
    L = len(ws) - 1
    eps_w = per_weight_eps(ws, eps, bias)
    n_inst = 2 * sum(ws[l] * ws[l + 1] for l in range(L)) + (sum(ws[1:]) if bias else 0)
    return L, eps_w, float(_unit(delta, "delta")) / n_inst


def _block_k(eps_w, dw, pa: float, pb: float, n_in: int, C, assignment: str) -> int:
    r"""Units per input of a block layer. Fixed layout: items present w.p. :math:`p_a p_b/2`, so
    :math:`k = n_{ss}(\varepsilon', \delta', p_a p_b/2)`. Adaptive layout (docs/theory.md): a unit serves one
    of its surviving inputs, so an item is present w.p. :math:`p_b/2`; a unit has no surviving edge w.p.
    :math:`(1-p_a)^{n_{in}}` and, when :math:`p_a < 1`, balancing can leave an input one unit short of the
    mean: :math:`k = \lceil (n_{ss}(\varepsilon', \delta', p_b/2) + [p_a < 1]) / (1 - (1-p_a)^{n_{in}}) \rceil`
    (at :math:`p_a = 1` both layouts coincide)."""
    if assignment == "fixed":
        return subset_sum_block_size(eps_w, dw, pa * pb / 2, C)
    if assignment != "adaptive":
        raise ValueError(f"assignment must be 'adaptive' or 'fixed', got {assignment!r}")
    reach = 1 - (1 - pa) ** n_in
    if reach <= 0:
        raise ValueError(f"block layer density {pa} leaves no surviving edge for {n_in} inputs")
    return int(math.ceil((subset_sum_block_size(eps_w, dw, pb / 2, C) + (pa < 1)) / reach))


@_theorem("er-slt-2L")
def _w_2l(ws, eps, delta, density, C, bias, assignment: str = "adaptive", **_):
    r"""2L (Pensia/Malach layout, as built by :func:`lottery_theory.tickets.construct`).

    Before target layer l sits a block layer of :math:`(n_{l-1} + [\text{bias}])\,k_l` units: k_l units per
    input j (unit u computes relu(a_u x_j)) and k_l constant units relu(c_u) for the bias; ``k_l`` from
    :func:`_block_k` (fixed layout: a path j -> u -> i exists iff both edges survive and a_u has the sign
    of the part it serves, probability :math:`p_a p_b / 2`; adaptive: :math:`p_b/2`).
    """
    L, eps_w, dw = _slt_common(ws, eps, delta, bias)
    if np.ndim(density) == 0 or len(density) == 2 * L:
        ps = _layer_densities(density, 2 * L)
    else:
        ps = [x for p in _layer_densities(density, L) for x in (p, p)]
    out = [ws[0]]
    for l in range(1, L + 1):
        k = _block_k(eps_w, dw, ps[2 * l - 2], ps[2 * l - 1], ws[l - 1], C, assignment)
        out += [(ws[l - 1] + int(bias)) * k, ws[l]]
    return out


def l1_plan(ws, eps, delta, density, C, bias, assignment: str = "adaptive") -> dict:
    r"""Block sizes of the L+1 construction (Burkholz 2022 layout, as built by ``construct``).

    Source layer 1: :math:`(n_0 + [b])\,k` units (univariate blocks as in 2L, ``k`` from :func:`_block_k`).
    Source layer l+1 (l = 1..L-1): :math:`\rho_l` copies of each target neuron of
    layer l, plus :math:`k^b_l` constant units for the next layer's bias. Target weight :math:`w_{ij}` of
    layer l+1 is a subset sum over the :math:`\rho_l` copies of j (each edge present w.p.
    :math:`p_{l+2}`): :math:`\rho_l = n_{ss}(\varepsilon', \delta', p_{l+2})`,
    :math:`k^b_l = n_{ss}(\varepsilon', \delta', p_{l+2}/2)`.
    """
    L, eps_w, dw = _slt_common(ws, eps, delta, bias)
    ps = _layer_densities(density, L + 1)
    k = _block_k(eps_w, dw, ps[0], ps[1], ws[0], C, assignment)
    rho = [subset_sum_block_size(eps_w, dw, ps[l + 1], C) for l in range(1, L)]
    kb = [subset_sum_block_size(eps_w, dw, ps[l + 1] / 2, C) if bias else 0 for l in range(1, L)]
    return dict(k=k, rho=rho, kb=kb, densities=ps, eps_w=eps_w, delta_w=dw)


@_theorem("er-slt-L+1")
def _w_l1(ws, eps, delta, density, C, bias, assignment: str = "adaptive", **_):
    """L+1 (Burkholz 2022 layout): see :func:`l1_plan`."""
    plan = l1_plan(ws, eps, delta, density, C, bias, assignment)
    L = len(ws) - 1
    return [ws[0], (ws[0] + int(bias)) * plan["k"]] + [plan["rho"][l - 1] * ws[l] + plan["kb"][l - 1]
                                                      for l in range(1, L)] + [ws[L]]


@_theorem("er-representation")
def _w_rep(ws, eps, delta, density, C, bias, **_):
    return representation_plan(ws, delta, density)["source_widths"]


@_theorem("pensia")
def _w_pensia(ws, eps, delta, density, C, bias, **_):
    """Pensia et al. 2020: the dense 2L construction (density ignored)."""
    return _w_2l(ws, eps, delta, 1.0, C, bias)


@_theorem("burkholz")
def _w_burkholz(ws, eps, delta, density, C, bias, **_):
    """Burkholz 2022: the dense L+1 construction (density ignored)."""
    return _w_l1(ws, eps, delta, 1.0, C, bias)


@_theorem("orseau")
def _w_orseau(ws, eps, delta, density, C, bias, **_):
    """Orseau et al. 2020: O(log(1/eps')) units per weight with hyperbolic weights (constant 1), 2L layout."""
    L, eps_w, _ = _slt_common(ws, eps, delta, bias)
    N = math.ceil(math.log(1 / eps_w) - 1e-9)
    out = [ws[0]]
    for l in range(1, L + 1):
        out += [(ws[l - 1] + int(bias)) * 2 * N, ws[l]]
    return out


@_theorem("malach")
def _w_malach(ws, eps, delta, density, C, bias, **_):
    """Malach et al. 2020: polynomial width ~ n^4 L^2 / eps^2 * log(n L / delta) per layer (constant 1), 2L."""
    L = len(ws) - 1
    n = max(ws)
    m = math.ceil(n ** 4 * L ** 2 / eps ** 2 * math.log(n * L / delta))
    out = [ws[0]]
    for l in range(1, L + 1):
        out += [m, ws[l]]
    return out


@_theorem("da-cunha")
def _w_dacunha(ws, eps, delta, density, C, bias, kernel_size: int = 3, **_):
    """da Cunha et al. 2022 (conv): ws are channel counts; 2L with blocks over c_{l-1} k^2 inputs."""
    flat = [ws[0] * kernel_size ** 2] + [w * kernel_size ** 2 for w in ws[1:-1]] + [ws[-1]]
    plan = _w_2l(flat, eps, delta, density, C, bias)
    return [ws[0]] + [plan[i] // (kernel_size ** 2) if i % 2 == 1 else ws[i // 2] for i in range(1, len(plan))]


def required_width(target_widths, eps, delta, density=1.0, *, theorem: str = "er-slt-2L", C: float = DEFAULT_C,
                   bias: bool = True, **options) -> list[int]:
    r"""Source layer widths :math:`(n_0, s_1, \ldots, n_L)` that ``theorem`` requires.

    Theorems: ``er-slt-2L``, ``er-slt-L+1`` (option ``assignment="adaptive"`` (default) or ``"fixed"``: the
    block layout of :func:`lottery_theory.tickets.construct`), ``er-representation`` (ER sources; ``density``
    scalar or per source layer), and the comparators ``pensia``, ``burkholz``, ``orseau``, ``malach``,
    ``da-cunha``. SLT widths assume inputs in [-1, 1] and
    :math:`\|W_l\|_\infty + \|b_l\|_\infty \le 1`, and split :math:`\varepsilon` and :math:`\delta`
    over weights (:func:`per_weight_eps`, union bound over all subset-sum instances).
    """
    ws = _widths(target_widths)
    _unit(eps, "eps"), _unit(delta, "delta")
    if np.ndim(density) == 0:
        _density(density)
    if theorem not in _THEOREMS:
        raise ValueError(f"unknown theorem={theorem!r}; available: {', '.join(sorted(_THEOREMS))}")
    C = _C(C)
    check_options(_THEOREMS[theorem], options, f"theorem {theorem!r}", skip=6)
    return [int(x) for x in _THEOREMS[theorem](ws, float(eps), float(delta), density, C, bias, **options)]


def available_theorems() -> list[str]:
    return sorted(_THEOREMS)


def _max_hidden(widths: list[int]) -> int:
    return max(widths[1:-1]) if len(widths) > 2 else 0


def achievable_eps(target_widths, width: int, delta, density=1.0, *, theorem: str = "er-slt-2L",
                   C: float = DEFAULT_C, bias: bool = True, rtol: float = 1e-10) -> float:
    """Inverse query: the smallest eps whose required (largest hidden) width is <= ``width``.

    Bisection on log(eps) over (1e-15, 0.5]; raises ValueError if even eps = 0.5 needs more.
    """
    check_positive_int(width, "width")
    f = lambda e: _max_hidden(required_width(target_widths, e, delta, density, theorem=theorem, C=C, bias=bias))  # noqa
    if f(0.5) > width:
        raise ValueError(f"width={width} is too small for any eps <= 0.5 (needs {f(0.5)})")
    lo, hi = math.log(1e-15), math.log(0.5)
    if f(math.exp(lo)) <= width:
        return math.exp(lo)
    while hi - lo > rtol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if f(math.exp(mid)) <= width else (mid, hi)
    return math.exp(hi)


def min_density(target_widths, width: int, eps, delta, *, theorem: str = "er-slt-2L", C: float = DEFAULT_C,
                bias: bool = True, tol: float = 1e-10) -> float:
    """Inverse query: the smallest density (same in every layer) whose required width is <= ``width``."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (1e-15 <= tol < 1):
        raise ValueError(f"tol must be a number in [1e-15, 1) (bisection on the density), got {tol!r}")
    f = lambda p: _max_hidden(required_width(target_widths, eps, delta, p, theorem=theorem, C=C, bias=bias))  # noqa
    if f(1.0) > width:
        raise ValueError(f"width={width} is too small even for a dense source (needs {f(1.0)})")
    lo, hi = 0.0, 1.0
    for _ in range(200):  # halves the interval each step: 200 steps reach any tol >= 1e-15 (2^-50)
        if hi - lo <= tol:
            break
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if f(mid) <= width else (mid, hi)
    return hi


# ----------------------------------------------------------------------------- CLI glue
def cli_evaluate(name: str, *, widths=None, density=None, eps=None, delta=0.01, width=None, C=None, d=None) -> dict:
    """Evaluate a calculator by CLI name; returns a JSON-able dict (used by ``lottery-theory bounds``)."""
    c = DEFAULT_C if C is None else C
    need = lambda **kw: [k for k, v in kw.items() if v is None]  # noqa: E731

    def req(**kw):
        miss = need(**kw)
        if miss:
            raise ValueError(f"bounds {name} needs " + ", ".join(f"--{m}" for m in miss))

    if name == "list":
        return {k: f"{b.latex}  [{b.citation}]" for k, b in BOUNDS.items()} | {
            "er-width / *-width": f"required_width theorems: {', '.join(available_theorems())}",
            "achievable-eps": "inverse: smallest eps for --width", "min-density": "inverse: smallest p for --width"}
    if name == "er-factor":
        req(density=density)
        return {"density": density, "er_factor": ER_FACTOR(density), "one_over_p": 1 / density}
    if name == "er-subset-sum":
        req(eps=eps, density=density)
        return {"n": int(er_subset_sum_n(eps, delta, density, c)), "C": c,
                "n_sufficient_1_over_p": int(er_subset_sum_n_sufficient(eps, delta, density, c))}
    if name == "lower-bound":
        req(d=d, density=density)
        n = int(lower_bound_width(d, delta, density))
        return {"critical_width": n, "log(d/delta)*rho(p)": math.log(d / delta) * ER_FACTOR(density)}
    if name == "representation":
        req(widths=widths, density=density)
        return representation_plan(widths, delta, density)
    if name in ("achievable-eps", "min-density"):
        req(widths=widths, width=width, **({"density": density} if name == "achievable-eps" else {"eps": eps}))
        if name == "achievable-eps":
            return {"eps": achievable_eps(widths, width, delta, density, C=c)}
        return {"density": min_density(widths, width, eps, delta, C=c)}
    theorem = {"er-width": "er-slt-2L", "er-width-L+1": "er-slt-L+1"}.get(name, name.removesuffix("-width"))
    if theorem in _THEOREMS:
        req(widths=widths, eps=eps)
        p = 1.0 if density is None else density
        sw = required_width(widths, eps, delta, p, theorem=theorem, C=c)
        return {"theorem": theorem, "source_widths": sw, "er_factor": ER_FACTOR(p), "density": p, "eps": eps,
                "delta": delta}
    raise ValueError(f"unknown calculator {name!r}; see `lottery-theory bounds list`")
