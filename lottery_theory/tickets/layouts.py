"""The constructions, one per layout, each a :class:`Construction` registered in ``CONSTRUCTIONS``:
``plan`` (block sizes from the bound calculators or the caller), ``build`` (ER source, subset sums, ticket
masks) and ``realise`` (what the rebuilt network computes per target layer, for the certificates).
``construct`` runs plan -> build -> certify for any of them."""
from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .._validation import Registry, check_alloc, check_positive_int
from ..bounds.widths import er_slt_2l, l1_plan
from ..nets.masked import MaskedLinear
from .blocks import (Units, _assign, _b_mask, _block_masks, _densities, _draw, _eff_weight, _slots, _solve_block,
                     _solve_rows, assign_units, assign_units_matched, units_of)
from .source import LayerDraw, SourceRecipe

CONSTRUCTIONS = Registry("construction", "construction")


def _per_layer(x, name: str, L: int) -> list[int]:
    vals = list(x) if isinstance(x, (list, tuple)) else [check_positive_int(x, name)] * L
    if len(vals) != L:
        raise ValueError(f"{name} needs one entry per target layer ({L}), got {len(vals)}")
    return [check_positive_int(v, name) for v in vals]


class Construction:
    """A layout: ``plan(specs, widths, **bound_args) -> plan``, ``build(mods, plan, ...) -> (source, network,
    instance errors per layer, densities, layout)``, ``realise(network, layout) -> [RealisedLayer]``.
    ``default_objective`` is the subset-sum objective ``construct`` uses when none is given."""
    name = ""
    default_objective = "min_error"

    def plan(self, specs, widths, *, eps, delta, density, C, has_bias, assignment, width, width_multiplier) -> dict:
        raise NotImplementedError

    def build(self, mods, plan, density, ratio, g, solver, max_items, timer, assignment):
        raise NotImplementedError

    def realise(self, network: nn.Sequential, layout: dict) -> list:
        raise NotImplementedError


def _timed_chunks(draw: LayerDraw, timer: dict):
    """``draw.chunks()`` with the drawing time added to ``timer["t_draw_source_s"]``."""
    it = iter(draw.chunks())
    while True:
        t0 = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            timer["t_draw_source_s"] = timer.get("t_draw_source_s", 0.0) + time.perf_counter() - t0
        yield item


def _block_units(dA: LayerDraw, n_in: int, k: int, assignment: str, g, timer: dict):
    """Layer A of a block, drawn in chunks: unit -> input (None: fixed layout), :class:`Units` and the
    number of existing edges. Adaptive: pass 1 reads the masks of the ``n_in k`` input units (all that the
    assignment needs), pass 2 redraws their chunks for the weights of the assigned edges."""
    n_assign = n_in * k
    a = np.zeros(dA.rows)
    pres = np.zeros(dA.rows, dtype=bool)
    edges = 0
    if assignment == "fixed":
        asg = None
        for r0, r1, w, m in _timed_chunks(dA, timer):
            edges += int(m.sum())
            u = np.arange(r0, min(r1, n_assign))
            if u.size:
                j = torch.as_tensor(u // k)
                rows = torch.as_tensor(u - r0)
                a[u] = w[rows, j].double().numpy()
                pres[u] = m[rows, j].numpy()
    else:
        mask = np.zeros((n_assign, dA.cols), dtype=bool)
        for r0, r1, w, m in _timed_chunks(dA, timer):
            edges += int(m.sum())
            if r0 < n_assign:
                mask[r0:min(r1, n_assign)] = m[:min(r1, n_assign) - r0].numpy()
        asg = (assign_units_matched if assignment == "matched" else assign_units)(mask, n_assign, g)
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


def _build_2L(mods, k_list, dens_arg, ratio, g, solver, max_items, timer, assignment="fixed"):
    """2L without a dense source: each block's layer A is drawn in chunks (its unit view kept), layer B one row
    chunk at a time (solved, then its ticket rows written); only the ticket is materialised. The source is
    returned as a :class:`SourceRecipe` (dense only when asked)."""
    parts, pairs, specs = [], [], []
    for m in mods:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            W, b = _eff_weight(m)
            n, n_in = W.shape
            k = k_list[len(pairs)]
            units = (n_in + (b is not None)) * k
            if isinstance(m, nn.Conv2d):
                sa = (("conv", m.in_channels, units, m.kernel_size, m.stride, m.padding),
                      (units, m.in_channels, *m.kernel_size))
                sb = (("conv", units, n, (1, 1), (1, 1), (0, 0)), (n, units, 1, 1))
            else:
                sa, sb = (("linear", n_in, units), (units, n_in)), (("linear", units, n), (n, units))
            pairs.append((len(parts), len(parts) + 2))  # positions of A and B in the Sequential
            parts += [sa, nn.ReLU(), sb]
            specs.append((W, b, k))
        else:
            parts.append(copy.deepcopy(m))
    slots_at = [i for pr in pairs for i in pr]
    dens = _densities(dens_arg, 2 * len(pairs), [parts[i][1] for i in slots_at], ratio)
    seeds = torch.randint(0, 1 << 62, (len(slots_at),), generator=g).tolist()
    for i, d, sd in zip(slots_at, dens, seeds):
        parts[i] = LayerDraw(parts[i][0], tuple(parts[i][1]), float(d), int(sd))
    recipe = SourceRecipe(parts)
    check_alloc(sum(p.rows * p.cols for p in parts if isinstance(p, LayerDraw)) * 5.0,  # float32 weight + bool mask
                "the ticket network (dense masked layers)")
    network = nn.Sequential(*[p.empty_module() if isinstance(p, LayerDraw) else copy.deepcopy(p) for p in parts])
    signed = True  # the block's input can be negative (network input, or no ReLU before it)
    errs, li, edges = [], 0, 0
    big = recipe.params() > 10_000_000
    for m in tqdm(mods, desc="ticket layers", unit="module", leave=False, disable=not big):
        if not isinstance(m, (nn.Linear, nn.Conv2d)):
            if isinstance(m, (nn.ReLU, nn.Sigmoid)):  # the next block's inputs are >= 0
                signed = False
            continue
        W, b, k = specs[li]
        dA, dB = (parts[i] for i in pairs[li])
        tA, tB = (network[i] for i in pairs[li])
        n, n_in = W.shape
        hb = b is not None
        asg, U, e = _block_units(dA, n_in, k, assignment, g, timer)
        edges += e + dA.rows + dB.rows
        slots = _slots(np.arange(n_in * k) // k if asg is None else asg, n_in)
        live = np.zeros(dA.rows, dtype=bool)
        wB2, mB2 = tB.weight.data.view(n, -1), tB.mask.view(n, -1)
        for r0, r1, w, mk in _timed_chunks(dB, timer):
            edges += int(mk.sum())
            out = _solve_block(W[r0:r1], b[r0:r1] if hb else None, k, U, w.double().numpy(), mk.numpy(), signed,
                               solver.at(li), max_items, timer, asg)
            mB = torch.from_numpy(_b_mask(out, n_in, k, hb, dA.rows, r1 - r0))
            wB2[r0:r1] = w * mB
            mB2[r0:r1] = mB
            live |= mB.numpy().any(0)
            errs.append(out["all_err"])
        jj, rr = np.nonzero(slots >= 0)
        us = slots[jj, rr]
        keep = live[us]
        us, jj = torch.as_tensor(us[keep]), torch.as_tensor(jj[keep])
        tA.weight.data.view(dA.rows, -1)[us, jj] = torch.as_tensor(U.a[us.numpy()], dtype=torch.float32)
        tA.mask.view(dA.rows, -1)[us, jj] = True
        if hb:
            bias_units = torch.arange(n_in * k, (n_in + 1) * k)
            kept = torch.as_tensor(live[n_in * k:(n_in + 1) * k])
            tA.bias_mask[bias_units] = kept
            tA.bias.data[bias_units] = torch.as_tensor(U.c[n_in * k:(n_in + 1) * k], dtype=torch.float32) * kept
        signed, li = True, li + 1
    # one array per target layer, as the L+1 layout returns
    per_layer, pos = [], 0
    for _, b in pairs:
        n = parts[b].chunks_for(parts[b].rows)
        per_layer.append(np.concatenate(errs[pos:pos + n]))
        pos += n
    return recipe, network, per_layer, dens, {"pairs": pairs, "source_edges": edges}


def _build_L1(mods, plan_k, rho, kb, dens_arg, ratio, g, solver, max_items, timer, assignment="fixed"):
    lins = [m for m in mods if isinstance(m, (nn.Linear, nn.Conv2d))]
    if any(isinstance(m, nn.Conv2d) for m in lins) or any(isinstance(m, (nn.Flatten, nn.MaxPool2d, nn.AvgPool2d))
                                                        for m in mods):
        raise ValueError("construction='L+1' supports MLP targets only; use construction='2L' for conv targets")
    relus = [isinstance(mods[i + 1], nn.ReLU) if i + 1 < len(mods) else False
             for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    if relus[:-1] != [True] * (len(lins) - 1):
        raise ValueError("construction='L+1' needs a ReLU after every hidden Linear layer (other activations: use "
                         "construction='2L')")
    at = [i for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    # activations before the first and after the last Linear layer: the ticket applies them too
    pre, post = list(mods[:at[0]]), list(mods[at[-1] + 1:])
    L = len(lins)
    specs = [_eff_weight(m) for m in lins]
    n0 = specs[0][0].shape[1]
    hb0 = specs[0][1] is not None
    widths = [(n0 + hb0) * plan_k]
    for l in range(1, L):
        widths.append(rho[l - 1] * specs[l - 1][0].shape[0] + (kb[l - 1] if specs[l][1] is not None else 0))
    widths.append(specs[-1][0].shape[0])
    layers = [MaskedLinear(n0, widths[0])] + [MaskedLinear(widths[i], widths[i + 1]) for i in range(L)]
    src_mods = [copy.deepcopy(m) for m in pre]
    for i, lay in enumerate(layers):
        src_mods.append(lay)
        if i < L:
            src_mods.append(nn.ReLU())
    source = nn.Sequential(*src_mods, *[copy.deepcopy(m) for m in post])
    dens = _densities(dens_arg, L + 1, [tuple(x.weight.shape) for x in layers], ratio)
    t0 = time.perf_counter()
    _draw(layers, dens, g)
    network = copy.deepcopy(source)
    timer["t_draw_source_s"] = time.perf_counter() - t0
    tl = [m for m in network if isinstance(m, MaskedLinear)]

    # Copy layers are solved last to first: each one's realised gain (its copies' summed |c| per input, which
    # multiplies the errors of the copies it reads) rescales the budgets of every layer before it
    # (docs/theory.md, "L+1 budget"); the block layer comes last. The instances do not depend on each other.
    errs = [None] * L
    masks_w = [None] * (L + 1)
    bias_m = [np.zeros(lay.bias.shape[0], dtype=bool) for lay in layers]
    tols = list(solver.tols)
    assumed = list(solver.gains) if solver.gains else [1.0] * L
    for l in reversed(range(1, L)):  # target layer l+1 reads the copies of layer l from source layer l+1
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
        sel, sums, err = _solve_rows(v_list, p_list, t_list, solver.with_tols(tols).at(l), max_items, timer)
        errs[l] = err
        nw = n_out * Rq * n_in
        selw = sel[:nw, :r_in].reshape(n_out * Rq, n_in * r_in)
        # realised gain: max over copies of sum_j sum_{m in S_qj} |c_qm| (bias items carry no error)
        gain = float((np.abs(vals) * selw.reshape(-1, r_in)).sum(1).reshape(n_out * Rq, n_in).sum(1).max())
        for m in range(l):  # budgets of the layers before: their errors pass through this layer's gain
            tols[m] *= assumed[l] / max(gain, 1e-300)
        mq_t = np.zeros(tuple(lay.weight.shape), dtype=bool)
        mq_t[: n_out * Rq, : n_in * r_in] = selw
        if hb:
            selb = sel[nw:, :kb[l - 1]]
            mq_t[: n_out * Rq, n_in * r_in: n_in * r_in + kb[l - 1]] = selb
            bias_m[l][n_in * r_in: n_in * r_in + kb[l - 1]] = selb.any(0)
        masks_w[l + 1] = mq_t
    # layer 1: block products into the copies of target layer 1
    W, b = specs[0]
    n1 = W.shape[0]
    R = rho[0] if L > 1 else 1
    Wr, br = np.repeat(W, R, axis=0), (np.repeat(b, R) if b is not None else None)
    A, Bn = layers[0], layers[1]
    rows = n1 * R
    wb, mb = Bn.weight.detach()[:rows].double().numpy(), Bn.mask.numpy()[:rows]
    asg = _assign(A, n0, plan_k, assignment, g)
    out = _solve_block(Wr, br, plan_k, units_of(A, n0, plan_k, asg), wb, mb, True, solver.with_tols(tols).at(0),
                       max_items, timer, asg)
    mA, mB, biasA = _block_masks(out, n0, plan_k, br is not None, A.weight.shape[0], rows)
    errs[0] = out["all_err"]
    masks_w[0] = mA
    masks_w[1] = np.zeros(tuple(Bn.weight.shape), dtype=bool)
    masks_w[1][:rows] = mB
    bias_m[0] = biasA
    # copies that nobody reads still compute; keep their incoming edges (they are part of the copy layer)
    for lay, mw, bm in zip(tl, masks_w, bias_m):
        lay.set_mask(torch.as_tensor(mw), torch.as_tensor(bm))
    return source, network, errs, dens, {"outs": [W.shape[0] for W, _ in specs], "rho": list(rho), "tols": tols}


@CONSTRUCTIONS.register("2L")
class TwoL(Construction):
    """2L (Pensia et al. 2020; Malach et al. 2020): a block layer and a mixing layer per target layer."""
    name = "2L"
    default_objective = "fewest"  # spend the per-weight budget on fewer kept weights (docs/theory.md)

    def plan(self, specs, widths, *, eps, delta, density, C, has_bias, assignment, width, width_multiplier):
        L = len(specs)
        if width_multiplier is not None:
            ks = _per_layer(width_multiplier, "width_multiplier", L)
        elif width is not None:
            ws = _per_layer(width, "width", L)
            ks = [max(1, w // (W.shape[1] + (b is not None))) for w, (W, b) in zip(ws, specs)]
        else:
            bw = er_slt_2l(widths, eps, delta, density, C, has_bias, assignment=assignment)
            ks = [bw[2 * l + 1] // (widths[l] + int(has_bias)) for l in range(L)]
        return {"blocks": ks}

    def build(self, mods, plan, density, ratio, g, solver, max_items, timer, assignment):
        return _build_2L(mods, plan["blocks"], density, ratio, g, solver, max_items, timer, assignment)

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
    default_objective = "fewest"

    def plan(self, specs, widths, *, eps, delta, density, C, has_bias, assignment, width, width_multiplier):
        L = len(specs)
        if width_multiplier is not None:
            kk = _per_layer(width_multiplier, "width_multiplier", L)
            k1, rho, kb = kk[0], kk[:L - 1], kk[:L - 1]
        elif width is not None:
            raise ValueError("construction='L+1' takes width_multiplier (k, rho), not width")
        else:
            p = l1_plan(widths, eps, delta, density, C, has_bias, assignment=assignment)
            k1, rho, kb = p["k"], p["rho"], p["kb"]
        return {"k": k1, "rho": list(rho), "kb": list(kb), "blocks": [k1] + list(rho)}

    def build(self, mods, plan, density, ratio, g, solver, max_items, timer, assignment):
        return _build_L1(mods, plan["k"], plan["rho"], plan["kb"], density, ratio, g, solver, max_items, timer,
                         assignment)

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
