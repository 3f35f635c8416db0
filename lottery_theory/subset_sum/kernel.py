r"""Compiled exact meet-in-the-middle kernel (numba), one instance per thread at a time.

Per instance (docs/theory.md, "Exact subset sum"): the ``m`` present items are split into halves of
``h1 = ceil(m/2)`` and ``h2`` items. The sorted subset sums of a half are built **by merging**: after item
``b`` the sorted list is ``merge(S, S + v_b)``, so ``2^h`` sums cost ``2^h`` merge steps and no sort. Then

* ``min_error`` without a size cap: one two-pointer scan of the sorted left sums against the sorted right
  sums (``2^h1 + 2^h2`` steps) finds the nearest pair to the target (Horowitz & Sahni 1974);
* with a size cap ``M`` or ``objective="fewest"``: the same merges keep one sorted list per subset size
  (``S_c <- merge(S_c, S_{c-1} + v_b)``); pairs of sizes ``(a, c)`` are scanned in order of ``a + c``.
  ``fewest`` stops at the first total size with a pair within ``tol`` (taking that size's most accurate pair);
  rows with no such pair get the minimum-error pair over all allowed sizes, as the reference does. Without a
  size cap, rows where ``tol`` is below the nearest-pair error expected for their items (``_likely_missed``)
  run the plain scan first: when even the nearest pair misses ``tol`` that pair is the answer and the per-size
  lists are never built, so such precision-bound rows cost what ``min_error`` costs (3.9x faster at 20 items;
  97% of LeNet-300-100's sums at k = 128). The guess only picks the order; both orders are exact.

Memory per thread is ``O(2^h1)`` (two ping-pong buffers of sums and bit masks per half); nothing else
grows with the batch. Threads take chunks of instances dynamically, so a core shared with another process
slows only its own chunks. Exactness against brute force is tested (tests/test_subset_sum_kernel.py).
"""
from __future__ import annotations

import math
import os

import numpy as np

try:  # the kernel is optional: without numba, solve(method="mitm") uses the batched torch path
    import numba
    from numba import njit
    AVAILABLE = os.environ.get("LOTTERY_THEORY_NO_NUMBA", "") == ""
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None
    AVAILABLE = False

MAX_N = 44  # 2^22 sums per half: 2 x 64 MiB of buffers per half and thread

if numba is not None:
    @njit(cache=True, nogil=True, inline="always")
    def _take_low(a, i, d, j, bit, masks, tmp_s, tmp_m, out):  # pragma: no cover - compiled
        """Front merge step: write the smaller of ``a`` (old list, index ``i``) and ``d`` (shifted list, index
        ``j``) at ``out``; ties take ``a`` (stable). Returns the advanced ``(i, j)``."""
        if a <= d:
            tmp_s[out] = a
            tmp_m[out] = masks[i]
            return i + 1, j
        tmp_s[out] = d
        tmp_m[out] = masks[j] | bit
        return i, j + 1

    @njit(cache=True, nogil=True, inline="always")
    def _take_high(a, i2, d, j2, bit, masks, tmp_s, tmp_m, out):  # pragma: no cover - compiled
        """Back merge step: write the larger of ``a`` and ``d`` at ``out`` (ties take ``d``, which sorts after
        ``a`` in a stable merge). Returns the retreated ``(i2, j2)``."""
        if a > d:
            tmp_s[out] = a
            tmp_m[out] = masks[i2]
            return i2 - 1, j2
        tmp_s[out] = d
        tmp_m[out] = masks[j2] | bit
        return i2, j2 - 1

    @njit(cache=True, nogil=True)
    def _sorted_sums(vals, sums, masks, tmp_s, tmp_m):  # pragma: no cover - compiled
        """Sorted subset sums of ``vals`` (with their bit masks) by repeated merging; returns (sums, masks).
        Each merge runs from both ends at once (smallest and largest outputs): two independent chains of
        hard-to-predict comparisons instead of one, 1.6x faster here. Ties: ``S`` before ``S + v`` (stable)."""
        sums[0] = 0.0
        masks[0] = 0
        size = 1
        for b in range(vals.shape[0]):
            v = vals[b]
            bit = np.int64(1) << b
            i = 0
            j = 0
            i2 = size - 1
            j2 = size - 1
            top = 2 * size - 1
            for o in range(size):  # step o: i + j = o < size and i2 + j2 = 2 size - 2 - o, so all reads are live
                i, j = _take_low(sums[i], i, sums[j] + v, j, bit, masks, tmp_s, tmp_m, o)
                i2, j2 = _take_high(sums[i2], i2, sums[j2] + v, j2, bit, masks, tmp_s, tmp_m, top - o)
            size *= 2
            sums, tmp_s = tmp_s, sums
            masks, tmp_m = tmp_m, masks
        return sums, masks

    @njit(cache=True, nogil=True)
    def _sorted_by_size(vals, sums, masks, tmp_s, tmp_m, off, toff, binom):  # pragma: no cover - compiled
        """Per-size sorted subset sums: list ``c`` is ``sums[off[c]:off[c+1]]``; returns (sums, masks, off)."""
        h = vals.shape[0]
        sums[0] = 0.0
        masks[0] = 0
        off[0] = 0
        off[1] = 1
        for b in range(h):  # lists of the first b items -> first b + 1 items
            v = vals[b]
            bit = np.int64(1) << b
            toff[0] = 0
            for c in range(b + 2):
                toff[c + 1] = toff[c] + binom[b + 1, c]
            for c in range(b + 2):  # merge old list c and old list c - 1 (+ v), from both ends
                o = toff[c]
                top = toff[c + 1] - 1
                i0, iend = (off[c], off[c + 1]) if c <= b else (0, 0)
                j0, jend = (off[c - 1], off[c]) if c >= 1 else (0, 0)
                i, j, i2, j2 = i0, j0, iend - 1, jend - 1
                total = (iend - i0) + (jend - j0)
                for q in range((total + 1) // 2):  # front step q and back step q, interleaved
                    a = sums[i] if i < iend else math.inf
                    d = sums[j] + v if j < jend else math.inf
                    i, j = _take_low(a, i, d, j, bit, masks, tmp_s, tmp_m, o + q)
                    if q < total // 2:
                        a = sums[i2] if i2 >= i0 else -math.inf
                        d = sums[j2] + v if j2 >= j0 else -math.inf
                        i2, j2 = _take_high(a, i2, d, j2, bit, masks, tmp_s, tmp_m, top - q)
            sums, tmp_s = tmp_s, sums
            masks, tmp_m = tmp_m, masks
            off, toff = toff, off
        return sums, masks, off

    @njit(cache=True, nogil=True, inline="always")
    def _closer(s, i, j, best, bi, bj):  # pragma: no cover - compiled
        """``(|s|, i, j)`` if the pair ``(i, j)`` with gap ``s`` is strictly nearer than ``best``, else unchanged."""
        e = abs(s)
        if e < best:
            return e, i, j
        return best, bi, bj

    @njit(cache=True, nogil=True)
    def _nearest_pair(L, l0, l1, R, r0, r1, z):  # pragma: no cover - compiled
        """Pair of sorted ``L[l0:l1]`` and ``R[r0:r1]`` with sum nearest ``z``: two two-pointer walks that shrink
        the candidate rectangle rows ``[i, i2]`` x columns ``[j2, j]`` from opposite corners. Walk 1 drops row
        ``i`` when ``L[i] + R[j] < z`` (every ``j' <= j`` is further) else column ``j``; walk 2 drops row ``i2``
        when the sum exceeds ``z``, else column ``j2``. Two independent chains of branches, as in the merge."""
        best = math.inf
        bi = -1
        bj = -1
        i = l0
        j = r1 - 1
        i2 = l1 - 1
        j2 = r0
        while i <= i2 and j2 <= j:
            s = L[i] + R[j] - z
            best, bi, bj = _closer(s, i, j, best, bi, bj)
            if s < 0:
                i += 1
            else:
                j -= 1
            s2 = L[i2] + R[j2] - z
            best, bi, bj = _closer(s2, i2, j2, best, bi, bj)
            if s2 > 0:
                i2 -= 1
            else:
                j2 += 1
        return best, bi, bj

    @njit(cache=True, nogil=True)
    def _likely_missed(vals, z, tol):  # pragma: no cover - compiled
        """Whether ``tol`` is below the nearest-pair error expected for these items: the 2^m subset sums spread
        like a normal law of mean sum(v)/2 and variance sum(v^2)/4, so about 2^m pdf(z) sums lie per unit near
        ``z`` and the nearest is about 1 / (2 2^m pdf(z)) away. Only chooses the faster order; both are exact."""
        mean = 0.0
        var = 0.0
        for q in range(vals.shape[0]):
            mean += 0.5 * vals[q]
            var += 0.25 * vals[q] * vals[q]
        if var <= 0.0:
            return False
        dens = math.exp(-0.5 * (z - mean) ** 2 / var) / math.sqrt(2.0 * math.pi * var) * 2.0 ** vals.shape[0]
        return 2.0 * tol * dens < 1.0

    @njit(cache=True, nogil=True)
    def _one(vals, z, cap, tol, fewest, bufs, offs, binom):  # pragma: no cover - compiled
        """Solve one compacted instance; returns (left mask, right mask, left size h1)."""
        m = vals.shape[0]
        h1 = (m + 1) // 2
        h2 = m - h1
        ls, lm, lt, ltm, rs, rm, rt, rtm = bufs
        if cap < 0 and (not fewest or _likely_missed(vals, z, tol)):  # plain scan (fewest: nearest pair first)
            L, LM = _sorted_sums(vals[:h1], ls, lm, lt, ltm)
            R, RM = _sorted_sums(vals[h1:], rs, rm, rt, rtm)
            e, i, j = _nearest_pair(L, 0, 1 << h1, R, 0, 1 << h2, z)
            if not fewest or e > tol:  # none is: fewest's answer is the minimum-error subset, found already
                return LM[i], RM[j], h1
        lo, lto, ro, rto = offs
        L, LM, lof = _sorted_by_size(vals[:h1], ls, lm, lt, ltm, lo, lto, binom)
        R, RM, rof = _sorted_by_size(vals[h1:], rs, rm, rt, rtm, ro, rto, binom)
        top = m if cap < 0 else min(cap, m)
        near = math.inf
        ni = 0
        nj = 0
        for k in range(top + 1):
            kbest = math.inf
            ki = 0
            kj = 0
            for a in range(max(0, k - h2), min(k, h1) + 1):
                l0, l1, r0, r1 = lof[a], lof[a + 1], rof[k - a], rof[k - a + 1]
                # skip a pair of lists whose whole sum range is further from z than the best so far (a skipped
                # pair cannot be feasible either: near > tol whenever the search is still running)
                if max(L[l0] + R[r0] - z, z - L[l1 - 1] - R[r1 - 1]) >= min(kbest, near):
                    continue
                e, i, j = _nearest_pair(L, l0, l1, R, r0, r1, z)
                if e < kbest:
                    kbest = e
                    ki = i
                    kj = j
            if kbest < near:
                near = kbest
                ni = ki
                nj = kj
            if fewest and kbest <= tol:
                return LM[ki], RM[kj], h1
        return LM[ni], RM[nj], h1

    @njit(cache=True, nogil=True)
    def _binomials(n):  # pragma: no cover - compiled
        b = np.zeros((n + 2, n + 2), dtype=np.int64)
        for i in range(n + 2):
            b[i, 0] = 1
            for c in range(1, i + 1):
                b[i, c] = b[i - 1, c - 1] + b[i - 1, c]
        return b

    @njit(cache=True, nogil=True)
    def _solve_range(v, t, p, cap, tol, fewest, lo, hi, hmax, binom, out):  # pragma: no cover - compiled
        """Instances ``lo:hi`` into ``out``; the GIL is released, so threads run ranges side by side."""
        n = v.shape[1]
        size = (1 << hmax) + 1
        bufs = (np.empty(size), np.empty(size, np.int64), np.empty(size), np.empty(size, np.int64),
                np.empty(size), np.empty(size, np.int64), np.empty(size), np.empty(size, np.int64))
        offs = (np.zeros(hmax + 2, np.int64), np.zeros(hmax + 2, np.int64),
                np.zeros(hmax + 2, np.int64), np.zeros(hmax + 2, np.int64))
        vals = np.empty(n)
        idx = np.empty(n, np.int64)
        for b in range(lo, hi):
            m = 0
            for q in range(n):
                if p[b, q]:
                    vals[m] = v[b, q]
                    idx[m] = q
                    m += 1
            lmask, rmask, h1 = _one(vals[:m], t[b], cap, tol, fewest, bufs, offs, binom)
            for q in range(m):
                hit = (lmask >> q) & 1 if q < h1 else (rmask >> (q - h1)) & 1
                if hit:
                    out[b, idx[q]] = True


def threads() -> int:
    """Worker threads of the kernel: ``LOTTERY_THEORY_THREADS`` if set, else twice the cores this process may
    use. Idle workers block (they never spin), so extra threads cost nothing on a quiet machine (n = 20: 108k
    vs 106k instances/s with 4 and 2 threads on 2 cores), while on a shared machine, where the scheduler
    shares cores per thread, they keep the kernel's share (88k vs 61k with one core busy; benchmarks/)."""
    env = os.environ.get("LOTTERY_THEORY_THREADS", "")
    if env:
        if not (env.isascii() and env.isdigit()) or int(env) < 1:
            raise ValueError(f"LOTTERY_THEORY_THREADS must be a positive integer, got {env!r}")
        return int(env)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 * cores


def solve_batch(v: np.ndarray, t: np.ndarray, p: np.ndarray, max_size: int | None, tol: float | None = None,
                n_threads: int | None = None) -> np.ndarray:
    """Selections ``[B, n]`` (bool) for validated float64 ``v`` [B, n], ``t`` [B], bool ``p`` [B, n]: the
    minimum-error subset (``tol=None``) or the fewest-items subset within ``tol`` (see the module docstring).

    Scheduling is dynamic: the batch is cut into about 16 chunks per thread and idle threads take the next
    chunk, so a core shared with another process slows only the chunks it runs (a static split would make
    every call wait for the slowest core). Threads never spin while idle."""
    if not AVAILABLE:
        raise RuntimeError("the compiled kernel needs numba (pip install numba)")
    v = np.ascontiguousarray(v, dtype=np.float64)
    t = np.ascontiguousarray(t, dtype=np.float64)
    p = np.ascontiguousarray(p, dtype=np.bool_)
    B = v.shape[0]
    out = np.zeros(v.shape, dtype=np.bool_)
    if B == 0:
        return out
    hmax = (int(p.sum(axis=1).max()) + 1) // 2
    binom = _binomials(hmax)
    args = (-1 if max_size is None else int(max_size), math.inf if tol is None else float(tol), tol is not None)
    workers = threads() if n_threads is None else int(n_threads)
    chunk = max(8, min(2048, -(-B // (16 * workers))))
    if workers == 1 or B <= chunk:
        _solve_range(v, t, p, *args, 0, B, hmax, binom, out)
        return out
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="subset-sum") as pool:
        jobs = [pool.submit(_solve_range, v, t, p, *args, lo, min(B, lo + chunk), hmax, binom, out)
                for lo in range(0, B, chunk)]
        for job in jobs:
            job.result()
    return out
