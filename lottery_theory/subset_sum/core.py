"""Subset-sum solvers behind one interface.

Problem (one instance per row ``b``): given values ``v_b in R^n``, a presence
mask ``P_b`` (ER: an item exists only if its edges survived) and a target
``z_b``, find ``S subseteq P_b`` with ``|S| <= max_size`` minimising
``|sum_{i in S} v_bi - z_b|``.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .._validation import Registry, check_alloc
from . import kernel
from .batched import _bits, _compact, _expand, _mitm, _mitm_fewest


@dataclass(frozen=True)
class SubsetSumResult:
    """``selection`` [B, n] bool (never an absent item), ``sums`` [B], ``error = |sums - targets|`` [B]."""
    selection: np.ndarray
    sums: np.ndarray
    error: np.ndarray
    method: str

    @property
    def size(self) -> np.ndarray:
        return self.selection.sum(axis=1)


SolverFn = Callable[[np.ndarray, np.ndarray, np.ndarray, int | None], np.ndarray]
_SOLVERS = Registry("subset-sum solver")


def register_solver(name: str, *, max_n: int) -> Callable[[SolverFn], SolverFn]:
    """Register ``fn(values[B,n], targets[B], present[B,n] bool, max_size) -> selection[B,n] bool``.

    ``max_n`` is the largest number of *present* items per instance the solver accepts.
    """
    return _SOLVERS.register(name, wrap=lambda fn: (fn, max_n))


def available_solvers() -> list[str]:
    return _SOLVERS.names()


def _as_np(x, name: str, dtype) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be array-like of {np.dtype(dtype).name}: {e}") from None


OBJECTIVES = ("min_error", "fewest")
_MAX_ABS = 1e200


def _pick_solver(method: str, objective: str, tol, options: dict) -> tuple:
    """The solver function for ``method`` and ``objective``, its item limit and its options (``tol`` added for
    ``fewest``, checked)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if objective == "fewest":
        if method not in _FEWEST:
            raise ValueError(f"objective='fewest' needs method in {sorted(_FEWEST)}, got {method!r}")
        if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, (int, float, np.integer, np.floating)) \
                or not math.isfinite(tol) or tol <= 0:
            raise ValueError(f"objective='fewest' needs a finite tol > 0, got tol={tol!r}")
        options = {**options, "tol": float(tol)}
    elif tol is not None:
        raise ValueError("tol applies to objective='fewest' only")
    fn, max_n = _SOLVERS.get_checked(method)
    return (_FEWEST[method] if objective == "fewest" else fn), max_n, options


def _batch(values, targets, present) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``values`` [B, n], ``targets`` [B] and ``present`` [B, n] as checked float64 / bool arrays."""
    t = np.atleast_1d(_as_np(targets, "targets", np.float64))
    v = _as_np(values, "values", np.float64)
    if t.ndim != 1:
        raise ValueError(f"targets must be 1-D [B], got shape {t.shape}")
    if v.ndim == 1:
        v = np.broadcast_to(v, (t.shape[0], v.shape[0]))
    if v.ndim != 2 or v.shape[0] != t.shape[0]:
        raise ValueError(f"values must be [B, n] or [n] with B = len(targets) = {t.shape[0]}, got shape {v.shape}")
    check_alloc(v.shape[0] * v.shape[1] * 19.0, f"solve on a batch of {v.shape[0]:,} x {v.shape[1]:,}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values contains NaN or inf")
    if not np.all(np.isfinite(t)):
        raise ValueError("targets contains NaN or inf")
    if v.size and np.abs(v).max() > _MAX_ABS or t.size and np.abs(t).max() > _MAX_ABS:
        raise ValueError(f"|values| and |targets| must be <= {_MAX_ABS:g} (sums of 44 items stay exact and finite)")
    if present is None:
        return v, t, np.ones(v.shape, dtype=bool)
    p = _as_np(present, "present", bool)
    if p.ndim == 1:
        if p.shape[0] != v.shape[1]:
            raise ValueError(f"present has {p.shape[0]} entries but each instance has {v.shape[1]} values")
        p = np.broadcast_to(p, v.shape)
    if p.shape != v.shape:
        raise ValueError(f"present must have the shape of values {v.shape}, got {p.shape}")
    return v, t, p


def solve(values, targets, *, method: str = "mitm", present=None, max_size: int | None = None,
          objective: str = "min_error", tol: float | None = None, **options) -> SubsetSumResult:
    """Solve a batch of closest-subset-sum instances; numpy or torch inputs, numpy results.

    ``values``: ``[B, n]`` or ``[n]`` (shared by all targets); ``targets``: ``[B]``
    (or a scalar); ``present``: optional bool ``[B, n]``; ``max_size``: optional cap
    on the number of chosen items. ``objective="min_error"`` (default) minimises the error;
    ``objective="fewest"`` returns, exactly, a smallest subset with error ``<= tol`` (ties: the smaller
    error), and the minimum-error subset for instances where none meets ``tol`` (methods ``mitm`` and
    ``bruteforce``). An instance with no present item returns the empty sum. Raises ``ValueError`` for
    NaN/inf, bad shapes, an unknown method or objective, or more present items than the method supports.
    """
    fn, max_n, options = _pick_solver(method, objective, tol, options)
    v, t, p = _batch(values, targets, present)
    if max_size is not None:
        if isinstance(max_size, bool) or int(max_size) != max_size or max_size < 0:
            raise ValueError(f"max_size must be a non-negative integer, got {max_size!r}")
        max_size = int(max_size)
    B, n = v.shape
    if B == 0:
        return SubsetSumResult(np.zeros((0, n), bool), np.zeros(0), np.zeros(0), method)
    n_present = int(p.sum(axis=1).max()) if n else 0
    if n_present > max_n:
        raise ValueError(f"method={method!r} handles at most {max_n} present items per instance, got {n_present}")
    sel = np.asarray(fn(np.ascontiguousarray(v), t, np.ascontiguousarray(p), max_size, **options), dtype=bool)
    sel &= p
    sums = np.where(sel, v, 0.0).sum(axis=1)
    return SubsetSumResult(sel, sums, np.abs(sums - t), method)


def _bruteforce_pick(v, t, p, max_size, pick, chunk: int = 1 << 22):
    """Enumerate all 2^m subsets of the present items (m <= 20) and keep, per row, the subset chosen by
    ``pick(err [b, 2^m], sizes [2^m]) -> index [b]`` (err is inf for subsets with absent items or over
    ``max_size``)."""
    vals, valid, order = _compact(v, p)
    B, m = vals.shape
    bits = _bits(m)
    sizes = bits.sum(1)
    out = np.zeros((B, m), dtype=bool)
    rows = max(1, chunk // max(1, 2 ** m))
    for s in range(0, B, rows):
        sums = vals[s:s + rows] @ bits.T.astype(np.float64)  # [b, 2^m]
        err = np.abs(sums - t[s:s + rows, None])
        bad = (bits[None, :, :] & ~valid[s:s + rows, None, :]).any(-1)
        if max_size is not None:
            bad |= sizes[None, :] > max_size
        err[bad] = np.inf
        out[s:s + rows] = bits[pick(err, sizes)]
    return _expand(out, order, v.shape[1])


@register_solver("bruteforce", max_n=20)
def _bruteforce(v, t, p, max_size, chunk: int = 1 << 22):
    """Exact reference: enumerate all 2^m subsets of the present items (m <= 20)."""
    return _bruteforce_pick(v, t, p, max_size, lambda err, sizes: np.argmin(err, axis=1), chunk)


def _bruteforce_fewest(v, t, p, max_size, tol: float, chunk: int = 1 << 22):
    """Reference for objective="fewest": among all subsets with error <= tol the smallest (then the most
    accurate); rows without one get the minimum-error subset."""
    def pick(err, sizes):
        key = np.where(err <= tol, sizes[None, :] + 0.5 * err / tol, np.inf)
        best = np.argmin(key, axis=1)
        none = ~np.isfinite(key[np.arange(len(key)), best])
        best[none] = np.argmin(err[none], axis=1)
        return best

    return _bruteforce_pick(v, t, p, max_size, pick, chunk)


def _use_kernel(device, batched: bool) -> bool:
    if not isinstance(batched, (bool, np.bool_)):
        raise TypeError(f"batched must be a bool, got {batched!r}")
    return kernel.AVAILABLE and not batched and (device is None or torch.device(device).type == "cpu")


@register_solver("mitm", max_n=44)
def _mitm_auto(v, t, p, max_size, memory_mb: float = 16.0, device: str | torch.device | None = None,
               batched: bool = False):
    """Exact closest subset sum by meet-in-the-middle: the compiled kernel (:mod:`.kernel`) on the CPU when
    numba is installed, else (or with ``device="cuda"`` or ``batched=True``) the batched torch path."""
    if _use_kernel(device, batched):
        return kernel.solve_batch(v, t, p, max_size)
    return _mitm(v, t, p, max_size, memory_mb=memory_mb, device=device)


def _mitm_fewest_screened(v, t, p, max_size, tol: float, batched: bool = False, **kw):
    """The compiled kernel where it applies (it screens per instance); otherwise the minimum-error pass first
    (fast) and the size search only for rows whose best error is within ``tol`` (a row with no subset within
    ``tol`` keeps its minimum-error subset, which is also what the size search would return)."""
    if _use_kernel(kw.get("device"), batched):
        return kernel.solve_batch(v, t, p, max_size, tol)
    sel = _mitm(v, t, p, max_size, **kw)
    err = np.abs(np.where(sel & p, v, 0.0).sum(1) - t)
    ok = err <= tol
    if ok.any():
        sel[ok] = _mitm_fewest(v[ok], t[ok], p[ok], max_size, tol, **kw)
    return sel


_FEWEST = {"mitm": _mitm_fewest_screened, "bruteforce": _bruteforce_fewest}


@register_solver("greedy", max_n=1 << 20)
def _greedy(v, t, p, max_size):
    """Heuristic baseline: scan items by decreasing |value|; take one if it moves the sum closer."""
    B, n = v.shape
    order = np.argsort(-np.abs(np.where(p, v, 0.0)), axis=1, kind="stable")
    sel = np.zeros((B, n), dtype=bool)
    cur = np.zeros(B)
    count = np.zeros(B, dtype=int)
    rows = np.arange(B)
    for j in range(n):
        idx = order[:, j]
        val = v[rows, idx]
        ok = p[rows, idx] & (np.abs(cur + val - t) < np.abs(cur - t))
        if max_size is not None:
            ok &= count < max_size
        cur = np.where(ok, cur + val, cur)
        count += ok
        sel[rows[ok], idx[ok]] = True
    return sel


@contextlib.contextmanager
def _native_output_silenced():
    """HiGHS writes debug lines (``HighsMipSolverData::transformNewIntegerFeasibleSolution ...``) from C++
    straight to file descriptors 1 and 2, ignoring ``disp=False``; point both at /dev/null for the call."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


_TIME_LIMIT_OPTION = {"HIGHS": lambda s: {"time_limit": s}, "SCIPY": lambda s: {"scipy_options": {"time_limit": s}},
                      "SCIP": lambda s: {"scip_params": {"limits/time": s}}, "GUROBI": lambda s: {"TimeLimit": s},
                      "CPLEX": lambda s: {"cplex_params": {"timelimit": s}}, "MOSEK": lambda s: {}}


@register_solver("milp", max_n=64)
def _milp_cvxpy(v, t, p, max_size, solver: str = "HIGHS", time_limit: float = 60.0, scale: float = 1e4):
    """Mixed-integer LP per instance, formulated in cvxpy so that any installed mixed-integer solver works
    (``solver``: "HIGHS" default, "SCIPY", "SCIP" with pyscipopt, "GUROBI" where licensed, as Pensia et al.).

    minimise ``e`` s.t. ``-e <= S (sum_i v_i x_i - z) <= e``, ``x in {0,1}^n``, ``x <= present``,
    ``sum x <= max_size``, with ``v``, ``z`` and ``present`` cvxpy Parameters, so the problem is compiled once
    and re-solved per instance. ``S = scale`` as in :func:`_milp_scipy` (HiGHS's absolute gap ~1e-6).
    """
    import cvxpy as cp

    if not isinstance(solver, str) or solver.upper() not in cp.installed_solvers():
        raise ValueError(f"solver must be an installed cvxpy solver, got {solver!r}; installed: "
                         f"{', '.join(cp.installed_solvers())}")
    solver = solver.upper()
    B, n = v.shape
    sel = np.zeros((B, n), dtype=bool)
    if n == 0:
        return sel
    x = cp.Variable(n, boolean=True)
    e = cp.Variable(nonneg=True)
    vp, zp, pp = cp.Parameter(n), cp.Parameter(), cp.Parameter(n, nonneg=True)
    cons = [scale * (vp @ x - zp) <= e, scale * (zp - vp @ x) <= e, x <= pp]
    if max_size is not None:
        cons.append(cp.sum(x) <= max_size)
    prob = cp.Problem(cp.Minimize(e), cons)
    opts = _TIME_LIMIT_OPTION.get(solver, lambda s: {})(float(time_limit))
    for b in range(B):
        vp.value, zp.value, pp.value = v[b], float(t[b]), p[b].astype(float)
        with _native_output_silenced():
            prob.solve(solver=solver, verbose=False, **opts)
        if x.value is None:
            raise RuntimeError(f"MILP ({solver}) failed on instance {b}: status {prob.status}")
        sel[b] = x.value > 0.5
    return sel


@register_solver("milp-scipy", max_n=64)
def _milp_scipy(v, t, p, max_size, time_limit: float = 60.0, scale: float = 1e4):
    """Mixed-integer LP per instance with ``scipy.optimize.milp`` (HiGHS) directly, without cvxpy.

    minimise ``e`` s.t. ``-e <= S (sum_i v_i x_i - z) <= e``, ``x in {0,1}^n``,
    ``x_i = 0`` for absent items, ``sum x <= max_size``. The instance is scaled by
    ``S = scale`` because HiGHS's absolute MIP gap (~1e-6) is the size of the
    optimal errors at n ~ 20; unscaled it stops early or reports a solve error.
    If HiGHS fails, it is retried unscaled, then without presolve.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    B, n = v.shape
    sel = np.zeros((B, n), dtype=bool)
    c = np.zeros(n + 1)
    c[-1] = 1.0
    integrality = np.r_[np.ones(n), 0]
    for b in range(B):
        res = None
        for S, extra in ((scale, {}), (1.0, {}), (scale, {"presolve": False})):
            a = np.zeros((2, n + 1))
            a[:, :n] = v[b] * S
            a[0, -1], a[1, -1] = -1.0, 1.0  # S*sum - e <= S*z <= S*sum + e
            cons = [LinearConstraint(a, [-np.inf, t[b] * S], [t[b] * S, np.inf])]
            if max_size is not None:
                cons.append(LinearConstraint(np.r_[np.ones(n), 0.0][None, :], 0, max_size))
            bounds = Bounds(np.zeros(n + 1), np.r_[p[b].astype(float), np.inf])
            with _native_output_silenced():
                res = milp(c, constraints=cons, integrality=integrality, bounds=bounds,
                           options={"time_limit": time_limit, "disp": False, **extra})
            if res.x is not None:
                break
        if res.x is None:
            raise RuntimeError(f"MILP failed on instance {b}: {res.message}")
        sel[b] = res.x[:n] > 0.5
    return sel
