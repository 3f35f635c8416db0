r"""Strong-ticket constructions inside ER sources: 2L (Pensia et al. 2020; Malach et al. 2020) and
L+1 (Burkholz 2022), with the ER mask entering as the presence of paths.

**2L layout** (MLP and conv targets). Each target layer :math:`W \in R^{n\times m}` (a conv layer
is read through its ``[c_out, c_in k_h k_w]`` view) becomes two source layers:

* block layer ``A`` with :math:`(m + [\text{bias}])\,k` units (conv: channels, with the target's
  kernel, stride and padding). Each of the first :math:`m k` units serves one input ``j`` and keeps only
  the edge ``j -> u`` (weight :math:`a_u`), so it outputs :math:`\mathrm{relu}(a_u x_j)`. *Adaptive*
  layout (default): ``j`` is one of the unit's surviving edges, balanced over inputs; *fixed* layout:
  ``j = u // k``. The last ``k`` units keep only their own bias :math:`c_u` and output the constant
  :math:`\mathrm{relu}(c_u)`;
* output layer ``B`` (conv: 1x1) with the target's ``n`` units and weights :math:`b_{iu}`; its
  own biases are pruned.

For input :math:`x_j \ge 0` only units with :math:`a_u > 0` are active, for :math:`x_j < 0` only
those with :math:`a_u < 0`. So :math:`w_{ij}` is realised twice, by the subset sums
:math:`s^+_{ij} = \sum_{u \in S^+} a_u b_{iu}` (units with :math:`a_u > 0`) and
:math:`s^-_{ij}` (units with :math:`a_u < 0`); the block computes :math:`s^{\pm}_{ij} x_j`. After a
ReLU the inputs are non-negative and only :math:`s^+` is needed. The bias is
:math:`\sum_{u \in S^b} \mathrm{relu}(c_u) b_{iu}`. **ER mask:** item ``u`` of instance ``(i, j)``
is present iff ``A.mask[u, j]`` and ``B.mask[i, u]`` are both kept (a path needs both edges) and
:math:`a_u` has the right sign; bias items need ``B.mask[i, u]`` and :math:`c_u > 0`. In the adaptive
layout ``A.mask[u, j]`` holds by construction, so only layer B's edge is a coin flip (docs/theory.md).

**L+1 layout** (MLP targets). Source layer 1 is the block layer of the first target layer (as
above). Source layer :math:`l+1` holds :math:`\rho_l` *copies* of every neuron of target layer
``l`` plus :math:`k^b` constant units (for the next bias). A copy ``q`` of neuron ``i`` of layer
:math:`l \ge 2` realises :math:`w_{ij}` as a subset sum of its incoming weights :math:`c_{qm}` from
the copies ``m`` of ``j`` (all of which output :math:`\approx h_j \ge 0`); layer 1's copies use the
block products as in 2L. **ER mask:** the edge ``m -> q`` must be kept. The output layer has one
copy per neuron. Depth L+1 instead of 2L.

Every subset-sum instance of a layer goes to the solver in one batch. Items per instance are
capped at ``max_items`` (evenly spaced order statistics of the present values are kept), which
bounds the solver's time; the resulting errors are reported, not hidden. The certified error uses the solver's *actual*
per-weight errors (:func:`lottery_theory.bounds.composition_bound`).
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .._validation import check_positive_int, lookup
from ..bounds.certificate import composition_certificate
from ..bounds.core import DEFAULT_C, _w_2l, l1_plan, per_weight_eps
from ..nets.masked import MaskedConv2d, MaskedLinear, masked_layers
from ..sparsity import er_mask, resolve_densities
from ..subset_sum import solve

PASSTHROUGH = (nn.ReLU, nn.Flatten, nn.MaxPool2d, nn.AvgPool2d, nn.Identity)


@dataclass
class Ticket:
    """A strong ticket: the ER ``source``, the pruned ``network`` (same module names) and its errors."""
    source: nn.Sequential
    network: nn.Sequential
    target: nn.Module
    construction: str
    certified_error: float
    eps: float
    eps_weight: float
    failures: int
    n_instances: int
    instance_errors: np.ndarray
    source_params: int
    kept_params: int
    target_params: int
    timings: dict = field(default_factory=dict)
    block_sizes: list = field(default_factory=list)
    densities: list = field(default_factory=list)
    input_shape: tuple = ()
    layout: dict = field(default_factory=dict)

    @property
    def kept_ratio(self) -> float:
        """Kept ticket parameters / target parameters."""
        return self.kept_params / self.target_params

    @torch.no_grad()
    def measure_error(self, x: torch.Tensor, batch_size: int = 500) -> dict:
        """Run **the ticket network** and the target on ``x`` (in batches); max and mean |ticket(x) - target(x)|."""
        dev = next(self.network.parameters()).device
        x = torch.as_tensor(x, dtype=torch.float32)
        if not torch.all(torch.isfinite(x)):
            raise ValueError("x contains NaN or inf")
        gaps = []
        for s in range(0, x.shape[0], batch_size):
            xb = x[s:s + batch_size].to(dev)
            gaps.append((self.network(xb).double() - self.target.to(dev)(xb).double()).abs().cpu())
        gap = torch.cat(gaps)
        return {"max": float(gap.max()), "mean": float(gap.mean()), "n": int(x.shape[0])}

    def realise(self) -> list:
        """What the rebuilt network realises per target layer, read from its masked weights
        (:class:`lottery_theory.bounds.RealisedLayer`, one per target Linear/Conv2d)."""
        from .bracket import realise_block, realise_merge

        if self.construction == "2L":
            return [realise_block(self.network[a], self.network[b]) for a, b in self.layout["pairs"]]
        tl = [m for m in self.network if isinstance(m, MaskedLinear)]
        outs, rho = self.layout["outs"], self.layout["rho"]
        L = len(outs)
        R0 = rho[0] if L > 1 else 1
        first = realise_block(tl[0], tl[1])
        n = outs[0] * R0
        out = [type(first)(first.s_pos[:n], first.s_neg[:n], first.bias[:n], np.repeat(np.arange(outs[0]), R0))]
        for l in range(1, L):
            Rq = rho[l] if l < L - 1 else 1
            r_in = rho[l - 1]
            prev = tl[l]
            n_prev = prev.weight.shape[0]
            copy_of = np.full(n_prev, -1)
            copy_of[: outs[l - 1] * r_in] = np.repeat(np.arange(outs[l - 1]), r_in)
            pb = prev.bias.detach().double() * (prev.bias_mask if prev.bias_mask is not None else 1)
            fan = (prev.mask != 0).sum(1)
            r = realise_merge(tl[l + 1], copy_of, outs[l - 1], pb, fan, np.repeat(np.arange(outs[l]), Rq))
            m = outs[l] * Rq
            out.append(type(r)(r.s_pos[:m], r.s_neg[:m], r.bias[:m], r.rows, r.lip[:m]))
        return out

    def box_symmetric(self, lo, hi) -> bool:
        """Is ``(lo, hi)`` the box ``[-box, box]`` the construction certified with ``certified_error``?"""
        b = self.layout.get("box")
        return b is not None and np.all(np.asarray(lo) == -b) and np.all(np.asarray(hi) == b)

    def sup_error(self, box=(-1.0, 1.0), *, generator: torch.Generator | None = None, restarts: int = 16,
                  steps: int = 100, samples: int = 2000):
        """Bracket ``[lower, upper]`` of :math:`\\sup_{x \\in box} |ticket(x) - target(x)|` with the maximiser
        ``argmax`` (:func:`lottery_theory.tickets.bracket.sup_error`)."""
        from .bracket import sup_error

        return sup_error(self, box, generator=generator, restarts=restarts, steps=steps, samples=samples)

    def summary(self) -> dict:
        return dict(construction=self.construction, certified_error=self.certified_error, eps=self.eps,
                    eps_weight=self.eps_weight, failures=self.failures, n_instances=self.n_instances,
                    source_params=self.source_params, kept_params=self.kept_params,
                    target_params=self.target_params, kept_ratio=self.kept_ratio, **self.timings)


# ----------------------------------------------------------------------------- helpers
def _target_layers(target: nn.Module) -> list[nn.Module]:
    mods = list(target.children()) if isinstance(target, nn.Sequential) else None
    if mods is None:
        raise TypeError("target must be an nn.Sequential of Linear/Conv2d, ReLU, Flatten and pooling layers")
    for m in mods:
        if not isinstance(m, (nn.Linear, nn.Conv2d) + PASSTHROUGH):
            raise TypeError(f"construct cannot handle a {type(m).__name__} layer in the target")
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            w = m.weight.detach()
            if not torch.all(torch.isfinite(w)) or (m.bias is not None and not torch.all(torch.isfinite(m.bias))):
                raise ValueError("target contains NaN or inf weights")
            if isinstance(m, nn.Conv2d) and (m.groups != 1 or m.dilation != (1, 1)):
                raise ValueError("conv targets must have groups=1 and dilation=1")
    return mods


def _eff_weight(m: nn.Module) -> tuple[np.ndarray, np.ndarray | None]:
    """Target weight as [n_out, n_in_virtual] (masked layers: weight * mask) and bias."""
    w = m.weight.detach().double()
    b = m.bias.detach().double() if m.bias is not None else None
    if isinstance(m, (MaskedLinear, MaskedConv2d)):
        w = w * m.mask
        if b is not None and m.bias_mask is not None:
            b = b * m.bias_mask
    return w.reshape(w.shape[0], -1).cpu().numpy(), (b.cpu().numpy() if b is not None else None)


def _uniform_(t: torch.Tensor, g: torch.Generator | None) -> None:
    with torch.no_grad():
        t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float32) * 2 - 1)


def _new_like(kind: type, n_in: int, n_out: int, ref: nn.Module | None, one_by_one: bool = False) -> nn.Module:
    if kind is nn.Conv2d:
        if one_by_one:
            return MaskedConv2d(n_in, n_out, 1, bias=True)
        return MaskedConv2d(n_in, n_out, ref.kernel_size, stride=ref.stride, padding=ref.padding, bias=True)
    return MaskedLinear(n_in, n_out, bias=True)


def _cap_presence(present: np.ndarray, values: np.ndarray, max_items: int) -> np.ndarray:
    """Keep at most ``max_items`` present items per row: evenly spaced order statistics of the present
    values (both extremes, for range, and the middle, for resolution). Keeping the largest |values|
    instead loses resolution when many items are present; keeping the first ones can miss the range."""
    counts = present.sum(1)
    over = counts > max_items
    if not over.any():
        return present
    rows = np.flatnonzero(over)
    v = np.where(present[rows], values[rows], np.inf)
    order = np.argsort(v, axis=1, kind="stable")
    pos = np.rint(np.linspace(0.0, 1.0, max_items)[None, :] * (counts[rows, None] - 1)).astype(np.int64)
    pick = np.take_along_axis(order, pos, axis=1)
    keep = np.zeros((len(rows), present.shape[1]), dtype=bool)
    np.put_along_axis(keep, pick, True, axis=1)
    out = present.copy()
    out[rows] = keep
    return out


def _stack(parts: list[np.ndarray], fill) -> np.ndarray:
    """Stack [rows_i, width_i] arrays into one batch, padding narrower ones with ``fill``."""
    w = max(p.shape[1] for p in parts)
    return np.concatenate([p if p.shape[1] == w else np.pad(p, ((0, 0), (0, w - p.shape[1])), constant_values=fill)
                           for p in parts])


@dataclass(frozen=True)
class SolverSpec:
    """How the construction solves its subset sums: ``method`` (see :func:`lottery_theory.subset_sum.solve`),
    ``objective`` ("fewest": the smallest subset within the layer's per-weight budget; "min_error") and the
    per-target-layer budgets ``tols``; ``layer`` selects the budget in use."""
    method: str = "mitm"
    objective: str = "fewest"
    tols: tuple = ()
    layer: int = 0

    def at(self, layer: int) -> "SolverSpec":
        return SolverSpec(self.method, self.objective, self.tols, layer)

    def options(self) -> dict:
        return {"objective": "fewest", "tol": float(self.tols[self.layer])} if self.objective == "fewest" else {}


def _solve_rows(values, present, targets, solver: SolverSpec, max_items: int, timer: dict | None = None):
    """Solve one batch (lists of per-part arrays are stacked and padded with absent items);
    present items are compacted to at most ``max_items`` columns first."""
    t0 = time.perf_counter()
    if isinstance(values, list):
        values, present, targets = _stack(values, 0.0), _stack(present, False), np.concatenate(targets)
    present = _cap_presence(present, values, max_items)
    m = int(present.sum(1).max()) if present.size else 0
    order = np.argsort(~present, axis=1, kind="stable")[:, :max(m, 0)]
    pv = np.take_along_axis(present, order, axis=1)
    vv = np.where(pv, np.take_along_axis(values, order, axis=1), 0.0)
    t1 = time.perf_counter()
    res = solve(vv, targets, method=solver.method, present=pv, **solver.options())
    sel = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(sel, order, res.selection, axis=1)
    if timer is not None:
        timer["t_prepare_s"] = timer.get("t_prepare_s", 0.0) + (t1 - t0)
        timer["t_solve_s"] = timer.get("t_solve_s", 0.0) + (time.perf_counter() - t1)
    return sel, res.sums, res.error


# ----------------------------------------------------------------------------- block (2L / first L+1 layer)
def assign_units(mask: np.ndarray, n_units: int, generator: torch.Generator | None) -> np.ndarray:
    """Adaptive layout: give each of the first ``n_units`` block units one input among its surviving edges
    (``mask`` [units, n_in]), balanced: units in a random order each go to the least-loaded input they reach
    (ties by a fixed random priority). Returns unit -> input (-1: no surviving edge). Deterministic given
    ``generator``; uses layer A's mask only, so it is independent of layer B."""
    n_in = mask.shape[1]
    order = torch.randperm(n_units, generator=generator).numpy()
    prio = torch.rand(n_in, generator=generator, dtype=torch.float64).numpy() * 0.5
    load = np.zeros(n_in)
    out = np.full(n_units, -1, dtype=np.int64)
    for u in order:
        cand = np.flatnonzero(mask[u])
        if cand.size:
            j = cand[np.argmin(load[cand] + prio[cand])]
            out[u] = j
            load[j] += 1
    return out


def _slots(assign: np.ndarray, n_in: int) -> np.ndarray:
    """[n_in, K] table of the units serving each input (-1 = empty), K = the largest share."""
    counts = np.bincount(assign[assign >= 0], minlength=n_in)
    K = max(int(counts.max()) if counts.size else 0, 1)
    slots = np.full((n_in, K), -1, dtype=np.int64)
    units = np.flatnonzero(assign >= 0)
    js = assign[units]
    order = np.argsort(js, kind="stable")
    units, js = units[order], js[order]
    pos = np.arange(len(js)) - np.searchsorted(js, js)  # rank of each unit within its input's share
    slots[js, pos] = units
    return slots


def _solve_block(W, b, k, A, wb, mb, signed, solver, max_items, timer=None, assign=None):
    """Subset sums for one block. ``W`` [R, n_in] target rows (the caller repeats rows for L+1 copies);
    ``A`` the block layer (its ``[units, n_in]`` view: weight, mask, bias); ``wb``/``mb`` [R, units] the
    next layer's weight and mask; ``assign`` unit -> input for the first ``n_in k`` units (default: the
    fixed layout ``u // k``). Returns selections [R, n_in, K] over the slots, realised sums and errors."""
    R, n_in = W.shape
    hb = b is not None
    wa = A.weight.detach().reshape(A.weight.shape[0], -1)
    ma = A.mask.reshape(A.mask.shape[0], -1)
    if assign is None:
        assign = np.arange(n_in * k) // k
    slots = _slots(assign, n_in)
    valid = slots >= 0
    su = np.where(valid, slots, 0)
    jj = np.repeat(np.arange(n_in)[:, None], slots.shape[1], axis=1)
    a = np.where(valid, wa[torch.as_tensor(su), torch.as_tensor(jj)].double().numpy(), 0.0)  # a_u per slot
    pa = valid & ma[torch.as_tensor(su), torch.as_tensor(jj)].numpy()
    ca = A.bias.detach().double().numpy()
    B = np.where(valid[None], wb[:, su], 0.0)  # [R, n_in, K]
    MB = valid[None] & mb[:, su]
    K = slots.shape[1]
    vals = a[None] * B
    parts = [("+", pa & (a > 0))] + ([("-", pa & (a < 0))] if signed else [])
    v_list, p_list, t_list = [], [], []
    for _, pres_a in parts:
        v_list.append(vals.reshape(-1, K))
        p_list.append((pres_a[None] & MB).reshape(-1, K))
        t_list.append(W.reshape(-1))
    if hb:
        c = ca[n_in * k:(n_in + 1) * k]
        v_list.append(np.maximum(c, 0)[None] * wb[:, n_in * k:(n_in + 1) * k])
        p_list.append((c > 0)[None] & mb[:, n_in * k:(n_in + 1) * k])
        t_list.append(b)
    sel, sums, err = _solve_rows(v_list, p_list, t_list, solver, max_items, timer)
    nw = R * n_in
    out = {"sel+": sel[:nw, :K].reshape(R, n_in, K), "s+": sums[:nw].reshape(R, n_in),
           "e+": err[:nw].reshape(R, n_in), "slots": slots}
    off = nw
    if signed:
        out.update({"sel-": sel[off:off + nw, :K].reshape(R, n_in, K), "s-": sums[off:off + nw].reshape(R, n_in),
                    "e-": err[off:off + nw].reshape(R, n_in)})
        off += nw
    if hb:
        out.update({"selb": sel[off:, :k], "eb": err[off:]})
    out["all_err"] = err
    return out


def _block_masks(out, n_in, k, hb, units_total, R):
    """Ticket masks for the block layer A ([units, n_in]) and the next layer B ([R, units])."""
    mB = np.zeros((R, units_total), dtype=bool)
    used = out["sel+"] | out.get("sel-", False)
    slots = out["slots"]
    jj, rr = np.nonzero(slots >= 0)
    mB[:, slots[jj, rr]] = used[:, jj, rr]
    if hb:
        mB[:, n_in * k:(n_in + 1) * k] = out["selb"]
    live = mB.any(0)
    mA = np.zeros((units_total, n_in), dtype=bool)
    mA[slots[jj, rr], jj] = live[slots[jj, rr]]
    biasA = np.zeros(units_total, dtype=bool)
    if hb:
        biasA[n_in * k:(n_in + 1) * k] = live[n_in * k:(n_in + 1) * k]
    return mA, mB, biasA


# ----------------------------------------------------------------------------- constructions
def _densities(density, n_layers: int, shapes, ratio: str) -> list[float]:
    if not isinstance(density, (int, float)) and len(density) * 2 == n_layers:  # one per 2L block
        density = [x for d in density for x in (d, d)]
    return resolve_densities(shapes, density, ratio)


def _draw(layers: list[nn.Module], dens: list[float], g: torch.Generator | None) -> None:
    for lay, d in zip(layers, dens):
        _uniform_(lay.weight, g)
        _uniform_(lay.bias, g)
        lay.set_mask(er_mask(tuple(lay.weight.shape), d, generator=g, exact=False))


def _assign(A, n_in, k, assignment, g):
    """Unit -> input for the first ``n_in k`` units of block layer ``A`` (None: fixed layout ``u // k``)."""
    if assignment == "fixed":
        return None
    return assign_units(A.mask.reshape(A.mask.shape[0], -1).numpy(), n_in * k, g)


def _build_2L(mods, k_list, dens_arg, ratio, g, solver, max_items, timer, assignment="fixed"):
    lins = [m for m in mods if isinstance(m, (nn.Linear, nn.Conv2d))]
    L = len(lins)
    src_mods, pairs, specs = [], [], []
    for m in mods:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            li = len(pairs)
            W, b = _eff_weight(m)
            n, n_in = W.shape
            hb = b is not None
            k = k_list[li]
            units = (n_in + hb) * k
            kind = nn.Conv2d if isinstance(m, nn.Conv2d) else nn.Linear
            cin = m.in_channels if kind is nn.Conv2d else n_in
            A = _new_like(kind, cin, units, m)
            Bm = _new_like(kind, units, n, m, one_by_one=True)
            pairs.append((len(src_mods), len(src_mods) + 2))  # positions of A and B in the Sequential
            src_mods += [A, nn.ReLU(), Bm]
            specs.append((W, b, k))
        else:
            src_mods.append(copy.deepcopy(m))
    source = nn.Sequential(*src_mods)
    flat = [source[i] for pr in pairs for i in pr]
    shapes = [tuple(x.weight.shape) for x in flat]
    dens = _densities(dens_arg, 2 * L, shapes, ratio)
    t0 = time.perf_counter()
    _draw(flat, dens, g)
    network = copy.deepcopy(source)
    timer["t_draw_source_s"] = time.perf_counter() - t0
    signed = True  # the block's input can be negative (network input, or no ReLU before it)
    errs, li = [], 0
    big = sum(p.numel() for p in source.parameters()) > 10_000_000
    for m in tqdm(mods, desc="ticket layers", unit="module", leave=False, disable=not big):
        if not isinstance(m, (nn.Linear, nn.Conv2d)):
            if isinstance(m, nn.ReLU):
                signed = False
            continue
        W, b, k = specs[li]
        A, Bm = (source[i] for i in pairs[li])
        n, n_in = W.shape
        hb = b is not None
        wb = Bm.weight.detach().reshape(n, -1).double().numpy()
        mb = Bm.mask.reshape(n, -1).numpy()
        out = _solve_block(W, b, k, A, wb, mb, signed, solver.at(li), max_items, timer,
                           _assign(A, n_in, k, assignment, g))
        mA, mB, biasA = _block_masks(out, n_in, k, hb, A.weight.shape[0], n)
        tA, tB = (network[i] for i in pairs[li])
        tA.set_mask(torch.as_tensor(mA).reshape(tA.weight.shape), torch.as_tensor(biasA))
        tB.set_mask(torch.as_tensor(mB).reshape(tB.weight.shape), torch.zeros(n, dtype=torch.bool))
        errs.append(out["all_err"])
        signed, li = True, li + 1
    return source, network, errs, dens, {"pairs": pairs}


def _build_L1(mods, plan_k, rho, kb, dens_arg, ratio, g, solver, max_items, timer, assignment="fixed"):
    lins = [m for m in mods if isinstance(m, (nn.Linear, nn.Conv2d))]
    if any(isinstance(m, nn.Conv2d) for m in lins) or any(isinstance(m, (nn.Flatten, nn.MaxPool2d, nn.AvgPool2d))
                                                        for m in mods):
        raise ValueError("construction='L+1' supports MLP targets only; use construction='2L' for conv targets")
    relus = [isinstance(mods[i + 1], nn.ReLU) if i + 1 < len(mods) else False
             for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    if relus[:-1] != [True] * (len(lins) - 1):
        raise ValueError("construction='L+1' needs a ReLU after every hidden Linear layer")
    L = len(lins)
    specs = [_eff_weight(m) for m in lins]
    n0 = specs[0][0].shape[1]
    hb0 = specs[0][1] is not None
    widths = [(n0 + hb0) * plan_k]
    for l in range(1, L):
        widths.append(rho[l - 1] * specs[l - 1][0].shape[0] + (kb[l - 1] if specs[l][1] is not None else 0))
    widths.append(specs[-1][0].shape[0])
    layers = [MaskedLinear(n0, widths[0])] + [MaskedLinear(widths[i], widths[i + 1]) for i in range(L)]
    src_mods = []
    for i, lay in enumerate(layers):
        src_mods.append(lay)
        if i < L:
            src_mods.append(nn.ReLU())
    source = nn.Sequential(*src_mods)
    dens = _densities(dens_arg, L + 1, [tuple(x.weight.shape) for x in layers], ratio)
    t0 = time.perf_counter()
    _draw(layers, dens, g)
    network = copy.deepcopy(source)
    timer["t_draw_source_s"] = time.perf_counter() - t0
    tl = [m for m in network if isinstance(m, MaskedLinear)]

    errs = []
    # layer 1: block products into the copies of target layer 1
    W, b = specs[0]
    n1 = W.shape[0]
    R = rho[0] if L > 1 else 1
    Wr, br = np.repeat(W, R, axis=0), (np.repeat(b, R) if b is not None else None)
    A, Bn = layers[0], layers[1]
    rows = n1 * R
    wb, mb = Bn.weight.detach()[:rows].double().numpy(), Bn.mask.numpy()[:rows]
    out = _solve_block(Wr, br, plan_k, A, wb, mb, True, solver.at(0), max_items, timer,
                       _assign(A, n0, plan_k, assignment, g))
    mA, mB, biasA = _block_masks(out, n0, plan_k, br is not None, A.weight.shape[0], rows)
    errs.append(out["all_err"])
    masks_w = [mA, np.zeros(tuple(Bn.weight.shape), dtype=bool)]
    masks_w[1][:rows] = mB
    bias_m = [biasA, np.zeros(Bn.bias.shape[0], dtype=bool)]
    for l in range(1, L):  # target layer l+1 reads the copies of layer l from source layer l+1
        W, b = specs[l]
        n_out, n_in = W.shape
        Rq = rho[l] if l < L - 1 else 1
        r_in = rho[l - 1]
        lay = layers[l + 1]
        wq = lay.weight.detach().double().numpy()[: n_out * Rq]
        mq = lay.mask.numpy()[: n_out * Rq]
        Wr = np.repeat(W, Rq, axis=0)
        vals = wq[:, : n_in * r_in].reshape(-1, r_in)
        pres = mq[:, : n_in * r_in].reshape(-1, r_in)
        v_list, p_list, t_list = [vals], [pres], [Wr.reshape(-1)]
        hb = b is not None
        if hb:
            prev = layers[l]
            cb = prev.bias.detach().double().numpy()[n_in * r_in: n_in * r_in + kb[l - 1]]
            v_list.append(np.maximum(cb, 0)[None] * wq[:, n_in * r_in: n_in * r_in + kb[l - 1]])
            p_list.append((cb > 0)[None] & mq[:, n_in * r_in: n_in * r_in + kb[l - 1]])
            t_list.append(np.repeat(b, Rq))
        sel, sums, err = _solve_rows(v_list, p_list, t_list, solver.at(l), max_items, timer)
        errs.append(err)
        nw = n_out * Rq * n_in
        selw = sel[:nw, :r_in].reshape(n_out * Rq, n_in * r_in)
        mq_t = np.zeros(tuple(lay.weight.shape), dtype=bool)
        mq_t[: n_out * Rq, : n_in * r_in] = selw
        if hb:
            selb = sel[nw:, :kb[l - 1]]
            mq_t[: n_out * Rq, n_in * r_in: n_in * r_in + kb[l - 1]] = selb
            used_bias_units = selb.any(0)
            bias_m[l][n_in * r_in: n_in * r_in + kb[l - 1]] = used_bias_units
        masks_w.append(mq_t)
        bias_m.append(np.zeros(lay.bias.shape[0], dtype=bool))
    # copies that nobody reads still compute; keep their incoming edges (they are part of the copy layer)
    for lay, mw, bm in zip(tl, masks_w, bias_m):
        lay.set_mask(torch.as_tensor(mw), torch.as_tensor(bm))
    return source, network, errs, dens, {"outs": [W.shape[0] for W, _ in specs],
                                                              "rho": list(rho)}


_CONSTRUCTIONS = {"2L": _build_2L, "L+1": _build_L1}


def available_constructions() -> list[str]:
    return sorted(_CONSTRUCTIONS)


def construct(target: nn.Module, *, density: float | Sequence[float], eps: float, delta: float = 0.01,
              construction: str = "2L", width: int | Sequence[int] | None = None,
              width_multiplier: int | Sequence[int] | None = None, ratio: str = "uniform", solver: str = "mitm",
              generator: torch.Generator | None = None, max_items: int = 24, box: float = 1.0,
              input_shape: Sequence[int] | None = None, C: float | None = None,
              assignment: str = "adaptive", objective: str | None = None, budget: str = "assumed") -> Ticket:
    r"""Draw an ER source for ``target`` and build a strong ticket inside it (see the module docstring).

    * ``assignment``: how block-layer units are tied to inputs (2L, and the first layer of L+1).
      ``"adaptive"`` (default): each unit serves one input among its surviving edges of layer A, balanced
      (:func:`assign_units`), so an item is present when its edge into layer B survives (probability
      :math:`p_B/2` with the sign): one ER factor per layer. ``"fixed"``: unit ``u`` serves input ``u // k``
      and needs that one edge, so an item is present with probability :math:`p_A p_B/2`.
    * ``objective``: ``"fewest"`` (default for 2L) picks, per weight, the smallest subset within the layer's
      budget (fewer kept weights); ``"min_error"`` (default for L+1) the most accurate subset. L+1 copy layers
      amplify per-weight errors by the copies' summed weights, which the per-weight budget does not cover, so
      spending the whole budget there loses the certificate.
    * ``budget``: per-weight error budget. ``"assumed"`` (default): :func:`~lottery_theory.bounds.per_weight_eps`,
      which assumes :math:`\|W_l\|_\infty + \|b_l\|_\infty \le 1`; ``"norms"``: spent from the realised
      target's interval bounds and norms (:func:`~lottery_theory.bounds.per_weight_budget`), one per layer.
    * ``density``: ER density (fraction kept) of the source layers: a global scalar (spread by
      ``ratio`` over the source layers) or a per-layer list (2L: one per target layer or per source
      layer; L+1: one per source layer).
    * Width: by default the bound's requirement (:func:`lottery_theory.bounds.required_width`), i.e.
      ``k`` units per input in each block layer. ``width_multiplier`` sets ``k`` directly (2L: units
      per input; L+1: ``k`` of the input block and the copies per neuron); ``width`` sets the block
      layer widths (``(n_in + 1) k``). Too small a width is allowed: failures are reported.
    * ``eps``: target sup error over the box :math:`[-\text{box}, \text{box}]^{n_0}`; each weight aims at
      :func:`~lottery_theory.bounds.per_weight_eps` and ``failures`` counts instances that missed it.

    Weights of the source are U[-1, 1]; masks are Bernoulli (the ER model); everything is drawn from
    ``generator``. Returns a :class:`Ticket`; its errors come from the rebuilt ticket.
    """
    t0 = time.perf_counter()
    timer: dict = {}
    build = lookup(_CONSTRUCTIONS, construction, "construction", "construction")
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and 0 < eps < 1):
        raise ValueError(f"eps must lie in (0, 1), got {eps!r}")
    if not (isinstance(delta, (int, float)) and 0 < delta < 1):
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    check_positive_int(max_items, "max_items")
    if max_items > 44:
        raise ValueError("max_items must be <= 44 (the exact solver's limit)")
    if width is not None and width_multiplier is not None:
        raise ValueError("give width or width_multiplier, not both")
    if assignment not in ("adaptive", "fixed"):
        raise ValueError(f"assignment must be 'adaptive' or 'fixed', got {assignment!r}")
    if objective is None:
        objective = "fewest" if construction == "2L" else "min_error"
    if objective not in ("fewest", "min_error"):
        raise ValueError(f"objective must be 'fewest' or 'min_error', got {objective!r}")
    if budget not in ("assumed", "norms"):
        raise ValueError(f"budget must be 'assumed' or 'norms', got {budget!r}")
    mods = _target_layers(target)
    lins = [m for m in mods if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not lins:
        raise ValueError("target has no Linear or Conv2d layer")
    specs = [_eff_weight(m) for m in lins]
    if input_shape is None:
        if isinstance(lins[0], nn.Conv2d):
            raise ValueError("conv targets need input_shape=(channels, height, width)")
        input_shape = (lins[0].in_features,)
    widths = [specs[0][0].shape[1]] + [W.shape[0] for W, _ in specs]  # virtual widths (conv: c k_h k_w)
    has_bias = any(b is not None for _, b in specs)
    C = DEFAULT_C if C is None else C
    L = len(lins)
    p_bound = density if isinstance(density, (int, float)) else list(density)  # what the bound calculators take
    eps_w = per_weight_eps(widths, eps, has_bias)
    if budget == "norms":
        from ..bounds.certificate import per_weight_budget

        tols = per_weight_budget(target, eps, -float(box), float(box), input_shape)
    else:
        tols = [eps_w] * L
    spec = SolverSpec(solver, objective, tuple(tols))

    def per_layer(x, name):
        vals = [x] * L if isinstance(x, int) else list(x)
        if len(vals) != L:
            raise ValueError(f"{name} needs one entry per target layer ({L}), got {len(vals)}")
        return [check_positive_int(v, name) for v in vals]

    if construction == "2L":
        if width_multiplier is not None:
            ks = per_layer(width_multiplier, "width_multiplier")
        elif width is not None:
            ws = per_layer(width, "width")
            ks = [max(1, w // (W.shape[1] + (b is not None))) for w, (W, b) in zip(ws, specs)]
        else:
            bw = _w_2l(widths, eps, delta, p_bound, C, has_bias, assignment=assignment)
            ks = [bw[2 * l + 1] // (widths[l] + int(has_bias)) for l in range(L)]
        t1 = time.perf_counter()
        source, network, errs, dens, layout = build(mods, ks, density, ratio, generator, spec, max_items,
                                                          timer, assignment)
        blocks = ks
    else:
        if width_multiplier is not None:
            kk = per_layer(width_multiplier, "width_multiplier")
            k1, rho, kb = kk[0], kk[:L - 1], kk[:L - 1]
        elif width is not None:
            raise ValueError("construction='L+1' takes width_multiplier (k, rho), not width")
        else:
            plan = l1_plan(widths, eps, delta, p_bound, C, has_bias, assignment=assignment)
            k1, rho, kb = plan["k"], plan["rho"], plan["kb"]
        t1 = time.perf_counter()
        source, network, errs, dens, layout = build(mods, k1, rho, kb, density, ratio, generator, spec,
                                                          max_items, timer, assignment)
        blocks = [k1] + list(rho)
    t2 = time.perf_counter()
    all_err = np.concatenate([e.ravel() for e in errs])
    n_src = sum(int(l.weight.numel()) + (int(l.bias.numel()) if l.bias is not None else 0)
                for l in masked_layers(source).values())
    kept = sum(int(l.mask.sum()) + (int(l.bias_mask.sum()) if l.bias_mask is not None else 0)
               for l in masked_layers(network).values())
    n_tgt = sum(int((W != 0).sum()) + (int((b != 0).sum()) if b is not None else 0) for W, b in specs)
    ticket = Ticket(source=source, network=network, target=target, construction=construction,
                  certified_error=math.nan, eps=float(eps), eps_weight=min(tols),
                  failures=sum(int((e.ravel() > t).sum()) for e, t in zip(errs, tols)), n_instances=int(all_err.size),
                  instance_errors=all_err,
                  source_params=n_src, kept_params=kept, target_params=n_tgt,
                  timings={"t_plan_s": t1 - t0, **timer,
                           "t_masks_and_bounds_s": (t2 - t1) - sum(timer.values()),
                           "t_total_s": time.perf_counter() - t0},
                  block_sizes=blocks, densities=list(dens), input_shape=tuple(input_shape),
                  layout={**layout, "box": float(box)})
    ticket.certified_error = composition_certificate(target, ticket.realise(), float(box), tuple(input_shape))
    ticket.timings["t_total_s"] = time.perf_counter() - t0
    return ticket
