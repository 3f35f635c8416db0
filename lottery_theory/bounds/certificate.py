r"""Rigorous upper bound on :math:`\sup_{x \in [lo, hi]} |f_P(x) - f_T(x)|` from the **realised** weights
of a ticket ``f_P`` and its target ``f_T`` (docs/theory.md, section "Certificates").

The construction tells, for every Linear/Conv2d layer ``l`` of the target, what the ticket realises in its
place: rows ``q`` (copies of target neuron ``rows[q]``) whose pre-activation is

.. math:: \hat z_q = \sum_j \varphi_{qj}(\hat h_j) + \hat b_q,\qquad
          \varphi_{qj}(t) = s^+_{qj}\, t \;(t \ge 0),\quad s^-_{qj}\, t \;(t < 0),

where :math:`\hat h_j` is the ticket's value for the target input :math:`h_j`, with
:math:`|\hat h_j - h_j| \le e_j`. Then, for the target's :math:`z_i = \sum_j w_{ij} h_j + b_i`,

.. math:: |\hat z_q - z_{i}| \le \sum_j \sup_{t \in [lo_j, hi_j]} |\varphi_{qj}(t) - w_{ij} t|
          + \sum_j \Lambda_{qj}\, e_j + |\hat b_q - b_i| \qquad (i = rows[q]),

with :math:`\sup_t |\varphi(t) - w t| = \max(|s^+ - w|\,hi^+, |s^- - w|\,lo^-)` (``hi+ = max(hi, 0)``,
``lo- = max(-lo, 0)``) and :math:`\Lambda_{qj}` the Lipschitz constant of :math:`\varphi_{qj}` on the ticket's
domain (``|s+|`` where both activations are non-negative). The interval ``[lo, hi]`` of every target
activation comes from interval bound propagation (IBP) of the target's own weights, sign-aware. A ReLU maps
an error bound ``e`` on a pre-activation whose target value is at most ``zhi`` to ``min(e, relu(zhi + e))``
(both outputs vanish below zero). Max- and average-pooling are monotone and 1-Lipschitz in the sup norm.

This is tighter than the composition inequality (:func:`composition_bound`), which uses
:math:`\max_j |h_j|` instead of the interval, no ReLU clipping, and ``max(|s+ - w|, |s- - w|)``.
The bound is on the exact-arithmetic function of the realised (float32) weights; evaluation in float32
adds rounding of order 1e-6 relative.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class RealisedLayer:
    """What a ticket realises for one target Linear/Conv2d layer (arrays shaped ``[R, n_in_virtual]``,
    where a conv's virtual inputs are ``c_in * k_h * k_w``; ``rows[q]`` is the target row copy ``q`` stands for)."""
    s_pos: np.ndarray
    s_neg: np.ndarray
    bias: np.ndarray
    rows: np.ndarray
    lip: np.ndarray | None = None  # default: max(|s+|, |s-|) per entry (|s+| on non-negative inputs)
    coef: np.ndarray | None = None  # copy layers: [R, R_prev] weights on the previous layer's copies (s = coef P)
    err: np.ndarray | None = None  # rounding radius of s_pos / s_neg (float64 sums), shaped like them
    err_bias: np.ndarray | None = None  # rounding radius of bias


@dataclass
class Certificate:
    """``upper``: certified bound on the sup error over the box; ``per_layer``: max error bound after each
    target module; ``output``: the per-output bound."""
    upper: float
    per_layer: list = field(default_factory=list)
    output: np.ndarray | None = None


def _patches(x, layer):
    """``x`` [C, H, W] or [n] -> [n_in_virtual, P] (conv: unfolded patches; linear: one column)."""
    import torch
    import torch.nn.functional as F

    if isinstance(layer, torch.nn.Conv2d):
        return F.unfold(x[None], layer.kernel_size, padding=layer.padding, stride=layer.stride)[0]
    return x.reshape(-1, 1)


def _out_shape(layer, in_shape):
    import torch

    if isinstance(layer, torch.nn.Conv2d):
        _, h, w = in_shape
        kh, kw = layer.kernel_size
        (sh, sw), (ph, pw) = layer.stride, layer.padding
        return (layer.out_channels, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
    return (layer.out_features,)


def act_error(m, e, lo, hi):
    """Error bound after a monotone activation ``m`` (Tanh, Sigmoid, LeakyReLU with slope in [0, 1]): the ticket's
    pre-activation lies within ``e`` of the target's, which lies in [lo, hi], so by the mean-value theorem the
    outputs differ by at most ``e`` times the largest slope of ``m`` on [lo - e, hi + e]. Tanh' and Sigmoid' are
    largest at 0, so the slope is taken at the point of that segment nearest 0 (docs/theory.md)."""
    import torch
    from torch import nn

    z = torch.clamp(torch.zeros_like(lo), lo - e, hi + e)
    if isinstance(m, nn.Tanh):
        return e * (1 - torch.tanh(z) ** 2)
    if isinstance(m, nn.Sigmoid):
        s = torch.sigmoid(z)
        return e * s * (1 - s)
    if isinstance(m, nn.LeakyReLU):
        return e * torch.where(hi + e > 0, torch.ones_like(e), torch.full_like(e, float(m.negative_slope)))
    raise TypeError(f"no error rule for a {type(m).__name__} activation")


MONOTONE = ("Tanh", "Sigmoid", "LeakyReLU")


def _setup(target, lo, hi, input_shape):
    """The target's modules, its Linear/Conv2d layers, the input shape and the box as float64 tensors."""
    from torch import nn

    mods = list(target.children())
    lins = [m for m in mods if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not lins:
        raise ValueError("target has no Linear or Conv2d layer")
    if input_shape is None:
        if isinstance(lins[0], nn.Conv2d):
            raise ValueError("conv targets need input_shape=(channels, height, width)")
        input_shape = (lins[0].in_features,)
    lo_t, hi_t = box_tensors(lo, hi, input_shape)
    return mods, lins, tuple(input_shape), lo_t, hi_t


def box_tensors(lo, hi, shape):
    """``lo``/``hi`` (scalars or arrays) broadcast to ``shape`` as float64 tensors; finite, ``lo <= hi``."""
    import torch

    def one(v, name: str):
        if isinstance(v, (str, bytes, dict)) or isinstance(v, bool):
            raise TypeError(f"box {name} must be a number or an array of the input's shape {tuple(shape)}, got {v!r}")
        try:
            arr = np.asarray(v, float)
            return torch.as_tensor(np.broadcast_to(arr, shape).copy(), dtype=torch.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"box {name} must be a number or an array broadcastable to the input's shape "
                             f"{tuple(shape)}, got shape {np.shape(v)} ({e})") from None

    lo_t, hi_t = one(lo, "lo"), one(hi, "hi")
    if not (torch.all(torch.isfinite(lo_t)) and torch.all(torch.isfinite(hi_t))):
        raise ValueError("box bounds lo and hi must be finite")
    if torch.any(lo_t > hi_t):
        raise ValueError("box needs lo <= hi everywhere")
    return lo_t, hi_t


def _interval_layer(m, r: RealisedLayer, lo_t, hi_t, e, nonneg: bool):
    """One Linear/Conv2d layer of the interval certificate: the target's pre-activation interval and the error
    bound per output, :math:`|s^\\pm - w| \\cdot |x| + \\mathrm{lip} \\cdot e + |\\hat b - b|` maximised over copies
    (module docstring)."""
    import torch

    dt = torch.float64
    W = m.weight.detach().to(dt).reshape(m.weight.shape[0], -1)
    b = m.bias.detach().to(dt) if m.bias is not None else torch.zeros(W.shape[0], dtype=dt)
    out_shape = _out_shape(m, tuple(lo_t.shape))
    Plo, Phi, Pe = _patches(lo_t, m), _patches(hi_t, m), _patches(e, m)  # [n_in_v, P]
    c, rad = (Phi + Plo) / 2, (Phi - Plo) / 2
    zc, zr = W @ c + b[:, None], W.abs() @ rad
    zlo, zhi = zc - zr, zc + zr  # target pre-activation interval [n, P]
    rows = torch.as_tensor(np.asarray(r.rows, dtype=np.int64))
    sp, sn = (torch.as_tensor(np.asarray(x, float), dtype=dt).reshape(len(rows), -1) for x in (r.s_pos, r.s_neg))
    Wr = W[rows]
    hip, lom = Phi.clamp(min=0), (-Plo).clamp(min=0)
    dp, dn = (sp - Wr).abs(), (sn - Wr).abs()
    if nonneg:
        term = dp @ hip
        lip = sp.abs()
    else:  # exact per-term sup, chunked over rows to bound memory
        term = torch.cat([torch.maximum(dp[s:s + 256, :, None] * hip[None], dn[s:s + 256, :, None] * lom[None])
                          .sum(1) for s in range(0, len(rows), 256)])
        lip = torch.maximum(sp.abs(), sn.abs())
    if r.lip is not None:
        lip = torch.as_tensor(np.asarray(r.lip, float), dtype=dt).reshape(len(rows), -1)
    bh = torch.as_tensor(np.asarray(r.bias, float), dtype=dt).reshape(-1)
    gap = term + lip @ Pe + (bh - b[rows]).abs()[:, None]  # [R, P]
    g = torch.full((W.shape[0], gap.shape[1]), -np.inf, dtype=dt).scatter_reduce_(
        0, rows[:, None].expand_as(gap), gap, "amax")
    if torch.any(torch.isinf(g)):
        raise ValueError("realised layer leaves a target neuron without any copy")
    return zlo.reshape(out_shape), zhi.reshape(out_shape), g.reshape(out_shape)


def interval_certificate(target, realised: Sequence[RealisedLayer], lo, hi, input_shape=None) -> Certificate:
    """Certified :math:`\\sup_{x\\in[lo,hi]}|f_P(x) - f_T(x)|` (module docstring); ``target`` an ``nn.Sequential``
    of Linear/Conv2d/ReLU/Flatten/MaxPool2d/AvgPool2d/Identity, ``realised`` one entry per Linear/Conv2d,
    ``lo``/``hi`` scalars or arrays of the input's shape (``input_shape`` needed for conv targets)."""
    import torch
    from torch import nn

    mods, lins, input_shape, lo_t, hi_t = _setup(target, lo, hi, input_shape)
    if len(lins) != len(realised):
        raise ValueError(f"realised needs one entry per Linear/Conv2d layer of the target ({len(lins)}), "
                         f"got {len(realised)}")
    e = torch.zeros_like(lo_t)
    nonneg = bool(torch.all(lo_t >= 0))  # both networks' activations are >= 0 here
    per_layer, li = [], 0
    for m in mods:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            lo_t, hi_t, e = _interval_layer(m, realised[li], lo_t, hi_t, e, nonneg)
            li += 1
            nonneg = False
        elif isinstance(m, nn.ReLU):
            e = torch.minimum(e, (hi_t + e).clamp(min=0))
            lo_t, hi_t = lo_t.clamp(min=0), hi_t.clamp(min=0)
            nonneg = True
        elif isinstance(m, tuple(getattr(nn, a) for a in MONOTONE)):
            e = act_error(m, e, lo_t, hi_t)
            lo_t, hi_t = m(lo_t), m(hi_t)  # monotone: the interval maps to an interval
            nonneg = isinstance(m, nn.Sigmoid)
        elif isinstance(m, nn.Flatten):
            lo_t, hi_t, e = lo_t.reshape(-1), hi_t.reshape(-1), e.reshape(-1)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            lo_t, hi_t, e = m(lo_t[None])[0], m(hi_t[None])[0], m(e[None])[0]
        elif isinstance(m, nn.Identity):
            pass
        else:
            raise TypeError(f"interval_certificate cannot handle a {type(m).__name__} layer")
        per_layer.append(float(e.max()))
    out = e.reshape(-1).numpy()
    return Certificate(upper=float(out.max()), per_layer=per_layer, output=out)


def per_weight_budget(target, eps: float, lo, hi, input_shape=None, *, return_gains: bool = False):
    r"""Per-weight error budgets :math:`\varepsilon_l` (one per Linear/Conv2d layer) spent from the **realised**
    target instead of an assumed :math:`\|W\| \le 1` (docs/theory.md, "Certificates"):

    .. math:: \varepsilon_l = \frac{\varepsilon}{L\,(S_l + 1)\,\Gamma_l},\qquad
              S_l = \max_{\text{positions}} \sum_j \max(|lo_j|, |hi_j|),\quad
              \Gamma_l = \prod_{m > l} \| |W_m| \|_{\infty\to\infty},

    with the input intervals of layer ``l`` from interval propagation of the target over ``[lo, hi]``. If every
    weight and bias of layer ``l`` is realised within :math:`\varepsilon_l`, its pre-activations move by at most
    :math:`\varepsilon_l (S_l + 1)`, and later layers amplify that by about :math:`\Gamma_l` (1-Lipschitz
    activations): the total is about :math:`\varepsilon`. The certificate, not this budget, decides.
    With ``return_gains=True`` the pair (budgets, per-layer :math:`\| |W_l| \|_{\infty\to\infty}`) comes back."""
    import torch
    from torch import nn

    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    mods, lins, input_shape, lo_t, hi_t = _setup(target, lo, hi, input_shape)
    dt = torch.float64
    S, gains = [], []
    for m in mods:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            W = m.weight.detach().to(dt).reshape(m.weight.shape[0], -1)
            b = m.bias.detach().to(dt) if m.bias is not None else torch.zeros(W.shape[0], dtype=dt)
            Plo, Phi = _patches(lo_t, m), _patches(hi_t, m)
            S.append(float(torch.maximum(Plo.abs(), Phi.abs()).sum(0).max()))
            gains.append(float(W.abs().sum(1).max()))
            c, rad = (Phi + Plo) / 2, (Phi - Plo) / 2
            zc, zr = W @ c + b[:, None], W.abs() @ rad
            shape = _out_shape(m, tuple(lo_t.shape))
            lo_t, hi_t = (zc - zr).reshape(shape), (zc + zr).reshape(shape)
        elif isinstance(m, nn.ReLU):
            lo_t, hi_t = lo_t.clamp(min=0), hi_t.clamp(min=0)
        elif isinstance(m, tuple(getattr(nn, a) for a in MONOTONE)):
            lo_t, hi_t = m(lo_t), m(hi_t)
        elif isinstance(m, nn.Flatten):
            lo_t, hi_t = lo_t.reshape(-1), hi_t.reshape(-1)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            lo_t, hi_t = m(lo_t[None])[0], m(hi_t[None])[0]
    L = len(S)
    out = []
    for l in range(L):
        gamma = float(np.prod(gains[l + 1:])) if l + 1 < L else 1.0
        out.append(eps / (L * (S[l] + 1) * max(gamma, 1e-300)))
    return (out, gains) if return_gains else out


def composition_certificate(target, realised: Sequence[RealisedLayer], box: float, input_shape=None, *,
                            nonneg_input: bool = False) -> float:
    r"""The composition inequality (:func:`lottery_theory.bounds.composition_bound`) evaluated on what a ticket
    realises, over :math:`[-B, B]^{n_0}` (``nonneg_input``: :math:`[0, B]^{n_0}`, only the slopes :math:`s^+` act): per target neuron ``i`` (the worst of its copies)
    :math:`E_{ij} = \max_q \max(|s^+_{qj} - w_{ij}|, |s^-_{qj} - w_{ij}|)`, :math:`G_{ij} = \max_q \Lambda_{qj}`,
    :math:`\beta_i = \max_q |\hat b_q - b_i|`, and :math:`H` the symmetric activation bounds; per channel for
    conv layers (a channel's bound repeats over its kernel positions and, at a Flatten, over its pixels).
    Kept for comparison: :func:`interval_certificate` is never looser."""
    from torch import nn

    from .composition import composition_bound

    mods = list(target.children())
    lins = [m for m in mods if isinstance(m, (nn.Linear, nn.Conv2d))]
    if len(lins) != len(realised):
        raise ValueError(f"realised needs one entry per Linear/Conv2d layer ({len(lins)}), got {len(realised)}")
    if input_shape is None:
        input_shape = (lins[0].in_features,) if isinstance(lins[0], nn.Linear) else None
    if input_shape is None:
        raise ValueError("conv targets need input_shape=(channels, height, width)")
    import torch

    x = torch.zeros((1,) + tuple(input_shape), dtype=lins[0].weight.dtype)  # a shape probe in the target's dtype
    H = np.full(int(input_shape[0]), float(box))
    e = np.zeros_like(H)
    li, nonneg = 0, bool(nonneg_input)  # after a ReLU both networks' values are >= 0: only the slopes s+ act
    with torch.no_grad():
        for m in mods:
            in_shape = tuple(x.shape[1:])
            x = m(x)
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                r = realised[li]
                li += 1
                W = m.weight.detach().double().reshape(m.weight.shape[0], -1).numpy()
                b = m.bias.detach().double().numpy() if m.bias is not None else np.zeros(W.shape[0])
                rows = np.asarray(r.rows)
                sp = np.asarray(r.s_pos, float).reshape(len(rows), -1)
                sn = sp if nonneg else np.asarray(r.s_neg, float).reshape(len(rows), -1)
                lip = np.maximum(np.abs(sp), np.abs(sn)) if r.lip is None else \
                    np.asarray(r.lip, float).reshape(len(rows), -1)
                Eq = np.maximum(np.abs(sp - W[rows]), np.abs(sn - W[rows]))
                E, G, beta = np.zeros_like(W), np.zeros_like(W), np.zeros(W.shape[0])
                np.maximum.at(E, rows, Eq)
                np.maximum.at(G, rows, lip)
                np.maximum.at(beta, rows, np.abs(np.asarray(r.bias, float) - b[rows]))
                rep = W.shape[1] // len(H)
                Hv, ev = np.repeat(H, rep), np.repeat(e, rep)
                e = composition_bound([dict(E=E, G=G, H=Hv, beta=beta)])[0] + G @ ev
                H = np.abs(W) @ Hv + np.abs(b)
                nonneg = False
            elif isinstance(m, nn.ReLU):
                nonneg = True
            elif isinstance(m, tuple(getattr(nn, a) for a in MONOTONE)):  # 1-Lipschitz (Sigmoid 1/4) and |act(z)| <= |z| (Sigmoid: <= 1)
                if isinstance(m, nn.Sigmoid):
                    e, H = e / 4, np.ones_like(H)
                nonneg = isinstance(m, nn.Sigmoid)
            elif isinstance(m, nn.Flatten):
                spatial = int(np.prod(in_shape[1:])) if len(in_shape) > 1 else 1
                H, e = np.repeat(H, spatial), np.repeat(e, spatial)
    return float(e.max())
