"""The batched torch meet-in-the-middle path: many instances per tensor operation. Used on CUDA, without
numba, or with ``solve(..., batched=True)``; the compiled kernel (:mod:`.kernel`) is the CPU default."""
from __future__ import annotations

import math

import numpy as np
import torch
from tqdm import tqdm


def _bits(h: int) -> np.ndarray:
    """[2^h, h] matrix of the binary digits of 0..2^h-1."""
    return ((np.arange(2 ** h)[:, None] >> np.arange(h)[None, :]) & 1).astype(bool)


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
