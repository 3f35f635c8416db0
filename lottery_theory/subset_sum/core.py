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
from tqdm import tqdm

from .._validation import Registry
from . import kernel


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
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if objective == "fewest":
        if method not in _FEWEST:
            raise ValueError(f"objective='fewest' needs method in {sorted(_FEWEST)}, got {method!r}")
        if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not math.isfinite(tol) \
                or tol <= 0:
            raise ValueError(f"objective='fewest' needs a finite tol > 0, got tol={tol!r}")
        options = {**options, "tol": float(tol)}
    elif tol is not None:
        raise ValueError("tol applies to objective='fewest' only")
    fn, max_n = _SOLVERS.get_checked(method)
    if objective == "fewest":
        fn = _FEWEST[method]
    t = np.atleast_1d(_as_np(targets, "targets", np.float64))
    v = _as_np(values, "values", np.float64)
    if t.ndim != 1:
        raise ValueError(f"targets must be 1-D [B], got shape {t.shape}")
    if v.ndim == 1:
        v = np.broadcast_to(v, (t.shape[0], v.shape[0]))
    if v.ndim != 2 or v.shape[0] != t.shape[0]:
        raise ValueError(f"values must be [B, n] or [n] with B = len(targets) = {t.shape[0]}, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values contains NaN or inf")
    if not np.all(np.isfinite(t)):
        raise ValueError("targets contains NaN or inf")
    if present is None:
        p = np.ones(v.shape, dtype=bool)
    else:
        p = _as_np(present, "present", bool)
        if p.ndim == 1:
            p = np.broadcast_to(p, v.shape)
        if p.shape != v.shape:
            raise ValueError(f"present must have the shape of values {v.shape}, got {p.shape}")
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


def _compact(v: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move present items to the front of each row: returns values [B, m], validity [B, m], original index [B, m]."""
    B, n = v.shape
    m = int(p.sum(axis=1).max()) if n else 0
    order = np.argsort(~p, axis=1, kind="stable")[:, :m]
    valid = np.take_along_axis(p, order, axis=1)
    vals = np.where(valid, np.take_along_axis(v, order, axis=1), 0.0)
    return vals, valid, order


def _expand(sel_c: np.ndarray, order: np.ndarray, n: int) -> np.ndarray:
    sel = np.zeros((order.shape[0], n), dtype=bool)
    np.put_along_axis(sel, order, sel_c, axis=1)
    return sel


def _bits(h: int) -> np.ndarray:
    """[2^h, h] matrix of the binary digits of 0..2^h-1."""
    return ((np.arange(2 ** h)[:, None] >> np.arange(h)[None, :]) & 1).astype(bool)


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


def _halves(v, p, device):
    """Meet-in-the-middle set-up: present items compacted to ``m`` columns, split into halves of ``h1 =
    ceil(m/2)`` and ``h2`` items, with the subsets' bit matrices (numpy and float64 torch)."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    vals, _, order = _compact(v, p)
    m = vals.shape[1]
    h1 = (m + 1) // 2
    h2 = m - h1
    bl, br = _bits(h1), _bits(h2)
    return (dev, vals, order, h1, h2, bl, br, torch.as_tensor(bl, dtype=torch.float64, device=dev),
            torch.as_tensor(br, dtype=torch.float64, device=dev))


def _mitm_fewest(v, t, p, max_size, tol: float, memory_mb: float = 16.0, device: str | torch.device | None = None):
    """Exact smallest subset within ``tol`` by meet-in-the-middle, batched. The right-half subsets are grouped
    by size ``c`` and each group is sorted per row (one sort's worth of work in all); each left subset (size
    ``a``) finds its nearest right sum in every group. A pair is feasible if its error is ``<= tol``; the key
    ``a + c + err / (2 tol)`` orders feasible pairs by size, then error (the error term is < 1). The overall
    nearest pair is tracked in the same pass and returned for rows where no pair is feasible (the
    minimum-error solution)."""
    dev, vals, order, h1, h2, bl, br, bl_t, br_t = _halves(v, p, device)
    B, m = vals.shape
    groups_t = [torch.as_tensor(np.flatnonzero(br.sum(1) == c), device=dev) for c in range(h2 + 1)]
    size_l = torch.as_tensor(bl.sum(1), dtype=torch.float64, device=dev)
    per_row = (2 ** h1 * (h2 + 4) + 2 ** h2) * 8 * 3
    rows = max(1, int(memory_mb * 2 ** 20 // per_row))
    out = np.zeros((B, m), dtype=bool)
    vt = torch.as_tensor(vals, dtype=torch.float64, device=dev)
    tt = torch.as_tensor(t, dtype=torch.float64, device=dev)
    inf = torch.tensor(math.inf, dtype=torch.float64, device=dev)
    for s in tqdm(range(0, B, rows), desc=f"fewest subset sums (n<={m})", unit="chunk", leave=False,
                  disable=B < 100_000):
        x = vt[s:s + rows]
        nb = x.shape[0]
        left = x[:, :h1] @ bl_t.T
        right = x[:, h1:] @ br_t.T
        need = tt[s:s + rows, None] - left
        best_key = torch.full((nb,), math.inf, dtype=torch.float64, device=dev)
        best_l = torch.zeros(nb, dtype=torch.long, device=dev)
        best_c = torch.zeros(nb, dtype=torch.long, device=dev)
        near_err = torch.full((nb,), math.inf, dtype=torch.float64, device=dev)
        near_l = torch.zeros_like(best_l)
        near_c = torch.zeros_like(best_c)
        tables = []
        for c, gidx in enumerate(groups_t):
            srt, perm = _sorted_padded(right[:, gidx])
            tables.append((srt, perm))
            err = _gap(srt, need)
            if max_size is not None:
                err = torch.where(size_l[None, :] + c <= max_size, err, inf)
            e, li = err.min(dim=1)
            closer = e < near_err
            near_err, near_l = torch.where(closer, e, near_err), torch.where(closer, li, near_l)
            near_c = torch.where(closer, torch.full_like(near_c, c), near_c)
            key = torch.where(err <= tol, size_l[None, :] + c + 0.5 * err / tol, inf)
            k, li = key.min(dim=1)
            better = k < best_key
            best_key, best_l = torch.where(better, k, best_key), torch.where(better, li, best_l)
            best_c = torch.where(better, torch.full_like(best_c, c), best_c)
        ok = torch.isfinite(best_key)
        fl, fc = torch.where(ok, best_l, near_l), torch.where(ok, best_c, near_c)
        ri = torch.zeros_like(fl)
        for c, (srt, perm) in enumerate(tables):
            rc = fc == c
            if bool(rc.any()):
                local = _recover(srt[rc], perm[rc], need[rc].gather(1, fl[rc, None]))
                ri[rc] = groups_t[c][local]
        out[s:s + rows, :h1] = bl[fl.cpu().numpy()]
        out[s:s + rows, h1:] = br[ri.cpu().numpy()]
    return _expand(out, order, v.shape[1])


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


def _mitm(v, t, p, max_size, memory_mb: float = 16.0, device: str | torch.device | None = None):
    """Exact closest subset sum by meet-in-the-middle (Horowitz & Sahni 1974), batched in torch.

    Present items are compacted to ``m`` columns and split into halves of size
    ``h1 = ceil(m/2)`` and ``h2 = floor(m/2)``. All ``2^h1`` left sums and
    ``2^h2`` right sums are formed by one matrix product per chunk; the right
    sums are sorted per row and each left sum ``s`` looks up ``z - s`` with a
    batched ``searchsorted`` (the nearest neighbours on both sides are the only
    candidates). Absent (padding) items have value 0, so they never change a sum,
    and they are removed from the selection at the end. With ``max_size`` the
    right sums are searched once per size cap ``c`` (sums of larger subsets set
    to +inf), and each left subset of size ``s`` uses the cap ``max_size - s``.

    Memory per chunk is about ``rows * (2^h1 + 2^h2) * 40`` bytes; rows are
    chosen so this stays under ``memory_mb``. Time per instance ~ ``2^(m/2) m``.
    """
    dev, vals, order, h1, h2, bl, br, bl_t, br_t = _halves(v, p, device)
    B, m = vals.shape
    size_l = torch.as_tensor(bl.sum(1), device=dev)
    size_r = torch.as_tensor(br.sum(1), device=dev)
    caps = None
    if max_size is not None:
        caps = list(range(0, min(h2, max_size) + 1))
    per_row = (2 ** h1 + 2 ** h2) * 8 * 5 * (1 if caps is None else 1 + len(caps) // 2)
    rows = max(1, int(memory_mb * 2 ** 20 // per_row))
    out = np.zeros((B, m), dtype=bool)
    vt = torch.as_tensor(vals, dtype=torch.float64, device=dev)
    tt = torch.as_tensor(t, dtype=torch.float64, device=dev)
    for s in tqdm(range(0, B, rows), desc=f"subset sums (n<={m})", unit="chunk", leave=False,
                  disable=B < 100_000):
        x = vt[s:s + rows]
        z = tt[s:s + rows, None]
        left = x[:, :h1] @ bl_t.T  # [b, 2^h1]
        right = x[:, h1:] @ br_t.T  # [b, 2^h2]
        need = z - left  # what the right side should add
        if caps is None:
            srt, perm = _sorted_padded(right)
            best_err = _gap(srt, need)
            li = torch.argmin(best_err, dim=1)
            ri = _recover(srt, perm, need.gather(1, li[:, None]))
        else:
            cap_of_left = (max_size - size_l).clamp(min=-1)  # -1: the left part alone is too big
            best_err = torch.full_like(need, math.inf)
            tables = {}
            for c in caps:
                use = cap_of_left == c if c < caps[-1] else cap_of_left >= c
                if not bool(use.any()):
                    continue
                tables[c] = _sorted_padded(torch.where(size_r[None, :] <= c, right, torch.full_like(right, math.inf)))
                best_err[:, use] = _gap(tables[c][0], need[:, use])
            li = torch.argmin(best_err, dim=1)
            cap_li = cap_of_left[li].clamp(max=caps[-1])
            ri = torch.zeros_like(li)
            for c, (srt, perm) in tables.items():
                rows_c = cap_li == c
                if bool(rows_c.any()):
                    ri[rows_c] = _recover(srt[rows_c], perm[rows_c], need[rows_c].gather(1, li[rows_c, None]))
        out[s:s + rows, :h1] = bl[li.cpu().numpy()]
        out[s:s + rows, h1:] = br[ri.cpu().numpy()]
    return _expand(out, order, v.shape[1])


_BIG = 1e300  # finite sentinel: |sums| are tiny next to it, and BIG - x never overflows


def _sorted_padded(right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row-sorted ``right`` with sentinels ``-BIG`` / ``+BIG`` at both ends, and the sorting permutation."""
    if right.device.type == "cpu":  # numpy's row argsort is ~3x faster than torch.sort on CPU
        perm_np = np.argsort(right.numpy(), axis=1, kind="quicksort")
        perm = torch.from_numpy(perm_np)
        srt = torch.from_numpy(np.take_along_axis(right.numpy(), perm_np, axis=1))
    else:
        srt, perm = torch.sort(right, dim=1)
    pad = torch.full((srt.shape[0], 1), _BIG, dtype=srt.dtype, device=srt.device)
    return torch.cat([-pad, srt, pad], dim=1), perm


def _gap(srt: torch.Tensor, need: torch.Tensor) -> torch.Tensor:
    """Distance from each ``need`` [b, k] to its nearest entry of the padded sorted rows ``srt`` [b, r+2]."""
    pos = torch.searchsorted(srt, need.contiguous())  # in 1..r+1 thanks to the sentinels
    below = need - srt.gather(1, pos - 1)  # >= 0
    above = srt.gather(1, pos) - need  # > 0 (inf for excluded sums)
    return torch.minimum(below, above)


def _recover(srt: torch.Tensor, perm: torch.Tensor, need1: torch.Tensor) -> torch.Tensor:
    """Index (into the unsorted right sums) of the nearest right sum to ``need1`` [b, 1]."""
    pos = torch.searchsorted(srt, need1.contiguous())
    below = need1 - srt.gather(1, pos - 1)
    above = srt.gather(1, pos) - need1
    j = torch.where(above < below, pos, pos - 1)[:, 0] - 1  # back to unpadded indices
    j = j.clamp(0, perm.shape[1] - 1)
    return perm.gather(1, j[:, None])[:, 0]


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


@register_solver("milp", max_n=64)
def _milp(v, t, p, max_size, time_limit: float = 60.0, scale: float = 1e4):
    """Mixed-integer LP per instance with ``scipy.optimize.milp`` (HiGHS).

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
