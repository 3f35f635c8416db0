"""Block code shared by the constructions: target weights, ER draws, subset-sum batches, unit assignment and
the masks of a 2L block (docs/theory.md, "Where the ER mask enters the 2L construction")."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from ..nets.masked import MaskedConv2d, MaskedLinear
from ..sparsity import er_mask, resolve_densities
from .distribute import solve_on


def masked_weight(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Effective weight of a (masked) layer as float64 ``[out, in_virtual]`` (weight * mask; a conv read through
    its ``[c_out, c_in k_h k_w]`` view) and its effective bias (zeros when the layer has none)."""
    w = m.weight.detach().double()
    b = m.bias.detach().double() if m.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if isinstance(m, (MaskedLinear, MaskedConv2d)):
        w = w * m.mask
        if m.bias_mask is not None:
            b = b * m.bias_mask
    return w.reshape(w.shape[0], -1).cpu(), b.cpu()


def target_weight(m: nn.Module) -> tuple[np.ndarray, np.ndarray | None]:
    """Target weight as numpy [n_out, n_in_virtual] and bias (None when the layer has none)."""
    w, b = masked_weight(m)
    return w.numpy(), (b.numpy() if m.bias is not None else None)


def _uniform_(t: torch.Tensor, g: torch.Generator | None) -> None:
    with torch.no_grad():
        t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float32) * 2 - 1)


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
    executor: object = field(default=None, compare=False)  # an opened executor (see .distribute), None: here
    gains: tuple = ()  # per target layer, the gain |||W_l|||_inf the budget assumed for it (L+1 rescales by the
    #                    realised copy-layer gains; docs/theory.md "L+1 budget")

    def at(self, layer: int) -> "SolverSpec":
        return replace(self, layer=layer)

    def with_tols(self, tols) -> "SolverSpec":
        return replace(self, tols=tuple(float(t) for t in tols))

    def options(self) -> dict:
        return {"objective": "fewest", "tol": float(self.tols[self.layer])} if self.objective == "fewest" else {}


def solve_rows(values, present, targets, solver: SolverSpec, ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve one batch of subset-sum instances, one per row: ``values``/``present`` [rows, items] (or lists of such
    arrays, stacked and padded with absent items) and ``targets`` [rows]. Present items are capped at
    ``ctx.max_items`` per row first (:func:`_cap_presence`); ``ctx.timings`` gains the preparation and solving
    seconds. Returns the selections [rows, items], the realised sums and the errors |sum - target|."""
    t0 = time.perf_counter()
    if isinstance(values, list):
        values, present, targets = _stack(values, 0.0), _stack(present, False), np.concatenate(targets)
    present = _cap_presence(present, values, ctx.max_items)
    m = int(present.sum(1).max()) if present.size else 0
    order = np.argsort(~present, axis=1, kind="stable")[:, :max(m, 0)]
    pv = np.take_along_axis(present, order, axis=1)
    vv = np.where(pv, np.take_along_axis(values, order, axis=1), 0.0)
    t1 = time.perf_counter()
    sel_c, sums, err = solve_on(solver.executor, vv, targets, pv, solver.method, solver.options())
    sel = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(sel, order, sel_c, axis=1)
    timer = ctx.timings
    timer["t_prepare_s"] = timer.get("t_prepare_s", 0.0) + (t1 - t0)
    timer["t_solve_s"] = timer.get("t_solve_s", 0.0) + (time.perf_counter() - t1)
    return sel, sums, err


# ----------------------------------------------------------------------------- block (2L / first L+1 layer)
def assign_units(mask: np.ndarray, n_units: int, generator: torch.Generator | None) -> np.ndarray:
    """Greedy layout (``assignment="greedy"``): give each of the first ``n_units`` block units one input among its
    surviving edges (``mask`` [units, n_in]), balanced: units in a random order each go to the least-loaded input they reach
    (ties by a fixed random priority). Returns unit -> input (-1: no surviving edge). Deterministic given
    ``generator``; uses layer A's mask only, so it is independent of layer B."""
    n_in = mask.shape[1]
    order = torch.randperm(n_units, generator=generator).numpy()
    prio = torch.rand(n_in, generator=generator, dtype=torch.float64).numpy() * 0.5
    return _least_loaded(mask, np.full(n_units, -1, dtype=np.int64), np.zeros(n_in), order, prio)


def _least_loaded_py(mask: np.ndarray, out: np.ndarray, load: np.ndarray, order: np.ndarray,
                     prio: np.ndarray) -> np.ndarray:
    """Give each still unassigned unit (``out == -1``), in ``order``, to the least-loaded input it reaches (ties
    by ``prio``, then by the smaller input index); updates and returns ``out``."""
    for u in order:
        if out[u] < 0:
            cand = np.flatnonzero(mask[u])
            if cand.size:
                j = cand[np.argmin(load[cand] + prio[cand])]
                out[u] = j
                load[j] += 1
    return out


try:  # compiled: the same comparisons in the same order (first minimum of load + prio), about 30x faster
    from numba import njit

    _least_loaded_jit = njit(cache=True, nogil=True)(_least_loaded_py)
except ImportError:  # pragma: no cover - numba missing: the Python loop
    _least_loaded_jit = None


def _least_loaded(mask: np.ndarray, out: np.ndarray, load: np.ndarray, order: np.ndarray,
                  prio: np.ndarray) -> np.ndarray:
    """:func:`_least_loaded_py`, compiled when numba is present."""
    if _least_loaded_jit is None:
        return _least_loaded_py(mask, out, load, order, prio)
    return _least_loaded_jit(np.ascontiguousarray(mask, dtype=np.bool_), out, np.asarray(load, dtype=np.float64),
                             np.ascontiguousarray(order, dtype=np.int64), np.asarray(prio, dtype=np.float64))


def matched_quota(mask: np.ndarray, quota: int) -> np.ndarray | None:
    """A unit -> input assignment giving every input at least ``quota`` units among those whose surviving edges
    reach it (``mask`` [units, n_in]), or None when none exists (Hall's condition fails). Max-flow: source -> unit
    (capacity 1), unit -> input along surviving edges (1), input -> sink (``quota``); every input reaches its
    quota iff the flow is ``n_in * quota`` (docs/theory.md, eq. (AD-2))."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    n_units, n_in = mask.shape
    uu, jj = np.nonzero(mask)
    S, T = 0, 1 + n_units + n_in
    rows = np.concatenate([np.zeros(n_units, np.int64), 1 + uu, 1 + n_units + np.arange(n_in)])
    cols = np.concatenate([1 + np.arange(n_units), 1 + n_units + jj, np.full(n_in, T)])
    caps = np.concatenate([np.ones(n_units + uu.size, np.int32), np.full(n_in, quota, np.int32)])
    g = csr_matrix((caps, (rows, cols)), shape=(T + 1, T + 1))
    res = maximum_flow(g, S, T)
    if res.flow_value < n_in * quota:
        return None
    flow = res.flow.tocsr()
    out = np.full(n_units, -1, dtype=np.int64)
    sub = flow[1:1 + n_units, 1 + n_units:1 + n_units + n_in].tocoo()
    used = sub.data > 0
    out[sub.row[used]] = sub.col[used]
    return out


def assign_units_matched(mask: np.ndarray, n_units: int, generator: torch.Generator | None) -> np.ndarray:
    """Matched layout: the largest quota q that a bipartite matching can give every input (:func:`matched_quota`,
    bisection on q), then the remaining units to the least-loaded input they reach, in a random order. Every
    input gets >= q units, q the max-min share, so the proven width (AD-2) guarantees q >= n_ss whenever Hall's
    condition holds. Uses layer A's mask (and ``generator``) only, so it is independent of layer B.

    Shortcut: no quota exceeds ``hi = min(min_j reach_j, units reaching any input // n_in)``. The greedy
    least-loaded assignment is drawn first (:func:`assign_units`, the same draws); when it gives every input ``hi``
    units it is returned as it is, and when a few inputs fall short, single moves of a unit from an input above
    ``hi`` to one below it that the unit reaches (:func:`_fill_deficits`) usually reach ``hi``; either attains
    the largest quota without max-flow (wide, dense blocks: LeNet's 784 inputs)."""
    mask = np.asarray(mask[:n_units], dtype=bool)
    n_in = mask.shape[1]
    reach = mask.sum(0)
    lo, hi, best = 0, int(min(reach.min(), mask.any(1).sum() // max(n_in, 1))), np.full(n_units, -1, np.int64)
    order = torch.randperm(n_units, generator=generator).numpy()
    prio = torch.rand(n_in, generator=generator, dtype=torch.float64).numpy() * 0.5
    greedy = _least_loaded(mask, best.copy(), np.zeros(n_in), order, prio)
    filled = _fill_deficits(mask, greedy, hi, order)
    if filled is not None:
        return filled
    while lo < hi:  # largest feasible quota in [lo, hi]
        q = (lo + hi + 1) // 2
        got = matched_quota(mask, q)
        if got is None:
            hi = q - 1
        else:
            lo, best = q, got
    load = np.bincount(best[best >= 0], minlength=n_in).astype(float)
    return _least_loaded(mask, best, load, order, prio)


def _fill_deficits(mask: np.ndarray, asg: np.ndarray, quota: int, order: np.ndarray) -> np.ndarray | None:
    """``asg`` with every input given >= ``quota`` units by single moves: a unit serving an input with more than
    ``quota`` units moves to a short input it reaches (the latest-placed such unit in ``order``); None when a short
    input has no such unit (max-flow then decides). ``asg`` itself when no input is short."""
    n_in = mask.shape[1]
    load = np.bincount(asg[asg >= 0], minlength=n_in)
    short = np.flatnonzero(load < quota)
    if short.size == 0:
        return asg
    asg = asg.copy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    for j in short:
        while load[j] < quota:
            cand = np.flatnonzero(mask[:, j] & (asg >= 0))
            cand = cand[load[asg[cand]] > quota]
            if cand.size == 0:
                return None
            u = cand[np.argmax(rank[cand])]
            load[asg[u]] -= 1
            asg[u], load[j] = j, load[j] + 1
    return asg


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


@dataclass(frozen=True)
class Units:
    """Block layer ``A`` seen unit by unit: ``a`` [units] the weight of each unit's assigned edge (0 without
    one), ``present`` [units] whether that edge exists, ``c`` [units] the biases."""
    a: np.ndarray
    present: np.ndarray
    c: np.ndarray


def units_of(A: nn.Module, n_in: int, k: int, assign: np.ndarray | None) -> Units:
    """:class:`Units` of a dense block layer ``A`` (its ``[units, n_in]`` view) for unit -> input ``assign``
    (default: the fixed layout ``u // k``)."""
    wa = A.weight.detach().reshape(A.weight.shape[0], -1)
    ma = A.mask.reshape(A.mask.shape[0], -1)
    if assign is None:
        assign = np.arange(n_in * k) // k
    units = A.weight.shape[0]
    a = np.zeros(units)
    pres = np.zeros(units, dtype=bool)
    u = np.flatnonzero(assign >= 0)
    j = torch.as_tensor(assign[u])
    a[u] = wa[torch.as_tensor(u), j].double().numpy()
    pres[u] = ma[torch.as_tensor(u), j].numpy()
    return Units(a, pres, A.bias.detach().double().numpy())


@dataclass(frozen=True)
class Block:
    """One block of a 2L layout (or the first layer of L+1): target rows ``W`` [R, n_in] (rows repeated for L+1
    copies), their biases ``b`` [R] (None: no bias), ``k`` units per input, the block layer's :class:`Units` and
    ``assign`` unit -> input for its first ``n_in k`` units (None: the fixed layout ``u // k``)."""
    W: np.ndarray
    b: np.ndarray | None
    k: int
    units: Units
    assign: np.ndarray | None = None

    @property
    def n_in(self) -> int:
        return int(self.W.shape[1])

    @property
    def has_bias(self) -> bool:
        return self.b is not None

    def unit_inputs(self) -> np.ndarray:
        """unit -> input for the first ``n_in k`` units (the fixed layout when ``assign`` is None)."""
        return np.arange(self.n_in * self.k) // self.k if self.assign is None else self.assign


@dataclass(frozen=True)
class BlockSolution:
    """The subset sums of one :class:`Block` against the next layer: for each target row ``i`` and input ``j``,
    the chosen slots (units serving ``j``, table ``slots`` [n_in, K]) realising :math:`s^+_{ij}` (units with
    :math:`a_u > 0`) and, for a signed input, :math:`s^-_{ij}` (:math:`a_u < 0`); ``sel_bias`` [R, k] the bias units
    chosen; ``errors`` every instance's |sum - target| (weights +, weights -, biases, in that order)."""
    slots: np.ndarray
    sel_pos: np.ndarray
    sel_neg: np.ndarray | None
    sel_bias: np.ndarray | None
    errors: np.ndarray

    def used(self) -> np.ndarray:
        """[R, n_in, K]: slots chosen by either sign."""
        return self.sel_pos if self.sel_neg is None else self.sel_pos | self.sel_neg


def solve_block(block: Block, wb: np.ndarray, mb: np.ndarray, signed: bool, solver: SolverSpec,
                ctx) -> BlockSolution:
    r"""Subset sums for one block: ``wb``/``mb`` [R, units] the next layer's weights and mask (a path needs both
    edges, docs/theory.md "Where the ER mask enters the 2L construction"); ``signed``: the block's input can be
    negative, so each weight is realised twice (:math:`s^\pm`). ``ctx`` gives ``max_items`` and ``timings``
    (a :class:`~lottery_theory.tickets.interface.BuildContext`)."""
    W, b, k, U = block.W, block.b, block.k, block.units
    R, n_in = W.shape
    slots = _slots(block.unit_inputs(), n_in)
    valid = slots >= 0
    su = np.where(valid, slots, 0)
    a = np.where(valid, U.a[su], 0.0)  # a_u per slot
    pa = valid & U.present[su]
    B = np.where(valid[None], wb[:, su], 0.0)  # [R, n_in, K]
    MB = valid[None] & mb[:, su]
    K = slots.shape[1]
    vals = a[None] * B
    parts = [pa & (a > 0)] + ([pa & (a < 0)] if signed else [])
    v_list = [vals.reshape(-1, K) for _ in parts]
    p_list = [(pres_a[None] & MB).reshape(-1, K) for pres_a in parts]
    t_list = [W.reshape(-1) for _ in parts]
    if b is not None:
        c = U.c[n_in * k:(n_in + 1) * k]
        v_list.append(np.maximum(c, 0)[None] * wb[:, n_in * k:(n_in + 1) * k])
        p_list.append((c > 0)[None] & mb[:, n_in * k:(n_in + 1) * k])
        t_list.append(b)
    sel, _, err = solve_rows(v_list, p_list, t_list, solver, ctx)
    nw = R * n_in
    neg = sel[nw:2 * nw, :K].reshape(R, n_in, K) if signed else None
    off = nw * (2 if signed else 1)
    return BlockSolution(slots=slots, sel_pos=sel[:nw, :K].reshape(R, n_in, K), sel_neg=neg,
                         sel_bias=sel[off:, :k] if b is not None else None, errors=err)


def mixing_mask(sol: BlockSolution, block: Block, units_total: int) -> np.ndarray:
    """Ticket mask of the mixing layer B ([R, units]) from one block's solution."""
    R, n_in, k = block.W.shape[0], block.n_in, block.k
    mB = np.zeros((R, units_total), dtype=bool)
    used, slots = sol.used(), sol.slots
    jj, rr = np.nonzero(slots >= 0)
    mB[:, slots[jj, rr]] = used[:, jj, rr]
    if block.has_bias:
        mB[:, n_in * k:(n_in + 1) * k] = sol.sel_bias
    return mB


def block_layer_mask(live: np.ndarray, sol: BlockSolution, block: Block,
                     units_total: int) -> tuple[np.ndarray, np.ndarray]:
    """Ticket masks of the block layer A ([units, n_in]) and its biases: a unit is kept when B reads it
    (``live`` [units])."""
    n_in, k, slots = block.n_in, block.k, sol.slots
    jj, rr = np.nonzero(slots >= 0)
    mA = np.zeros((units_total, n_in), dtype=bool)
    mA[slots[jj, rr], jj] = live[slots[jj, rr]]
    biasA = np.zeros(units_total, dtype=bool)
    if block.has_bias:
        biasA[n_in * k:(n_in + 1) * k] = live[n_in * k:(n_in + 1) * k]
    return mA, biasA


def block_masks(sol: BlockSolution, block: Block, units_total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ticket masks of the block layer A ([units, n_in]), its biases and the next layer B ([R, units])."""
    mB = mixing_mask(sol, block, units_total)
    mA, biasA = block_layer_mask(mB.any(0), sol, block, units_total)
    return mA, mB, biasA


# ----------------------------------------------------------------------------- source layers
def source_densities(density, n_layers: int, shapes, ratio: str) -> list[float]:
    """Densities of ``n_layers`` source layers of ``shapes``: a scalar spread by ``ratio``
    (:func:`lottery_theory.sparsity.resolve_densities`), one per source layer, or (2L) one per block."""
    if not isinstance(density, (int, float)) and len(density) * 2 == n_layers:  # one per 2L block
        density = [x for d in density for x in (d, d)]
    return resolve_densities(shapes, density, ratio)


def draw_layers(layers: list[nn.Module], dens: list[float], g: torch.Generator | None) -> None:
    """Draw dense masked source layers in place: weights and biases U[-1, 1], masks Bernoulli(density) (ER)."""
    for lay, d in zip(layers, dens):
        _uniform_(lay.weight, g)
        _uniform_(lay.bias, g)
        lay.set_mask(er_mask(tuple(lay.weight.shape), d, generator=g, exact=False))


def assign_block(A: nn.Module, n_in: int, k: int, assignment: str, g: torch.Generator | None) -> np.ndarray | None:
    """Unit -> input for the first ``n_in k`` units of block layer ``A`` by ``assignment`` ("fixed": None, the
    layout ``u // k``; "adaptive": :func:`assign_units_matched`; "greedy": :func:`assign_units`)."""
    if assignment == "fixed":
        return None
    fn = assign_units if assignment == "greedy" else assign_units_matched
    return fn(A.mask.reshape(A.mask.shape[0], -1).numpy(), n_in * k, g)
