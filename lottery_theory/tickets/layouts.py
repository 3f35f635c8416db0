"""The constructions, one per layout, each a :class:`~lottery_theory.tickets.interface.Construction` registered in
``CONSTRUCTIONS``: ``plan`` (block sizes from the bound calculators or the caller), ``build`` (ER source, subset sums,
ticket masks) and ``realise`` (what the rebuilt network computes per target layer, for the certificates).
``construct`` runs plan -> build -> certify for any of them; the typed interface is in :mod:`.interface`."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .._construct_options import LAYOUT_OBJECTIVE
from .._validation import check_alloc, check_positive_int
from ..bounds import DEFAULT_C
from ..bounds.widths import er_slt_2l, l1_plan
from ..nets.masked import MaskedLinear
from .blocks import (Block, Units, assign_block, assign_units, assign_units_matched, block_masks,
                     draw_layers, mixing_mask, solve_block, solve_rows, source_densities, units_of)
from .interface import CONSTRUCTIONS, BuildContext, BuildResult, Construction, Plan, TargetChain
from .source import LayerDraw, SourceRecipe

__all__ = ["CONSTRUCTIONS", "Construction", "LPlusOne", "LPlusOnePlan", "TwoL"]


def _per_layer(x, name: str, L: int) -> list[int]:
    vals = list(x) if isinstance(x, (list, tuple)) else [check_positive_int(x, name)] * L
    if len(vals) != L:
        raise ValueError(f"{name} needs one entry per target layer ({L}), got {len(vals)}")
    return [check_positive_int(v, name) for v in vals]


def _bound_args(target: TargetChain, cfg) -> dict:
    """The bound calculators' arguments for ``target`` under ``cfg`` (density as a scalar or a list)."""
    d = cfg.density if isinstance(cfg.density, (int, float)) else list(cfg.density)
    return dict(eps=cfg.eps, delta=cfg.delta, density=d, C=DEFAULT_C if cfg.C is None else cfg.C,
                bias=target.has_bias, assignment=cfg.assignment)


def _timed_chunks(draw: LayerDraw, ctx: BuildContext):
    """``draw.chunks()`` with the drawing time added to ``ctx.timings["t_draw_source_s"]``."""
    it = iter(draw.chunks())
    while True:
        t0 = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            ctx.add_time("t_draw_source_s", time.perf_counter() - t0)
        yield item


def _block_units(dA: LayerDraw, n_in: int, k: int, ctx: BuildContext):
    """Layer A of a block, drawn in chunks: unit -> input (None: fixed layout), :class:`Units` and the
    number of existing edges. Adaptive and greedy: pass 1 reads the masks of the ``n_in k`` input units (all
    that the assignment needs), pass 2 redraws their chunks for the weights of the assigned edges."""
    n_assign = n_in * k
    a = np.zeros(dA.rows)
    pres = np.zeros(dA.rows, dtype=bool)
    edges = 0
    if ctx.assignment == "fixed":
        asg = None
        for r0, r1, w, m in _timed_chunks(dA, ctx):
            edges += int(m.sum())
            u = np.arange(r0, min(r1, n_assign))
            if u.size:
                j = torch.as_tensor(u // k)
                rows = torch.as_tensor(u - r0)
                a[u] = w[rows, j].double().numpy()
                pres[u] = m[rows, j].numpy()
    else:
        mask = np.zeros((n_assign, dA.cols), dtype=bool)
        for r0, r1, w, m in _timed_chunks(dA, ctx):
            edges += int(m.sum())
            if r0 < n_assign:
                mask[r0:min(r1, n_assign)] = m[:min(r1, n_assign) - r0].numpy()
        asg = (assign_units if ctx.assignment == "greedy" else assign_units_matched)(mask, n_assign, ctx.generator)
        del mask
        for i in range(dA.chunks_for(n_assign)):
            r0, r1, w, m = dA.chunk(i)
            u = np.arange(r0, min(r1, n_assign))
            u = u[asg[u] >= 0]
            rows, j = torch.as_tensor(u - r0), torch.as_tensor(asg[u])
            if not bool(m[rows, j].all()):
                raise RuntimeError("internal: an assigned edge is absent from the redrawn chunk")
            a[u] = w[rows, j].double().numpy()
            pres[u] = True
    return asg, Units(a, pres, dA.bias().double().numpy()), edges


def _two_layer_parts(target: TargetChain, ks: list[int]) -> tuple[list, list]:
    """The 2L source's parts: per target Linear/Conv2d a block layer A, a ReLU and a mixing layer B as
    (kind args, shape) pairs (drawn later), other modules copied; and the positions (A, B) of each block."""
    parts, pairs = [], []
    for m in target.mods:
        if not isinstance(m, (nn.Linear, nn.Conv2d)):
            parts.append(copy.deepcopy(m))
            continue
        W, b = target.specs[len(pairs)]
        n, n_in = W.shape
        units = (n_in + (b is not None)) * ks[len(pairs)]
        if isinstance(m, nn.Conv2d):
            sa = (("conv", m.in_channels, units, m.kernel_size, m.stride, m.padding),
                  (units, m.in_channels, *m.kernel_size))
            sb = (("conv", units, n, (1, 1), (1, 1), (0, 0)), (n, units, 1, 1))
        else:
            sa, sb = (("linear", n_in, units), (units, n_in)), (("linear", units, n), (n, units))
        pairs.append((len(parts), len(parts) + 2))  # positions of A and B in the Sequential
        parts += [sa, nn.ReLU(), sb]
    return parts, pairs


def _draw_two_layer(parts: list, pairs: list, ctx: BuildContext) -> tuple[SourceRecipe, nn.Sequential, list]:
    """Turn the parts' A and B shapes into :class:`LayerDraw` recipes (densities by ``ctx.ratio``, one seed each
    from ``ctx.generator``) and allocate the empty ticket network."""
    slots_at = [i for pr in pairs for i in pr]
    dens = source_densities(ctx.density, 2 * len(pairs), [parts[i][1] for i in slots_at], ctx.ratio)
    seeds = torch.randint(0, 1 << 62, (len(slots_at),), generator=ctx.generator).tolist()
    for i, d, sd in zip(slots_at, dens, seeds):
        parts[i] = LayerDraw(parts[i][0], tuple(parts[i][1]), float(d), int(sd))
    recipe = SourceRecipe(parts)
    check_alloc(sum(p.rows * p.cols for p in parts if isinstance(p, LayerDraw)) * 5.0,  # float32 weight + bool mask
                "the ticket network (dense masked layers)")
    network = nn.Sequential(*[p.empty_module() if isinstance(p, LayerDraw) else copy.deepcopy(p) for p in parts])
    return recipe, network, dens


def _write_block_layer(tA: nn.Module, U: Units, slots: np.ndarray, live: np.ndarray, n_in: int, k: int,
                       hb: bool) -> None:
    """Write the ticket's block layer A: each live unit keeps its assigned edge (and, for bias units, its bias)."""
    rows = U.a.shape[0]
    jj, rr = np.nonzero(slots >= 0)
    us = slots[jj, rr]
    keep = live[us]
    us, jj = torch.as_tensor(us[keep]), torch.as_tensor(jj[keep])
    tA.weight.data.view(rows, -1)[us, jj] = torch.as_tensor(U.a[us.numpy()], dtype=torch.float32)
    tA.mask.view(rows, -1)[us, jj] = True
    if hb:
        bias_units = torch.arange(n_in * k, (n_in + 1) * k)
        kept = torch.as_tensor(live[n_in * k:(n_in + 1) * k])
        tA.bias_mask[bias_units] = kept
        tA.bias.data[bias_units] = torch.as_tensor(U.c[n_in * k:(n_in + 1) * k], dtype=torch.float32) * kept


def _solve_two_layer_block(spec: tuple, k: int, draws: tuple, mods: tuple, signed: bool, ctx: BuildContext,
                           layer: int) -> tuple[np.ndarray, int]:
    """One 2L block: layer A's units (``draws[0]``, chunked), then layer B one row chunk at a time, solved and
    written into the ticket's ``mods`` (A, B). Returns the block's instance errors and the source edges drawn."""
    (W, b), (dA, dB), (tA, tB) = spec, draws, mods
    n, n_in = W.shape
    asg, U, edges = _block_units(dA, n_in, k, ctx)
    edges += dA.rows + dB.rows
    live = np.zeros(dA.rows, dtype=bool)
    wB2, mB2 = tB.weight.data.view(n, -1), tB.mask.view(n, -1)
    errs = []
    for r0, r1, w, mk in _timed_chunks(dB, ctx):
        edges += int(mk.sum())
        blk = Block(W[r0:r1], b[r0:r1] if b is not None else None, k, U, asg)
        sol = solve_block(blk, w.double().numpy(), mk.numpy(), signed, ctx.solver.at(layer), ctx)
        mB = torch.from_numpy(mixing_mask(sol, blk, dA.rows))
        wB2[r0:r1] = w * mB
        mB2[r0:r1] = mB
        live |= mB.numpy().any(0)
        errs.append(sol.errors)
    _write_block_layer(tA, U, sol.slots, live, n_in, k, b is not None)  # every chunk has the same slots
    return np.concatenate(errs), edges


def _build_2L(target: TargetChain, ks: list[int], ctx: BuildContext) -> BuildResult:
    """2L without a dense source: each block's layer A is drawn in chunks (its unit view kept), layer B one row
    chunk at a time (solved, then its ticket rows written); only the ticket is materialised. The source is
    returned as a :class:`SourceRecipe` (dense only when asked)."""
    parts, pairs = _two_layer_parts(target, ks)
    recipe, network, dens = _draw_two_layer(parts, pairs, ctx)
    signed = ctx.signed_input  # the block's input can be negative (network input, or no ReLU before it)
    errs, li, edges = [], 0, 0
    big = recipe.params() > 10_000_000
    for m in tqdm(target.mods, desc="ticket layers", unit="module", leave=False, disable=not big):
        if not isinstance(m, (nn.Linear, nn.Conv2d)):
            if isinstance(m, (nn.ReLU, nn.Sigmoid)):  # the next block's inputs are >= 0
                signed = False
            continue
        e, n_edges = _solve_two_layer_block(target.specs[li], ks[li], tuple(parts[i] for i in pairs[li]),
                                            tuple(network[i] for i in pairs[li]), signed, ctx, li)
        errs.append(e)  # one array per target layer, as the L+1 layout returns
        edges += n_edges
        signed, li = True, li + 1
    return BuildResult(recipe, network, errs, dens, {"pairs": pairs}, source_edges=edges)


BUDGET_CAP = 1e300  # the largest per-weight budget L+1's rescaling gives (finite, as the solvers need)


@dataclass(frozen=True)
class LPlusOnePlan(Plan):
    """L+1's plan: ``k`` units per input in the input block, ``rho[l]`` copies of each neuron of target layer
    ``l + 1`` and ``kb[l]`` constant units for the next bias (``blocks`` = [k] + rho)."""
    k: int = 1
    rho: tuple[int, ...] = ()
    kb: tuple[int, ...] = ()


def _check_l1_target(mods: list) -> None:
    lins = [m for m in mods if isinstance(m, (nn.Linear, nn.Conv2d))]
    if any(isinstance(m, nn.Conv2d) for m in lins) or any(isinstance(m, (nn.Flatten, nn.MaxPool2d, nn.AvgPool2d))
                                                        for m in mods):
        raise ValueError("construction='L+1' supports MLP targets only; use construction='2L' for conv targets")
    relus = [isinstance(mods[i + 1], nn.ReLU) if i + 1 < len(mods) else False
             for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    if relus[:-1] != [True] * (len(lins) - 1):
        raise ValueError("construction='L+1' needs a ReLU after every hidden Linear layer (other activations: use "
                         "construction='2L')")


def _l1_source(target: TargetChain, plan: LPlusOnePlan, ctx: BuildContext) -> tuple[list, nn.Sequential, list]:
    """L+1's dense source: the input block layer, then one copy layer per further target layer (ReLUs between;
    activations before the first and after the last Linear layer are kept), drawn from ``ctx.generator``."""
    mods, specs, L = target.mods, target.specs, len(target.specs)
    at = [i for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    pre, post = list(mods[:at[0]]), list(mods[at[-1] + 1:])
    n0 = specs[0][0].shape[1]
    widths = [(n0 + (specs[0][1] is not None)) * plan.k]
    for l in range(1, L):
        widths.append(plan.rho[l - 1] * specs[l - 1][0].shape[0] + (plan.kb[l - 1] if specs[l][1] is not None else 0))
    widths.append(specs[-1][0].shape[0])
    with torch.random.fork_rng(devices=[]):  # nn.Linear's own init draws from the global RNG; draw_layers overwrites it
        layers = [MaskedLinear(n0, widths[0])] + [MaskedLinear(widths[i], widths[i + 1]) for i in range(L)]
    src_mods = [copy.deepcopy(m) for m in pre]
    for i, lay in enumerate(layers):
        src_mods += [lay, nn.ReLU()] if i < L else [lay]
    source = nn.Sequential(*src_mods, *[copy.deepcopy(m) for m in post])
    dens = source_densities(ctx.density, L + 1, [tuple(x.weight.shape) for x in layers], ctx.ratio)
    t0 = time.perf_counter()
    draw_layers(layers, dens, ctx.generator)
    ctx.add_time("t_draw_source_s", time.perf_counter() - t0)
    return layers, source, dens


def _solve_copy_layer(target: TargetChain, l: int, layers: list, plan: LPlusOnePlan, ctx: BuildContext,
                      tols: list) -> tuple:
    """Target layer ``l + 1`` (0-based ``l >= 1``) read by its copies in source layer ``l + 1`` from the copies of
    layer ``l``: each copy's weight ``w_ij`` is a subset sum of its incoming weights from the copies of ``j`` (and
    the bias from the constant units). Returns the errors, the weight mask, the bias mask of source layer ``l``
    (None without a bias) and the realised gain max_q sum_j sum_{m in S_qj} |c_qm| (docs/theory.md, "L+1 budget")."""
    W, b = target.specs[l]
    n_out, n_in = W.shape
    L = len(target.specs)
    Rq = plan.rho[l] if l < L - 1 else 1
    r_in, kb = plan.rho[l - 1], plan.kb[l - 1]
    lay = layers[l + 1]
    wq = lay.weight.detach().double().numpy()[: n_out * Rq]
    mq = lay.mask.numpy()[: n_out * Rq]
    vals = wq[:, : n_in * r_in].reshape(-1, r_in)
    v_list, p_list = [vals], [mq[:, : n_in * r_in].reshape(-1, r_in)]
    t_list = [np.repeat(W, Rq, axis=0).reshape(-1)]
    if b is not None:
        cb = layers[l].bias.detach().double().numpy()[n_in * r_in: n_in * r_in + kb]
        v_list.append(np.maximum(cb, 0)[None] * wq[:, n_in * r_in: n_in * r_in + kb])
        p_list.append((cb > 0)[None] & mq[:, n_in * r_in: n_in * r_in + kb])
        t_list.append(np.repeat(b, Rq))
    sel, _, err = solve_rows(v_list, p_list, t_list, ctx.solver.with_tols(tols).at(l), ctx)
    nw = n_out * Rq * n_in
    selw = sel[:nw, :r_in].reshape(n_out * Rq, n_in * r_in)
    # realised gain: max over copies of sum_j sum_{m in S_qj} |c_qm| (bias items carry no error)
    gain = float((np.abs(vals) * selw.reshape(-1, r_in)).sum(1).reshape(n_out * Rq, n_in).sum(1).max())
    mask = np.zeros(tuple(lay.weight.shape), dtype=bool)
    mask[: n_out * Rq, : n_in * r_in] = selw
    bias_mask = None
    if b is not None:
        selb = sel[nw:, :kb]
        mask[: n_out * Rq, n_in * r_in: n_in * r_in + kb] = selb
        bias_mask = np.zeros(layers[l].bias.shape[0], dtype=bool)
        bias_mask[n_in * r_in: n_in * r_in + kb] = selb.any(0)
    return err, mask, bias_mask, gain


def _solve_input_block(target: TargetChain, layers: list, plan: LPlusOnePlan, ctx: BuildContext, tols: list):
    """L+1's first target layer: block products of source layer 1 into the copies in source layer 2. Returns the
    errors, the masks of source layers 1 and 2 and source layer 1's bias mask."""
    W, b = target.specs[0]
    n1, n0 = W.shape
    R = plan.rho[0] if len(target.specs) > 1 else 1
    A, Bn = layers[0], layers[1]
    rows = n1 * R
    wb, mb = Bn.weight.detach()[:rows].double().numpy(), Bn.mask.numpy()[:rows]
    asg = assign_block(A, n0, plan.k, ctx.assignment, ctx.generator)
    blk = Block(np.repeat(W, R, axis=0), np.repeat(b, R) if b is not None else None, plan.k,
                units_of(A, n0, plan.k, asg), asg)
    sol = solve_block(blk, wb, mb, ctx.signed_input, ctx.solver.with_tols(tols).at(0), ctx)
    mA, mB, biasA = block_masks(sol, blk, A.weight.shape[0])
    mask_b = np.zeros(tuple(Bn.weight.shape), dtype=bool)
    mask_b[:rows] = mB
    return sol.errors, mA, mask_b, biasA


def _build_L1(target: TargetChain, plan: LPlusOnePlan, ctx: BuildContext) -> BuildResult:
    """L+1 (module docstring of :mod:`.construct`): copy layers solved last to first, then the input block."""
    _check_l1_target(target.mods)
    L = len(target.specs)
    layers, source, dens = _l1_source(target, plan, ctx)
    network = copy.deepcopy(source)
    # Copy layers are solved last to first: each one's realised gain (its copies' summed |c| per input, which
    # multiplies the errors of the copies it reads) rescales the budgets of every layer before it
    # (docs/theory.md, "L+1 budget"); the block layer comes last. The instances do not depend on each other.
    errs, masks_w = [None] * L, [None] * (L + 1)
    bias_m = [np.zeros(lay.bias.shape[0], dtype=bool) for lay in layers]
    tols = list(ctx.solver.tols)
    assumed = list(ctx.solver.gains) if ctx.solver.gains else [1.0] * L
    for l in reversed(range(1, L)):  # target layer l+1 reads the copies of layer l from source layer l+1
        errs[l], masks_w[l + 1], bm, gain = _solve_copy_layer(target, l, layers, plan, ctx, tols)
        if bm is not None:
            bias_m[l] = bm
        for m in range(l):  # budgets of the layers before: their errors pass through this layer's gain
            # (a gain of 0 means no copy reads the layer before: any budget holds; capped to stay finite, where
            # 'fewest' then keeps no item)
            tols[m] = min(tols[m] * (assumed[l] / max(gain, 1e-300)), BUDGET_CAP)
    errs[0], masks_w[0], masks_w[1], bias_m[0] = _solve_input_block(target, layers, plan, ctx, tols)
    # copies that nobody reads still compute; keep their incoming edges (they are part of the copy layer)
    for lay, mw, bm in zip([m for m in network if isinstance(m, MaskedLinear)], masks_w, bias_m):
        lay.set_mask(torch.as_tensor(mw), torch.as_tensor(bm))
    return BuildResult(source, network, errs, dens, {"outs": [W.shape[0] for W, _ in target.specs],
                                                     "rho": list(plan.rho)}, budgets=tols)


@CONSTRUCTIONS.register("2L")
class TwoL(Construction):
    """2L (Pensia et al. 2020; Malach et al. 2020): a block layer and a mixing layer per target layer."""
    name = "2L"
    default_objective = LAYOUT_OBJECTIVE  # spend the per-weight budget on fewer kept weights (docs/theory.md)

    def plan(self, target: TargetChain, config) -> Plan:
        L, specs, widths = len(target.specs), target.specs, target.widths
        if config.width_multiplier is not None:
            ks = _per_layer(config.width_multiplier, "width_multiplier", L)
        elif config.width is not None:
            ws = _per_layer(config.width, "width", L)
            ks = [max(1, w // (W.shape[1] + (b is not None))) for w, (W, b) in zip(ws, specs)]
        else:
            bw = er_slt_2l(widths, **_bound_args(target, config))
            ks = [bw[2 * l + 1] // (widths[l] + int(target.has_bias)) for l in range(L)]
        return Plan(tuple(ks))

    def build(self, target: TargetChain, plan: Plan, ctx: BuildContext) -> BuildResult:
        return _build_2L(target, list(plan.blocks), ctx)

    def realise(self, network, layout):
        from .bracket import realise_block

        return [realise_block(network[a], network[b]) for a, b in layout["pairs"]]


@CONSTRUCTIONS.register("L+1")
class LPlusOne(Construction):
    """L+1 (Burkholz 2022): a block layer for the input, then copy layers (MLP targets)."""
    name = "L+1"
    # fewest: the copy layers amplify the errors they read by the copies' summed |weights| (not |w|), so the
    # budgets are rescaled by the realised gains, layer by layer from the last (docs/theory.md, "L+1 budget"); with
    # that, fewest certifies where the unscaled budget lost the certificate (10-20-20-1, p = 1: 0.0012 vs 0.059)
    default_objective = LAYOUT_OBJECTIVE

    def plan(self, target: TargetChain, config) -> LPlusOnePlan:
        L = len(target.specs)
        if config.width_multiplier is not None:
            kk = _per_layer(config.width_multiplier, "width_multiplier", L)
            k1, rho, kb = kk[0], kk[:L - 1], kk[:L - 1]
        elif config.width is not None:
            raise ValueError("construction='L+1' takes width_multiplier (k, rho), not width")
        else:
            p = l1_plan(target.widths, **_bound_args(target, config))
            k1, rho, kb = p["k"], p["rho"], p["kb"]
        return LPlusOnePlan((k1, *rho), k=int(k1), rho=tuple(int(r) for r in rho), kb=tuple(int(x) for x in kb))

    def build(self, target: TargetChain, plan: LPlusOnePlan, ctx: BuildContext) -> BuildResult:
        return _build_L1(target, plan, ctx)

    def realise(self, network, layout):
        from .bracket import realise_block, realise_merge

        tl = [m for m in network if isinstance(m, MaskedLinear)]
        outs, rho = layout["outs"], layout["rho"]
        L = len(outs)
        R0 = rho[0] if L > 1 else 1
        first = realise_block(tl[0], tl[1])
        n = outs[0] * R0
        out = [type(first)(first.s_pos[:n], first.s_neg[:n], first.bias[:n], np.repeat(np.arange(outs[0]), R0),
                           err=first.err[:n], err_bias=first.err_bias[:n])]
        for l in range(1, L):
            Rq = rho[l] if l < L - 1 else 1
            r_in = rho[l - 1]
            prev = tl[l]
            copy_of = np.full(prev.weight.shape[0], -1)
            copy_of[: outs[l - 1] * r_in] = np.repeat(np.arange(outs[l - 1]), r_in)
            pb = prev.bias.detach().double() * (prev.bias_mask if prev.bias_mask is not None else 1)
            fan = (prev.mask != 0).sum(1)
            r = realise_merge(tl[l + 1], copy_of, outs[l - 1], pb, fan, np.repeat(np.arange(outs[l]), Rq))
            m = outs[l] * Rq
            out.append(type(r)(r.s_pos[:m], r.s_neg[:m], r.bias[:m], r.rows, r.lip[:m], r.coef[:m],
                               err_bias=r.err_bias[:m]))
        return out
