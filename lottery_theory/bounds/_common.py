"""Shared argument checks and small numeric helpers of the bound calculators (numpy only)."""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_number

# Subset-sum constant in n = C log(1/min(eps, delta)) max(1, rho(p)), fitted on held-out seeds:
# `python proofs_checks/subset_sum_lueker.py --calibrate` (seeds 100-104, 400 trials each; eps 1e-1..1e-4,
# p 1..0.05, delta = 0.1) gives a smallest covering C of 7.23, rounded up to 8. The verdict that C covers the
# grid is judged on other seeds (2023 quick, 2024 full). The worst cell is eps = 0.1, p = 0.5, where the
# additive part of n = 1.7 log(1/eps) + 6.5 dominates.
DEFAULT_C = 8.0

_INT_LIMIT = float(2 ** 62)


def arr(x, name: str) -> np.ndarray:
    """A number or array of real numbers as float64; strings, bools, None and non-finite values refused."""
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


def density(p, name: str = "density") -> np.ndarray:
    a = arr(p, name)
    if np.any((a <= 0) | (a > 1)):
        raise ValueError(f"{name} must lie in (0, 1] (density = fraction kept), got {p!r}")
    return a


def count(x, name: str, *, allow_zero: bool = False) -> np.ndarray:
    """Whole numbers (an item or unit count): integers, or floats with no fractional part; >= 1 (>= 0 with
    ``allow_zero``). 2.5 units is an error, not a silent truncation."""
    a = arr(x, name)
    if np.any(a != np.floor(a)) or np.any(a < (0 if allow_zero else 1)):
        raise ValueError(f"{name} must be {'a non-negative' if allow_zero else 'a positive'} whole number, got {x!r}")
    return a


def positive(x, name: str) -> np.ndarray:
    """Real numbers > 0 (e.g. the continuous item count of the relaxed inverses)."""
    a = arr(x, name)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0, got {x!r}")
    return a


def unit(x, name: str) -> np.ndarray:
    a = arr(x, name)
    if np.any((a <= 0) | (a >= 1)):
        raise ValueError(f"{name} must lie in (0, 1), got {x!r}")
    return a


def widths(ws, name: str = "target_widths") -> list[int]:
    if ws is None or isinstance(ws, (str, bytes)):
        raise ValueError(f"{name} must be a list of positive ints (n_0, ..., n_L), got {ws!r}")
    out = list(ws)
    if len(out) < 2 or any(isinstance(w, bool) or int(w) != w or int(w) <= 0 for w in out):
        raise ValueError(f"{name} must be at least two positive ints (n_0, ..., n_L), got {out}")
    return [int(w) for w in out]


def layer_densities(p, n: int, name: str = "density") -> list[float]:
    """One density per layer: a scalar broadcast to ``n`` layers, or exactly ``n`` values."""
    if np.ndim(p) == 0:
        return [float(density(p, name))] * n
    ds = [float(x) for x in density(p, name)]
    if len(ds) != n:
        raise ValueError(f"{name} needs 1 or {n} entries (one per source weight layer), got {len(ds)}")
    return ds


def binom_pmf(k: np.ndarray, n: int, p: float) -> np.ndarray:
    """Binomial pmf via log-gamma (avoids importing scipy.stats, which is slow to import)."""
    k = np.asarray(k)
    if p >= 1:
        return (k == n).astype(float)
    if p <= 0:
        return (k == 0).astype(float)
    lg = np.vectorize(math.lgamma)
    logc = math.lgamma(n + 1) - lg(k + 1) - lg(n - k + 1)
    return np.exp(logc + k * math.log(p) + (n - k) * math.log1p(-p))


def out(a: np.ndarray):
    """A 0-d array as a Python scalar, anything else unchanged."""
    return a.item() if a.ndim == 0 else a


def to_int(x, what: str = "the result") -> np.ndarray:
    """Round up to int64, refusing values int64 cannot hold (a wrong number, never a wrap-around)."""
    x = np.asarray(x, dtype=float)
    if np.any(~np.isfinite(x)) or np.any(x > _INT_LIMIT):
        raise ValueError(f"{what} exceeds {_INT_LIMIT:.3g} (got {np.nanmax(x):.3g}): the inputs are too extreme "
                         f"for an integer answer")
    return x.astype(np.int64)


def ceil_int(x: float, what: str) -> int:
    """``ceil`` of a real count (a hair of float slack below an integer) as a Python int, so widths beyond
    int64 (Malach et al.'s polynomial form reaches 1e20 for LeNet) stay numbers; a non-finite count is refused."""
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{what} is not finite ({v}): the inputs are too extreme for an integer answer")
    return math.ceil(v - 1e-9)


def constant(C) -> float:
    """A calculator's constant: a finite number > 0."""
    return check_number(C, "C", lo=0.0, lo_open=True)


def interleave(ws: list[int], hidden) -> list[int]:
    """Source widths of a 2L layout: ``[n_0, s_1, n_1, s_2, ..., s_L, n_L]`` from the target widths and one
    block width per target layer."""
    res = [ws[0]]
    for s, n in zip(hidden, ws[1:]):
        res += [int(s), n]
    return res


def er_factor(p):
    r"""The ER factor :math:`\rho(p) = 1/\log(1/(1-p))` (:math:`\approx 1/p` as p -> 0; 0 at p = 1).

    Since :math:`p \le \log(1/(1-p))`, :math:`\rho(p) \le 1/p`.
    """
    a = density(p)
    with np.errstate(divide="ignore", over="ignore"):
        res = np.where(a < 1, -1.0 / np.log1p(-np.minimum(a, 1 - 1e-300)), 0.0)
    if not np.all(np.isfinite(res)):
        raise ValueError(f"density={p!r} is so small that the ER factor 1/log(1/(1-p)) (about 1/p) exceeds the float "
                         f"range; densities below about 1e-307 have no finite answer")
    return out(res)
