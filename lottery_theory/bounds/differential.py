r"""Differential certificate: a rigorous upper bound on :math:`\sup_{x\in[lo,hi]}|f_P(x)-f_T(x)|` that bounds the
**difference** of ticket and target directly (docs/theory.md, "Differential certificate"; in the spirit of
ReluDiff / NeuroDiff, Paulsen et al. 2020, with CROWN-style back-substitution, Zhang et al. 2018).

Variables per target layer ``l``: the target's pre-activations :math:`z_l` (``n_l``) and, per ticket copy ``q``
of target neuron ``rows[q]`` (``R_l`` copies), the error :math:`\delta_q = \hat z_q - z_{rows[q]}`. What the
ticket realises (:class:`RealisedLayer`) gives exact linear relations

.. math:: z_l = W_l h_{l-1} + b_l,\qquad
          \delta_l = \bar C_l\, \delta h_{l-1} + \Delta_l\, h_{l-1} + D_l\, |\hat h_{l-1}| + \Delta b_l,

with :math:`\bar C = (C^+ + C^-)/2`, :math:`D = (C^+ - C^-)/2` (a univariate block unit is two-sided:
:math:`\varphi(t) = \bar c\, t + d\,|t|`; ``D = 0`` where the inputs are non-negative),
:math:`\Delta_l = \bar C_l P_{l-1} - W_l[rows_l]` (``P`` sums the copies of a target neuron) and
:math:`\Delta b_l = \hat b_l - b_l[rows_l]`. Activations are replaced by linear bounds: the target's
:math:`h = \sigma(z)` (triangle for (Leaky)ReLU, parallel lines with the smallest slope for Tanh/Sigmoid) and
the error :math:`\delta h = \sigma(z + \delta) - \sigma(z) = \kappa\,\delta` with the secant slope
:math:`\kappa \in [\kappa^-, \kappa^+]` (the range of :math:`\sigma'` on the hull of both pre-activations),
bounded by the chords of :math:`\max(\kappa^+\delta, \kappa^-\delta)` and :math:`\min(\kappa^+\delta,
\kappa^-\delta)`. Back-substituting an output's error to the input leaves :math:`\sum_j a_j x_j + d_j |x_j|`
plus a constant, whose maximum over the box is exact per coordinate (at ``lo``, ``hi`` or 0). Unlike the
interval certificate, the input is shared by all paths, so errors of opposite sign cancel.

Input splitting (``max_boxes > 1``) bisects the boxes where the bound is largest (up to ``SPLIT_BATCH`` per round,
their children bounded together in one batched pass); each sub-box recomputes all intermediate bounds, so the
certificate converges to the exact sup as the boxes shrink (useful for inputs of a few dimensions).

Floating point: everything runs in float64; a second pass with the absolute value of every coefficient,
slope, intercept and input bound gives ``M``, which bounds every partial sum, and each bound is padded outward
by :math:`2\gamma_N M` with :math:`\gamma_N = N u/(1 - N u)`, ``u = 2^{-53}``, ``N`` the longest chain of
additions (docs/theory.md). Intermediate bounds are padded the same way before they choose a relaxation.
"""
from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from .certificate import Certificate, RealisedLayer, box_tensors

U = 2.0 ** -53
SPLIT_BATCH = 64  # boxes split per batched pass (their children are bounded together)
BATCH_BYTES = 64 << 20  # memory a batched pass may hold: tickets with many copies get smaller batches (down to 1)


def rounding_gamma(n: int) -> float:
    """Higham's gamma_n = n u / (1 - n u): a float64 sum of n terms errs by at most gamma_n times the sum of
    their absolute values."""
    return n * U / (1 - n * U)


class DifferentialUnsupported(ValueError):
    """The differential certificate does not apply to this target or ticket (conv layers, pooling, ...)."""


class _Net:
    """The target's Linear layers and activations with each ticket layer's relation (module docstring)."""

    def __init__(self, target, realised: Sequence[RealisedLayer], input_shape) -> None:
        import torch

        self._read_target(target)
        if len(realised) != len(self.W):
            raise ValueError(f"realised needs one entry per Linear layer of the target ({len(self.W)}), "
                             f"got {len(realised)}")
        if int(np.prod(input_shape)) != self.W[0].shape[1]:
            raise DifferentialUnsupported("input shape does not match the first Linear layer")
        self.rows, self.Cb, self.D, self.Dl, self.Db, self.err = [], [], [], [], [], []
        prev_rows = None
        for k, r in enumerate(realised):
            prev_rows = self._read_layer(k, r, prev_rows)
        if not torch.equal(self.rows[-1], torch.arange(self.W[-1].shape[0])):
            raise DifferentialUnsupported("the ticket's output layer is not one unit per target output")
        self.N = 8 * (sum(w.shape[1] for w in self.W) + sum(len(r) for r in self.rows)) + 64

    def _read_target(self, target) -> None:
        """The target's leading activations, Linear layers (float64) and the activation after each."""
        import torch
        from torch import nn

        dt = torch.float64
        mods = [m for m in target.children() if not isinstance(m, (nn.Identity, nn.Flatten, nn.Dropout))]
        self.lead = []  # activations before the first Linear: both networks see the same act(x)
        while mods and not isinstance(mods[0], nn.Linear):
            if not _is_act(mods[0]):
                raise DifferentialUnsupported(f"differential certificate: cannot handle a {type(mods[0]).__name__} "
                                              f"(chains of Linear layers and activations only; the interval certificate "
                                              f"handles conv and pooling)")
            self.lead.append(mods.pop(0))
        self.W, self.b, self.acts = [], [], []
        for m in mods:
            if isinstance(m, nn.Linear):
                self.W.append(m.weight.detach().to(dt))
                self.b.append(m.bias.detach().to(dt) if m.bias is not None else torch.zeros(m.out_features, dtype=dt))
                self.acts.append(None)
            elif _is_act(m) and self.acts and self.acts[-1] is None:
                self.acts[-1] = m
            else:
                raise DifferentialUnsupported(f"differential certificate handles chains of Linear layers and "
                                              f"activations (ReLU, LeakyReLU, Tanh, Sigmoid), not a "
                                              f"{type(m).__name__} here")
        if not self.W:
            raise DifferentialUnsupported("target has no Linear layer")

    def _read_layer(self, k: int, r: RealisedLayer, prev_rows):
        """Ticket layer ``k``'s relation to target layer ``k``: its copies' rows, the mean and half-difference of its
        slopes on the two signs (C_bar, D), its deviation from the target (Delta, Delta b) and the rounding radii
        (docs/theory.md); returns its rows (the next layer's ``prev_rows``)."""
        import torch

        dt = torch.float64
        rows = torch.as_tensor(np.asarray(r.rows, dtype=np.int64))
        n_prev = self.W[k].shape[1]
        copied = k > 0 and getattr(r, "coef", None) is not None
        if not copied:
            if k > 0 and not torch.equal(prev_rows, torch.arange(n_prev)):
                raise DifferentialUnsupported("a copied layer without its copy coefficients")
            sp = torch.as_tensor(np.asarray(r.s_pos, float), dtype=dt).reshape(len(rows), -1)
            sn = torch.as_tensor(np.asarray(r.s_neg, float), dtype=dt).reshape(len(rows), -1)
            Cp, Cn = sp, (sp if k > 0 and _nonneg(self.acts[k - 1]) else sn)
        else:
            C = torch.as_tensor(np.asarray(r.coef, float), dtype=dt)
            if C.shape != (len(rows), len(prev_rows)):
                raise DifferentialUnsupported("copy coefficients do not match the previous layer's copies")
            Cp = Cn = C
        Cbar, D = (Cp + Cn) / 2, (Cp - Cn) / 2
        eff = torch.zeros(len(rows), n_prev, dtype=dt).index_add_(1, prev_rows, Cbar) if copied else Cbar
        self.rows.append(rows)
        self.Cb.append(Cbar)
        self.D.append(D if bool(torch.any(D != 0)) else None)
        Dl = eff - self.W[k][rows]
        Db = torch.as_tensor(np.asarray(r.bias, float), dtype=dt).reshape(-1) - self.b[k][rows]
        self.Dl.append(Dl)
        self.Db.append(Db)
        # rounding radii (docs/theory.md): of the realised sums (on the ticket's input h_hat), of our own
        # C_bar, D, Delta and Delta b (on h_hat, h and 1)
        errC = U * (Cbar.abs() + D.abs())
        if getattr(r, "err", None) is not None:
            errC = errC + torch.as_tensor(np.asarray(r.err, float), dtype=dt).reshape(errC.shape)
        errD = U * (Dl.abs() + self.W[k][rows].abs())
        if copied:
            errD = errD + rounding_gamma(len(prev_rows) + 1) * torch.zeros_like(Dl).index_add_(1, prev_rows, Cbar.abs())
        errb = U * (Db.abs() + self.b[k][rows].abs())
        if getattr(r, "err_bias", None) is not None:
            errb = errb + torch.as_tensor(np.asarray(r.err_bias, float), dtype=dt).reshape(-1)
        self.err.append((errC, errD, errb))
        return rows

    def box_bytes(self) -> int:
        """About the bytes one box holds at the peak of a pass (the widest back-substitution batch, a few live
        tensors of it), to size batches within ``BATCH_BYTES``."""
        rows = max(2 * (w.shape[0] + 2 * len(r)) for w, r in zip(self.W, self.rows))
        cols = max([w.shape[1] for w in self.W] + [len(r) for r in self.rows])
        return 8 * 8 * rows * cols

    # ------------------------------------------------------------------ boxes
    def bounds(self, lo, hi):
        """Per-output upper bound of |ticket - target| on a box: ``lo``, ``hi`` of shape [n0] (returns [n_out]) or
        a batch of boxes [nb, n0] evaluated together (returns [nb, n_out]; every tensor below carries the batch
        as its first dimension, so one pass costs about as many Python operations as one box)."""
        import torch

        one = lo.dim() == 1
        lo, hi = (lo[None], hi[None]) if one else (lo, hi)
        for a in self.lead:
            lo, hi = a(lo), a(hi)
        self.lo, self.hi = lo, hi
        from torch import nn

        self.relax = []  # per hidden layer: (h relaxation, delta relaxation, |h_hat| range, max |h|)
        self.free, self.alpha = [], None
        L = len(self.W)
        nb = lo.shape[0]
        xmax = torch.maximum(lo.abs(), hi.abs())
        self.e = [self._round_err(0, xmax, xmax)]
        for k in range(L):
            act = self.acts[k]
            if k == L - 1 and act is None:
                break
            zl, zu, dl, du, hl, hu = self._layer_bounds(k)
            r = self.rows[k]
            hat = _abs_range(act, hl, hu)
            hmax = _abs_range(act, zl, zu)[1]
            self.relax.append((_h_relax(act, zl, zu), _d_relax(act, zl[..., r], zu[..., r], dl, du, hl, hu), hat,
                               hmax))
            free = None  # neurons whose lower ReLU slope may be any value in [ns, 1] (alpha-optimised)
            if isinstance(act, (nn.ReLU, nn.LeakyReLU)):
                free = (zl < 0) & (zu > 0)
                free = free if bool(free.any()) else None
            self.free.append(free)
            if k + 1 < L:
                self.e.append(self._round_err(k + 1, hat[1], hmax))
        n_out = len(self.rows[-1])
        eye = torch.eye(n_out, dtype=torch.float64)
        Ld = torch.cat([eye, -eye]).expand(nb, -1, -1)
        Lz = torch.zeros(nb, 2 * n_out, self.W[-1].shape[0], dtype=torch.float64)
        def final():
            if self.acts[-1] is not None:  # the output is act(z): relax the error there first
                Lz2, Ld2, c0, _, _, m0 = self._through_act(L - 1, Lz, Ld)
            else:
                Lz2, Ld2 = Lz, Ld
                c0 = m0 = torch.zeros(nb, 2 * n_out, dtype=torch.float64)
            return self._back(L - 1, Lz2, Ld2, c0, m0)

        up = final()
        if self.alpha_steps and any(f is not None for f in self.free):
            up = torch.minimum(up, self._optimise(final, 2 * n_out))
        out = torch.maximum(up[..., :n_out], up[..., n_out:])
        return out[0] if one else out

    alpha_steps = 0

    def _optimise(self, final, rows):
        """alpha-CROWN on the last pass (Xu et al. 2021): the lower slope of every unstable (Leaky)ReLU of the
        target is a free parameter in [ns, 1] (any such line lies below the activation, so every value gives a
        sound bound), one per output row; projected Adam on the sum of the rows' bounds, intermediate bounds
        fixed. Returns the smallest bound seen per row (each one sound)."""
        import torch

        params = []
        self.alpha = []
        for k, free in enumerate(self.free):
            if free is None:
                self.alpha.append(None)
                continue
            al = self.relax[k][0][2]
            a = al[:, None, :].expand(-1, rows, -1).clone().requires_grad_(True)
            params.append((a, float(getattr(self.acts[k], "negative_slope", 0.0))))
            self.alpha.append((a, free))
        opt = torch.optim.Adam([a for a, _ in params], lr=0.1)
        best = None
        try:
            with torch.enable_grad():
                for _ in range(self.alpha_steps):
                    up = final()
                    best = up.detach() if best is None else torch.minimum(best, up.detach())
                    opt.zero_grad()
                    up.sum().backward()
                    opt.step()
                    with torch.no_grad():
                        for a, ns in params:
                            a.clamp_(ns, 1.0)
            with torch.no_grad():
                best = torch.minimum(best, final())
        finally:
            self.alpha = None
        return best

    def _round_err(self, k, hat_max, h_max):
        """Per copy of layer ``k``: bound on what rounding can move its error (the radii times the inputs' size)."""
        errC, errD, errb = self.err[k]
        return hat_max @ errC.T + h_max @ errD.T + errb

    def _layer_bounds(self, k):
        """Bounds of the target's z_k, the copies' errors delta_k and the ticket's own pre-activations
        z_k[rows] + delta_k (back-substituted together: tighter than adding the first two intervals)."""
        import torch

        n, R = self.W[k].shape[0], len(self.rows[k])
        nb = self.lo.shape[0]
        B = 2 * (n + 2 * R)
        Lz = torch.zeros(B, n, dtype=torch.float64)
        Ld = torch.zeros(B, R, dtype=torch.float64)
        i, j = torch.arange(n), torch.arange(R)
        Lz[i, i], Lz[n + i, i] = 1.0, -1.0
        o = 2 * n
        Ld[o + j, j], Ld[o + R + j, j] = 1.0, -1.0
        o = 2 * n + 2 * R
        Lz[o + j, self.rows[k]], Ld[o + j, j] = 1.0, 1.0
        Lz[o + R + j, self.rows[k]], Ld[o + R + j, j] = -1.0, -1.0
        z0 = torch.zeros(nb, B, dtype=torch.float64)
        up = self._back(k, Lz.expand(nb, -1, -1), Ld.expand(nb, -1, -1), z0, z0.clone())
        zl, zu = -up[:, n:2 * n], up[:, :n]
        dl, du = -up[:, 2 * n + R:2 * n + 2 * R], up[:, 2 * n:2 * n + R]
        r = self.rows[k]
        hl = torch.maximum(-up[:, o + R:], zl[:, r] + dl)
        hu = torch.minimum(up[:, o:o + R], zu[:, r] + du)
        return zl, zu, dl, du, hl, hu

    def _through_act(self, k, Lh, Ldh, Ah=None, Adh=None):
        """Coefficients on layer ``k``'s activation outputs (h_k, delta h_k) -> coefficients on (z_k, delta_k)
        (the upper relaxation where a coefficient is positive, the lower where negative), the constant they
        add, and the absolute pass's coefficients and constant (for the rounding margin)."""
        import torch

        Ah = Lh.abs() if Ah is None else Ah
        Adh = Ldh.abs() if Adh is None else Adh
        # per-box relaxations [nb, n] -> [nb, 1, n], against the batch of rows [nb, B, n]
        au, cu, al, cl = (t[:, None] for t in self.relax[k][0])
        bu, qu, eu, bl, ql, el = (t[:, None] for t in self.relax[k][1])
        if self.alpha is not None and self.alpha[k] is not None:  # the final pass, alpha-optimised
            a, free = self.alpha[k]
            al = torch.where(free[:, None], a, al)
        pos, posd = Lh >= 0, Ldh >= 0
        Lq = torch.where(posd, Ldh * qu, Ldh * ql)  # DC-5: a bound of delta h in z
        Lz = torch.where(pos, Lh * au, Lh * al).index_add(2, self.rows[k], Lq)
        Ld = torch.where(posd, Ldh * bu, Ldh * bl)
        c = torch.where(pos, Lh * cu, Lh * cl).sum(-1) + torch.where(posd, Ldh * eu, Ldh * el).sum(-1)
        Az = (Ah * torch.maximum(au.abs(), al.abs())).index_add(2, self.rows[k], Lq.abs())
        Ad = Adh * torch.maximum(bu.abs(), bl.abs())
        m = (Ah * torch.maximum(cu.abs(), cl.abs())).sum(-1) + (Adh * torch.maximum(eu.abs(), el.abs())).sum(-1)
        return Lz, Ld, c, Az, Ad, m

    def _back(self, k, Lz, Ld, const, mag):
        """Upper bound of ``Lz . z_k + Ld . delta_k + const`` over the box (rows of a batch), padded by the
        rounding margin. ``mag`` carries the absolute pass."""
        import torch

        Az, Ad = Lz.abs(), Ld.abs()  # absolute pass: magnitudes of every partial sum
        while True:
            e = self.e[k][:, None]  # [nb, 1, R]: each box's rounding radii
            const = const + Lz @ self.b[k] + Ld @ self.Db[k] + (Ld.abs() * e).sum(-1)
            mag = mag + Az @ self.b[k].abs() + Ad @ self.Db[k].abs() + (Ad * e).sum(-1)
            if self.D[k] is not None and k > 0:
                g = Ld @ self.D[k]
                amin, amax = (t[:, None] for t in self.relax[k - 1][2])
                const = const + (g.clamp(min=0) * amax + g.clamp(max=0) * amin).sum(-1)
                mag = mag + (Ad @ self.D[k].abs() * amax).sum(-1)
            if k == 0:
                a = Lz @ self.W[0] + Ld @ self.Dl[0]
                Aa = Az @ self.W[0].abs() + Ad @ self.Dl[0].abs()
                lo, hi = self.lo[:, None], self.hi[:, None]
                if self.D[0] is not None:
                    d = Ld @ self.D[0]
                    Ab = Ad @ self.D[0].abs()
                else:
                    d = torch.zeros_like(a)
                    Ab = d
                v = torch.maximum(a * lo + d * lo.abs(), a * hi + d * hi.abs())
                v = torch.where((lo < 0) & (hi > 0), v.clamp(min=0), v)
                const = const + v.sum(-1)
                mag = mag + ((Aa + Ab) * torch.maximum(lo.abs(), hi.abs())).sum(-1)
                return const + 2 * rounding_gamma(self.N) * mag
            Lh = Lz @ self.W[k] + Ld @ self.Dl[k]
            Ldh = Ld @ self.Cb[k]
            Ah = Az @ self.W[k].abs() + Ad @ self.Dl[k].abs()
            Adh = Ad @ self.Cb[k].abs()
            Lz, Ld, c, Az, Ad, m = self._through_act(k - 1, Lh, Ldh, Ah, Adh)
            const, mag = const + c, mag + m
            k -= 1


def _is_act(m) -> bool:
    from torch import nn

    return isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid))


def _nonneg(act) -> bool:
    from torch import nn

    return isinstance(act, (nn.ReLU, nn.Sigmoid))


def _slope_range(act, a, b):
    """Smallest and largest derivative of ``act`` on [a, b] (elementwise); ``None`` is the identity."""
    import torch
    from torch import nn

    if act is None:
        return torch.ones_like(a), torch.ones_like(a)
    if isinstance(act, (nn.ReLU, nn.LeakyReLU)):
        ns = 0.0 if isinstance(act, nn.ReLU) else float(act.negative_slope)
        lo = torch.where(a >= 0, torch.ones_like(a), torch.full_like(a, ns))
        hi = torch.where(b <= 0, torch.full_like(a, ns), torch.ones_like(a))
        return lo, hi

    def der(z):
        if isinstance(act, nn.Tanh):
            return 1 - torch.tanh(z) ** 2
        s = torch.sigmoid(z)
        return s * (1 - s)

    near0 = torch.clamp(torch.zeros_like(a), a, b)
    # derivative is unimodal with its peak at 0: the smallest value is at an end; 0.5 ulp-level slack below
    return torch.minimum(der(a), der(b)) * (1 - 1e-12), der(near0) * (1 + 1e-12)


def _h_relax(act, l, u):
    """Linear bounds ``al z + cl <= act(z) <= au z + cu`` on [l, u] (slopes and intercepts per neuron)."""
    import torch
    from torch import nn

    if act is None:
        one, zero = torch.ones_like(l), torch.zeros_like(l)
        return one, zero, one, zero
    if isinstance(act, (nn.ReLU, nn.LeakyReLU)):
        ns = 0.0 if isinstance(act, nn.ReLU) else float(act.negative_slope)
        unst = (l < 0) & (u > 0)
        w = torch.where(unst, u - l, torch.ones_like(l))
        s = torch.where(unst, (u - ns * l) / w, torch.where(l >= 0, torch.ones_like(l), torch.full_like(l, ns)))
        cu = torch.where(unst, u - s * u, torch.zeros_like(l))
        al = torch.where(unst, torch.where(u >= -l, torch.ones_like(l), torch.full_like(l, ns)), s)
        return s, cu, al, torch.zeros_like(l)
    m, _ = _slope_range(act, l, u)
    return m, act(u) - m * u, m, act(l) - m * l


def _d_relax(act, zl, zu, dl, du, hl, hu):
    """Linear bounds ``sl d + ql z + cl <= act(z + d) - act(z) <= su d + qu z + cu`` for z in [zl, zu], d in
    [dl, du], z + d in [hl, hu] (module docstring): the chords of the secant-slope range (``q = 0``), or, for (Leaky)ReLU copies
    where exactly one of z and z + d keeps its sign, the stable side written out exactly and the other side's
    triangle (docs/theory.md), whichever leaves the smaller gap at its widest."""
    import torch
    from torch import nn

    kl, ku = _slope_range(act, torch.minimum(zl, hl), torch.maximum(zu, hu))
    span = du - dl
    mixed = (dl < 0) & (du > 0)
    sp = torch.where(mixed, span, torch.ones_like(span))
    su = torch.where(mixed, (ku * du - kl * dl) / sp, torch.where(dl >= 0, ku, kl))
    cu = torch.where(mixed, kl * dl - su * dl, torch.zeros_like(dl))
    sl = torch.where(mixed, (kl * du - ku * dl) / sp, torch.where(dl >= 0, kl, ku))
    cl = torch.where(mixed, ku * dl - sl * dl, torch.zeros_like(dl))
    qu, ql = torch.zeros_like(dl), torch.zeros_like(dl)
    if not isinstance(act, (nn.ReLU, nn.LeakyReLU)):
        return su, qu, cu, sl, ql, cl
    ns = 0.0 if isinstance(act, nn.ReLU) else float(act.negative_slope)
    def widest(su_, qu_, cu_, sl_, ql_, cl_):  # largest upper - lower over the corners of the (d, z) box
        return torch.stack([(su_ - sl_) * d + (qu_ - ql_) * z + cu_ - cl_ for d in (dl, du) for z in (zl, zu)]).amax(0)

    z_unst, h_unst = (zl < 0) & (zu > 0), (hl < 0) & (hu > 0)
    zero = torch.zeros_like(dl)
    # z stable (slope t = 1 or ns), z + d unstable: act(z + d) - t z with the triangle of act on [hl, hu]
    ta, tca, tal, _ = _h_relax(act, hl, hu)
    t = torch.where(zl >= 0, torch.ones_like(zl), torch.full_like(zl, ns))
    h_rel = (ta, ta - t, tca, tal, tal - t, zero)
    # z + d stable (slope t2), z unstable: t2 (z + d) - act(z) with the triangle of act on [zl, zu]
    za, zca, zal, _ = _h_relax(act, zl, zu)
    t2 = torch.where(hl >= 0, torch.ones_like(hl), torch.full_like(hl, ns))
    z_rel = (t2, t2 - zal, zero, t2, t2 - za, -zca)
    gap = widest(su, qu, cu, sl, ql, cl)
    use_h = (~z_unst) & h_unst & (widest(*h_rel) < gap)
    use_z = z_unst & (~h_unst) & (widest(*z_rel) < gap)
    su, qu, cu, sl, ql, cl = (torch.where(use_h, a, torch.where(use_z, b, c))
                              for a, b, c in zip(h_rel, z_rel, (su, qu, cu, sl, ql, cl)))
    return su, qu, cu, sl, ql, cl


def _abs_range(act, zl, zu):
    """Smallest and largest |act(z)| for z in [zl, zu]."""
    import torch

    a, b = (zl, zu) if act is None else (act(zl), act(zu))
    amax = torch.maximum(a.abs(), b.abs())
    amin = torch.where((a <= 0) & (b >= 0), torch.zeros_like(a), torch.minimum(a.abs(), b.abs()))
    return amin, amax


def _split(net: _Net, lo_t, hi_t, max_boxes: int, stop_at: float | None) -> list:
    """Best-first input splitting (:func:`differential_certificate`): the open boxes as a heap of
    ``(-bound, tick, lo, hi, per-output bound)``."""
    import torch

    out = net.bounds(lo_t, hi_t)
    heap = [(-float(out.max()), 0, lo_t, hi_t, out)]
    tick = 1
    cap = max(1, BATCH_BYTES // net.box_bytes())  # boxes per pass
    while len(heap) < max_boxes:
        if stop_at is not None and -heap[0][0] <= stop_at:
            break
        # split the largest-bound boxes together: as many as fit, at most SPLIT_BATCH (and only boxes above
        # stop_at), each along its widest coordinate; their children are bounded in batched passes
        room = min(SPLIT_BATCH, max(1, cap // 2), max_boxes - len(heap))  # each split opens one more box
        split, points = [], []
        while heap and len(split) + len(points) < room and (stop_at is None or -heap[0][0] > stop_at):
            t = heapq.heappop(heap)
            (split if bool(torch.any(t[3] > t[2])) else points).append(t)  # a point box cannot be split
        for t in points:
            heapq.heappush(heap, t)
        if not split:
            break
        los, his, parents = [], [], []
        for _, _, blo, bhi, parent in split:
            j = int(torch.argmax(bhi - blo))
            mid = (blo[j] + bhi[j]) / 2
            at = torch.arange(len(bhi)) == j
            los += [blo, torch.where(at, mid, blo)]
            his += [torch.where(at, mid, bhi), bhi]
            parents += [parent, parent]
        L, H = torch.stack(los), torch.stack(his)
        o = torch.cat([net.bounds(L[i:i + cap], H[i:i + cap]) for i in range(0, len(L), cap)])
        o = torch.minimum(o, torch.stack(parents))  # the parent's bound holds on the child too
        for i in range(len(los)):
            heapq.heappush(heap, (-float(o[i].max()), tick, los[i], his[i], o[i]))
            tick += 1
    return heap


def differential_certificate(target, realised: Sequence[RealisedLayer], lo, hi, input_shape=None, *,
                             max_boxes: int = 1, stop_at: float | None = None, alpha_steps: int = 0) -> Certificate:
    """Certified :math:`\\sup_{x\\in[lo,hi]}|f_P(x) - f_T(x)|` by differential back-substitution (module docstring),
    for targets that are chains of Linear layers and ReLU/LeakyReLU/Tanh/Sigmoid activations (2L and L+1
    tickets). ``max_boxes > 1`` bisects the input box (largest bounds first, up to ``SPLIT_BATCH`` boxes per batched
    round, each along its widest coordinate) until the bound
    is below ``stop_at`` or ``max_boxes`` boxes are open (work bounded by counts, not time, so the bound is the same on
    any machine).
    Raises :class:`DifferentialUnsupported` (a ValueError) for conv/pooling targets."""
    import torch
    from torch import nn

    if isinstance(max_boxes, bool) or not isinstance(max_boxes, (int, np.integer)) or max_boxes < 1:
        raise ValueError(f"max_boxes must be a positive integer, got {max_boxes!r}")
    if not isinstance(target, nn.Module):
        raise TypeError(f"target must be an nn.Module, got {type(target).__name__}")
    if input_shape is None:
        first = next((m for m in target.modules() if isinstance(m, (nn.Linear, nn.Conv2d))), None)
        if not isinstance(first, nn.Linear):
            raise DifferentialUnsupported("differential certificate: the target's first layer is not Linear")
        input_shape = (first.in_features,)
    lo_t, hi_t = box_tensors(lo, hi, tuple(input_shape))
    net = _Net(target, realised, input_shape)
    if isinstance(alpha_steps, bool) or not isinstance(alpha_steps, (int, np.integer)) or alpha_steps < 0:
        raise ValueError(f"alpha_steps must be a non-negative integer, got {alpha_steps!r}")
    net.alpha_steps = int(alpha_steps)
    lo_t, hi_t = lo_t.reshape(-1), hi_t.reshape(-1)
    with torch.no_grad():
        heap = _split(net, lo_t, hi_t, max_boxes, stop_at)
        per_out = torch.stack([h[4] for h in heap]).max(0).values
    per_out = per_out.clamp(min=0)
    return Certificate(upper=float(per_out.max()), per_layer=[], output=per_out.numpy())
