r"""The exact sup error of a small ticket (a mixed-integer linear program) or of a one-input ticket of any width
(its kinks) (docs/theory.md, "Exact sup error").

For a ticket of a ReLU target of Linear layers, ``sup_{x in box} |ticket(x) - target(x)|`` is the optimum of MILPs
over the shared input ``x`` (2L layouts: one realised row per target neuron; L+1: one variable per copy, each copy
layer linear in the previous layer's copies through its realised coefficients): each ReLU
``y = relu(z)`` with pre-activation bounds ``l < 0 < u`` (interval propagation of each network on its own) is
encoded exactly with one binary ``a``: ``y >= z, y >= 0, y <= z - l (1 - a), y <= u a`` (big-M); stable units need
no binary. The ticket's layer is its realised form :math:`s^+ \mathrm{relu}(h) - s^- \mathrm{relu}(-h) + \hat b`
(the split ``h = u - v`` with ``u, v >= 0``, ``u <= U a``, ``v <= -L (1 - a)``), the target's ``W h + b``. Two
MILPs per output (maximise and minimise ticket - target), solved by HiGHS (``scipy.optimize.milp``) to a
relative gap of 1e-9; the maximiser is re-evaluated on the rebuilt networks in float64 (``recheck``, a true lower
bound), and the proven bound is padded by ``TOL`` relative to cover HiGHS's feasibility tolerances (1e-7) on the
big-M rows. Above ``max_binaries``
the call refuses (the MILP grows exponentially hard); a time limit reports the HiGHS dual bound as ``upper``.

**One input** (``n0 = 1``): no MILP and no size limit. Both rebuilt networks are piecewise linear in ``x``;
:func:`kink_points` walks each one layer by layer and adds, between consecutive points, the zero crossing of
every pre-activation that changes sign there (linear interpolation: exact, since everything before it is
affine between the points). Then ``ticket - target`` is affine between consecutive points of the union, and its
sup is the largest gap at a point (``method="kinks"``). ``bound`` pads it by ``2 s eta``: ``s`` the largest slope
of the gap between points, ``eta = KINK_ETA (hi - lo)`` a generous radius for a crossing's float64 rounding.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


TOL = 1e-6  # relative margin on the MILP's bound: HiGHS solves to feasibility tolerances of 1e-7


@dataclass
class ExactSup:
    """``value``: the proven optimum (or best found) of sup |ticket - target| over the box; ``bound``: HiGHS's
    dual bound (= ``value`` when ``optimal``); ``argmax``: an input attaining ``value``; ``recheck``: the gap at
    ``argmax`` on the rebuilt networks in float64; ``binaries``: size of the largest MILP."""
    value: float
    bound: float
    optimal: bool
    argmax: torch.Tensor
    recheck: float
    binaries: int
    method: str = "milp"  # "milp", or "kinks" (one input: every kink of both networks, no MILP)


class _Model:
    def __init__(self) -> None:
        self.lb, self.ub, self.integer = [], [], []
        self.rows, self.rlo, self.rhi = [], [], []

    def var(self, lo: float, hi: float, integer: bool = False) -> int:
        self.lb.append(lo)
        self.ub.append(hi)
        self.integer.append(integer)
        return len(self.lb) - 1

    def cons(self, coefs: dict, lo: float, hi: float) -> None:
        self.rows.append(coefs)
        self.rlo.append(lo)
        self.rhi.append(hi)

    def relu(self, z: int, lo: float, hi: float) -> tuple[int, float, float]:
        """y = relu(z) for z in [lo, hi] (a binary only when lo < 0 < hi)."""
        if lo >= 0:
            return z, lo, hi
        if hi <= 0:
            return self.var(0.0, 0.0), 0.0, 0.0
        y, a = self.var(0.0, hi), self.var(0.0, 1.0, True)
        self.cons({y: 1.0, z: -1.0}, 0.0, np.inf)  # y >= z
        self.cons({y: 1.0, z: -1.0, a: -lo}, -np.inf, -lo)  # y <= z - lo (1 - a)
        self.cons({y: 1.0, a: -hi}, -np.inf, 0.0)  # y <= hi a
        return y, 0.0, hi

    def linear(self, W: np.ndarray, b: np.ndarray, xs: list[int], lo: np.ndarray, hi: np.ndarray):
        """z = W x + b as new variables with their interval bounds."""
        Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
        zlo, zhi = Wp @ lo + Wn @ hi + b, Wp @ hi + Wn @ lo + b
        zs = []
        for i in range(W.shape[0]):
            z = self.var(float(zlo[i]) - 1e-9, float(zhi[i]) + 1e-9)
            coefs = {z: 1.0}
            for j in np.flatnonzero(W[i]):
                coefs[xs[j]] = coefs.get(xs[j], 0.0) - float(W[i, j])
            self.cons(coefs, float(b[i]), float(b[i]))
            zs.append(z)
        return zs, zlo, zhi


def _check(ticket) -> list:
    realised = ticket.realise()
    for k, r in enumerate(realised):
        copied = getattr(r, "coef", None) is not None
        if k > 0 and not copied and not np.array_equal(realised[k - 1].rows, np.arange(len(realised[k - 1].rows))):
            raise ValueError("exact mode: a layer reads copies of the previous layer's neurons without its copy "
                             "coefficients")
        if k == len(realised) - 1 and not np.array_equal(r.rows, np.arange(len(r.rows))):
            raise ValueError("exact mode: the ticket's output layer is not one unit per target output")
    for m in ticket.target.children():
        if not isinstance(m, (nn.Linear, nn.ReLU, nn.Flatten, nn.Identity)):
            raise ValueError(f"exact mode handles Linear/ReLU targets only, got a {type(m).__name__} layer")
    return realised


TIME_LIMIT = 60.0  # seconds per MILP (one per output and sign) unless time_limit= says otherwise


def exact_sup_error(ticket, box=(-1.0, 1.0), *, max_binaries: int = 600, time_limit: float | None = None) -> ExactSup:
    """The exact sup error of ``ticket`` over ``box`` (module docstring). When a MILP hits ``time_limit``
    (default ``TIME_LIMIT``), ``optimal`` is False and ``bound`` is its dual bound (infinite if it had none)."""
    time_limit = TIME_LIMIT if time_limit is None else time_limit
    lo_b, hi_b = float(box[0]), float(box[1])
    if not lo_b <= hi_b:
        raise ValueError(f"box needs lo <= hi, got {box!r}")
    if int(np.prod(ticket.input_shape)) == 1:
        return _exact_1d(ticket, lo_b, hi_b)
    realised = _check(ticket)
    md, P, T = _encode(ticket, realised, lo_b, hi_b)
    n_bin = int(sum(md.integer))
    if n_bin > max_binaries:
        raise ValueError(f"exact mode is for small tickets: this one needs {n_bin} binaries (max_binaries="
                         f"{max_binaries}); use sup_error's bracket instead")
    n0 = int(np.prod(ticket.input_shape))
    best, bound, optimal, arg = _solve(md, P, T, n0, time_limit)
    if arg is None:  # no incumbent at all: the box's centre stands in as the (trivial) maximiser
        arg = np.full(n0, (lo_b + hi_b) / 2)
        best = -np.inf
    x = torch.as_tensor(arg, dtype=torch.float64).reshape((1,) + tuple(ticket.input_shape))
    import copy

    with torch.no_grad():
        net = copy.deepcopy(ticket.network).double().eval()
        tgt = copy.deepcopy(ticket.target).double().eval()
        recheck = float((net(x) - tgt(x)).abs().max())
    top = max(bound, best, recheck)
    return ExactSup(value=best, bound=top + TOL * max(1.0, abs(top)), optimal=bool(optimal), argmax=x[0].float(),
                    recheck=recheck, binaries=n_bin)


KINK_ETA = 2.0 ** -30  # radius of a computed kink, relative to the box (float64 rounding is ~1e-16 of it)
_KINKED = (nn.ReLU, nn.LeakyReLU)


def kink_points(net: nn.Module, xs: torch.Tensor) -> torch.Tensor:
    """Sorted points of a 1-input ``net`` (a chain of Linear layers, ReLU/LeakyReLU, Flatten/Identity), ``xs``
    (the box's ends, float64) plus every kink: before each activation, the zero of each pre-activation between
    two consecutive points where it changes sign, by linear interpolation (the network so far is affine there
    because the earlier kinks are points already). Between consecutive returned points ``net`` is affine."""
    mods = list(net.children()) if isinstance(net, nn.Sequential) else [net]
    for m in mods:
        if not isinstance(m, (nn.Linear,) + _KINKED + (nn.Flatten, nn.Identity)):
            raise ValueError(f"exact mode with one input handles Linear/ReLU/LeakyReLU networks only, got a "
                             f"{type(m).__name__} layer")
    xs = torch.unique(xs.double())
    with torch.no_grad():
        for i, m in enumerate(mods):
            if not isinstance(m, _KINKED):
                continue
            z = xs[:, None]
            for prev in mods[:i]:
                z = prev(z)
            z = z.reshape(len(xs), -1)
            a, b = z[:-1], z[1:]
            cross = (a * b) < 0  # strict sign change between consecutive points
            r, _ = torch.nonzero(cross, as_tuple=True)
            if len(r):
                za, zb = a[cross], b[cross]
                t = xs[r] + (xs[r + 1] - xs[r]) * (za / (za - zb))
                xs = torch.unique(torch.cat([xs, t.clamp(xs[0], xs[-1])]))
    return xs


def _exact_1d(ticket, lo_b: float, hi_b: float) -> ExactSup:
    """Exact sup for a 1-input ticket from the kinks of both rebuilt networks (module docstring)."""
    import copy

    shape = tuple(ticket.input_shape)
    net = copy.deepcopy(ticket.network).double().eval()
    tgt = copy.deepcopy(ticket.target).double().eval()
    ends = torch.tensor([lo_b, hi_b], dtype=torch.float64)
    xs = torch.unique(torch.cat([kink_points(net, ends), kink_points(tgt, ends)]))
    with torch.no_grad():
        X = xs.reshape((-1,) + shape)
        gap = (net(X) - tgt(X)).reshape(len(xs), -1)
    a = gap.abs().max(1).values
    i = int(a.argmax())
    value = float(a[i])
    dx = (xs[1:] - xs[:-1]).clamp(min=1e-300)
    slope = float(((gap[1:] - gap[:-1]).abs().max(1).values / dx).max()) if len(xs) > 1 else 0.0
    pad = 2 * slope * KINK_ETA * (hi_b - lo_b) + TOL * 1e-3 * max(1.0, value)
    return ExactSup(value=value, bound=value + pad, optimal=True, argmax=X[i].float(), recheck=value, binaries=0,
                    method="kinks")


def _encode(ticket, realised: list, lo_b: float, hi_b: float) -> tuple[_Model, list[int], list[int]]:
    """The MILP of the ticket (read through what it realises: s+, s-, bias per target layer) and the target side
    by side on the box, ReLUs big-M encoded with their interval bounds; returns it and the two output variables."""
    md = _Model()
    n0 = int(np.prod(ticket.input_shape))
    xs = [md.var(lo_b, hi_b) for _ in range(n0)]
    P, Plo, Phi = list(xs), np.full(n0, lo_b), np.full(n0, hi_b)
    T, Tlo, Thi = list(xs), Plo.copy(), Phi.copy()
    li, nonneg = 0, False
    for m in ticket.target.children():
        if isinstance(m, nn.Linear):
            r = realised[li]
            li += 1
            W = m.weight.detach().double().numpy()
            b = m.bias.detach().double().numpy() if m.bias is not None else np.zeros(W.shape[0])
            sp, sn = np.asarray(r.s_pos, float), np.asarray(r.s_neg, float)
            if getattr(r, "coef", None) is not None:  # an L+1 copy layer: linear in the previous layer's copies
                C = np.asarray(r.coef, float)
                P, Plo, Phi = md.linear(C, np.asarray(r.bias, float), P, np.maximum(Plo, 0), np.maximum(Phi, 0))
            elif nonneg:  # the ticket's inputs are >= 0: only s+ acts (as the certificate reads it)
                P, Plo, Phi = md.linear(sp, np.asarray(r.bias, float), P, np.maximum(Plo, 0), np.maximum(Phi, 0))
            else:
                P, Plo, Phi = _signed_block(md, sp, sn, np.asarray(r.bias, float), P, Plo, Phi)
            T, Tlo, Thi = md.linear(W, b, T, Tlo, Thi)
            nonneg = False
        elif isinstance(m, nn.ReLU):
            outP = [md.relu(z, Plo[i], Phi[i]) for i, z in enumerate(P)]
            outT = [md.relu(z, Tlo[i], Thi[i]) for i, z in enumerate(T)]
            P, Plo, Phi = [o[0] for o in outP], np.array([o[1] for o in outP]), np.array([o[2] for o in outP])
            T, Tlo, Thi = [o[0] for o in outT], np.array([o[1] for o in outT]), np.array([o[2] for o in outT])
            nonneg = True
    return md, P, T


def _signed_block(md: _Model, sp: np.ndarray, sn: np.ndarray, bias: np.ndarray, P: list, Plo, Phi):
    """A block on a signed input h = u - v (u = relu(h), v = relu(-h)): s+ u - s- v + bias."""
    us, vs = [], []
    for j, h in enumerate(P):
        u, _, uh = md.relu(h, Plo[j], Phi[j])
        v = md.var(0.0, max(0.0, -Plo[j]))
        coefs = {v: -1.0}
        for var, c in ((u, 1.0), (h, -1.0)):  # u is h itself when h >= 0 on the box: then v = 0 (not h = 0)
            coefs[var] = coefs.get(var, 0.0) + c
        md.cons(coefs, 0.0, 0.0)
        us.append(u)
        vs.append(v)
    W2 = np.concatenate([sp, -sn], 1)
    lo2 = np.concatenate([np.maximum(Plo, 0), np.zeros(len(P))])
    hi2 = np.concatenate([np.maximum(Phi, 0), np.maximum(-Plo, 0)])
    return md.linear(W2, bias, us + vs, lo2, hi2)


def _solve(md: _Model, P: list[int], T: list[int], n0: int, time_limit: float):
    """max over outputs and signs of sign (P_o - T_o) with HiGHS: the best value, the largest dual bound, whether
    every MILP was proven optimal, and the input attaining the best value (None without an incumbent)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    A = lil_matrix((len(md.rows), len(md.lb)))
    for i, row in enumerate(md.rows):
        for j, c in row.items():
            A[i, j] = c
    cons = LinearConstraint(A.tocsr(), md.rlo, md.rhi)
    bounds = Bounds(md.lb, md.ub)
    integrality = np.array(md.integer, dtype=int)
    best, bound, optimal, arg = -np.inf, -np.inf, True, None
    for o in range(len(P)):
        for sign in (1.0, -1.0):
            c = np.zeros(len(md.lb))
            c[P[o]] -= sign
            c[T[o]] += sign
            res = milp(c, constraints=cons, bounds=bounds, integrality=integrality,
                       options={"time_limit": float(time_limit), "mip_rel_gap": 1e-9, "disp": False})
            optimal &= res.status == 0
            if res.x is None:  # the time limit struck before any feasible point: only a dual bound, if any
                dual = getattr(res, "mip_dual_bound", None)
                bound = max(bound, -float(dual) if dual is not None and np.isfinite(dual) else np.inf)
                continue
            val = -float(res.fun)
            dual = -float(getattr(res, "mip_dual_bound", res.fun))
            bound = max(bound, dual if np.isfinite(dual) else val)
            if val > best:
                best, arg = val, res.x[:n0].copy()
    return best, bound, optimal, arg
