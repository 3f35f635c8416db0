r"""A ticket's sup error as a bracket ``[lower, upper]`` over an input box (docs/theory.md, "Certificates").

* ``upper``: a certificate on what the rebuilt ticket network realises, read back from its own masked weights
  (not from the solver's report): :func:`lottery_theory.bounds.interval_certificate` (layer-wise intervals) or
  :func:`lottery_theory.bounds.differential_certificate` (the difference bounded directly, with input splitting
  for inputs of at most 16 dimensions), whichever is smaller (:func:`certify`).
* ``lower``: the best of random samples and a projected sign-gradient ascent (with restarts) on
  :math:`\pm(f_P(x) - f_T(x))_o` for the outputs ``o`` with the largest sampled gaps; the maximiser
  ``argmax`` is re-evaluated on the rebuilt ticket and the target in float64, and that value is ``lower``.

``random_max`` (the max over the random samples alone) is reported too, labelled as what it is.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..bounds.certificate import RealisedLayer, box_tensors, interval_certificate
from ..bounds.differential import rounding_gamma
from .blocks import masked_weight


@dataclass
class SupError:
    """``lower <= sup_{x in box} |ticket(x) - target(x)| <= upper``; ``argmax`` attains ``lower``."""
    lower: float
    upper: float
    argmax: torch.Tensor
    random_max: float
    composition: float | None = None
    method: str = "interval"  # what certified ``upper``: "interval", "differential", "exact" (the MILP, proven
    #                           optimal) or "milp-gap" (its dual bound when the time limit struck)
    interval: float | None = None  # the interval certificate, when computed
    differential: float | None = None  # the differential certificate, when computed and applicable

    def as_dict(self) -> dict:
        return {"lower": self.lower, "upper": self.upper, "random_max": self.random_max,
                "composition": self.composition, "method": self.method, "interval": self.interval,
                "differential": self.differential}


CERTIFY_METHODS = ("best", "cheapest", "interval", "differential")


SPLIT_BOXES = 256  # input boxes of the differential certificate for small tickets (bounded in batches of 64) ...
SPLIT_BATCHED_COPIES = 100  # ... whose layers have at most this many copies (a pass over many boxes is cheap);
SPLIT_BOXES_LARGE = 32  # larger ones (up to SPLIT_MAX_COPIES) are bounded one box at a time: 32 boxes
SPLIT_MAX_INPUTS = 16  # input splitting only pays for inputs of a few dimensions
SPLIT_MAX_COPIES = 1000  # ... and a box pass costs ~ copies^2: larger tickets get one box (L+1 of 10-20-20-1: 1,900)


def certify(ticket, lo, hi, *, method: str = "best", stop_at: float | None = None, max_boxes: int | None = None,
            realised=None, interval: float | None = None) -> dict:
    """Certified upper bound on the ticket's sup error over ``[lo, hi]``. ``method``: ``"interval"``,
    ``"differential"`` (refuses conv/pooling targets), ``"best"`` (both where the differential applies; the
    smaller wins) or ``"cheapest"`` (the interval certificate, and the differential only if the interval's bound
    is above ``stop_at``). The differential splits the input box of a small ticket (inputs of at most
    ``SPLIT_MAX_INPUTS`` dimensions, at most ``SPLIT_MAX_COPIES`` copies per layer) into up to ``max_boxes`` boxes
    (default ``SPLIT_BOXES`` for at most ``SPLIT_BATCHED_COPIES`` copies per layer, else ``SPLIT_BOXES_LARGE``)
    until its bound is at most ``stop_at``; other tickets get one box. The work is bounded by box counts, not wall time, so the result is
    the same on any machine. Returns ``{"upper", "method",
    "interval", "differential"}``. ``interval``: the interval certificate of this ticket and box when the caller
    has it already (it is then not recomputed)."""
    from ..bounds.differential import DifferentialUnsupported, differential_certificate

    if method not in CERTIFY_METHODS:
        raise ValueError(f"method must be one of {CERTIFY_METHODS}, got {method!r}")
    shape = tuple(ticket.input_shape)
    realised = ticket.realise() if realised is None else realised
    out = {"interval": None, "differential": None}
    if method != "differential":
        out["interval"] = (interval_certificate(ticket.target, realised, lo, hi, shape).upper if interval is None
                           else float(interval))
    need = method in ("best", "differential") or (method == "cheapest" and (stop_at is None or out["interval"] > stop_at))
    if need:
        copies = max(len(r.rows) for r in realised)
        if max_boxes is None:
            max_boxes = SPLIT_BOXES if copies <= SPLIT_BATCHED_COPIES else SPLIT_BOXES_LARGE
        if math.prod(shape) > SPLIT_MAX_INPUTS or copies > SPLIT_MAX_COPIES:
            max_boxes = 1
        try:
            out["differential"] = differential_certificate(ticket.target, realised, lo, hi, shape, max_boxes=max_boxes,
                                                           stop_at=stop_at).upper
        except DifferentialUnsupported:
            if method == "differential":
                raise
    cands = [(v, k) for k, v in out.items() if v is not None]
    up, name = min(cands)
    return {"upper": up, "method": name, **out}


def realise_block(A: nn.Module, B: nn.Module, rows: np.ndarray | None = None,
                  chunk_elements: int = 1 << 22) -> RealisedLayer:
    r"""What a block ``A -> ReLU -> B`` computes, when every live unit of ``A`` is univariate (one kept input
    edge and no bias) or constant (no input, output :math:`\mathrm{relu}(c_u)`):
    :math:`s^+ = W_B \max(W_A, 0)`, :math:`s^- = W_B \min(W_A, 0)`, :math:`\hat b = W_B\,\mathrm{relu}(c) + b_B`.
    ``B`` is read through its ``[out, units]`` view (a 1x1 conv for conv targets). Both layers are read in
    row chunks of about ``chunk_elements`` entries, and each univariate unit adds its column of ``W_B`` to the
    slope of its one input, so memory stays at the size of the result (a LeNet ticket at density 0.1 has
    a 628k x 784 block layer that a dense float64 product would need 4 GB for)."""
    units = A.weight.shape[0]
    wa2, ma2 = A.weight.detach().reshape(units, -1), A.mask.reshape(units, -1)
    n_in = wa2.shape[1]
    ca = A.bias.detach().double() * A.bias_mask if A.bias is not None else torch.zeros(units, dtype=torch.float64)
    j_of = torch.full((units,), -1, dtype=torch.long)
    a_of = torch.zeros(units, dtype=torch.float64)
    step = max(1, chunk_elements // max(1, n_in))
    for r0 in range(0, units, step):
        w = wa2[r0:r0 + step].double() * ma2[r0:r0 + step]
        nz = w != 0
        fan = nz.sum(1)
        if torch.any(fan > 1) or torch.any((fan == 1) & (ca[r0:r0 + step] != 0)):
            raise ValueError("block layer has units that are not univariate: cannot realise it as per-input slopes")
        one = torch.nonzero(fan == 1).flatten()
        j = nz[one].float().argmax(1)
        j_of[r0 + one] = j
        a_of[r0 + one] = w[one, j]
    const = torch.where(j_of < 0, ca.clamp(min=0), torch.zeros_like(ca))
    uni = torch.nonzero(j_of >= 0).flatten()
    ju, ap, an = j_of[uni], a_of[uni].clamp(min=0), a_of[uni].clamp(max=0)
    n_out = B.weight.shape[0]
    wb2, mb2 = B.weight.detach().reshape(n_out, -1), B.mask.reshape(n_out, -1)
    bb = B.bias.detach().double() * B.bias_mask if B.bias is not None else torch.zeros(n_out, dtype=torch.float64)
    s_pos = torch.zeros(n_out, n_in, dtype=torch.float64)
    s_neg = torch.zeros(n_out, n_in, dtype=torch.float64)
    s_abs = torch.zeros(n_out, n_in, dtype=torch.float64)  # sum of |terms|: bounds the sums' rounding
    bias = torch.zeros(n_out, dtype=torch.float64)
    b_abs = torch.zeros(n_out, dtype=torch.float64)
    step = max(1, chunk_elements // max(1, units))
    for r0 in range(0, n_out, step):
        wb = wb2[r0:r0 + step].double() * mb2[r0:r0 + step]
        wu = wb[:, uni]
        s_pos[r0:r0 + step].index_add_(1, ju, wu * ap)
        s_neg[r0:r0 + step].index_add_(1, ju, wu * an)
        s_abs[r0:r0 + step].index_add_(1, ju, (wu * a_of[uni]).abs())
        bias[r0:r0 + step] = wb @ const + bb[r0:r0 + step]
        b_abs[r0:r0 + step] = wb.abs() @ const + bb[r0:r0 + step].abs()
    if rows is None:
        rows = np.arange(n_out)
    g = rounding_gamma(units + 1)  # float32 x float32 products are exact in float64; only the sums round
    return RealisedLayer(s_pos=s_pos.numpy(), s_neg=s_neg.numpy(), bias=bias.numpy(), rows=np.asarray(rows),
                         err=(g * s_abs).numpy(), err_bias=(g * b_abs).numpy())


def realise_merge(layer: nn.Module, copy_of: np.ndarray, n_in: int, prev_bias: torch.Tensor,
                  prev_fan: torch.Tensor, rows: np.ndarray) -> RealisedLayer:
    r"""A copy layer (L+1 construction): unit ``m`` of the previous layer is a copy of target neuron
    ``copy_of[m]`` (``-1``: a constant unit with output :math:`\mathrm{relu}(c_m)`, which needs no input edge).
    :math:`S_{qj} = \sum_{m: copy\_of[m]=j} c_{qm}`, Lipschitz :math:`\sum_m |c_{qm}|`."""
    c, bq = masked_weight(layer)
    P = torch.zeros(c.shape[1], n_in, dtype=torch.float64)
    idx = torch.as_tensor(copy_of)
    live = idx >= 0
    P[torch.nonzero(live).flatten(), idx[live]] = 1.0
    const_units = (~live) & (prev_fan == 0)
    if torch.any((~live) & (prev_fan > 0) & (c != 0).any(0)):
        raise ValueError("a non-copy unit with input edges feeds the next layer")
    S = c @ P
    bias = c[:, const_units] @ prev_bias[const_units].clamp(min=0) + bq
    g = rounding_gamma(c.shape[1] + 1)
    err_bias = g * (c[:, const_units].abs() @ prev_bias[const_units].clamp(min=0) + bq.abs())
    return RealisedLayer(s_pos=S.numpy(), s_neg=S.numpy(), bias=bias.numpy(), rows=np.asarray(rows),
                         lip=(c.abs() @ P).numpy(), coef=c[:, live].numpy(), err_bias=err_bias.numpy())



def _collapsed(target: nn.Sequential, realised: list[RealisedLayer]) -> nn.Module | None:
    """The ticket's function written with its realised slopes (exact for layouts without copies):
    each target layer becomes :math:`s^+ \\mathrm{relu}(x) - s^- \\mathrm{relu}(-x) + \\hat b`."""
    if any(not np.array_equal(r.rows, np.arange(len(r.rows))) for r in realised):
        return None

    class TwoSided(nn.Module):
        def __init__(self, ref, r):
            super().__init__()
            self.pos, self.neg = copy.deepcopy(ref).double(), copy.deepcopy(ref).double()
            with torch.no_grad():
                self.pos.weight.copy_(torch.as_tensor(r.s_pos).reshape(ref.weight.shape))
                self.neg.weight.copy_(torch.as_tensor(r.s_neg).reshape(ref.weight.shape))
                if self.pos.bias is None:
                    self.pos.bias = nn.Parameter(torch.zeros(ref.weight.shape[0], dtype=torch.float64))
                self.pos.bias.copy_(torch.as_tensor(r.bias))
                if self.neg.bias is not None:
                    self.neg.bias.zero_()

        def forward(self, x):
            return self.pos(x.clamp(min=0)) - self.neg((-x).clamp(min=0))

    mods, li = [], 0
    for m in target.children():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            mods.append(TwoSided(m, realised[li]))
            li += 1
        else:
            mods.append(copy.deepcopy(m))
    return nn.Sequential(*mods).double()


ATTACK_BATCH = 500  # random samples evaluated per forward pass


def attack(ticket_fn: nn.Module, target: nn.Module, box: tuple, input_shape, *, generator: torch.Generator | None,
           restarts: int = 16, steps: int = 100, samples: int = 2000):
    r"""Lower bound on :math:`\sup_x |f_P(x) - f_T(x)|`: random samples, then projected sign-gradient ascent
    from the ``restarts`` best samples (each on the output and sign it was best on), step size decaying
    linearly from a tenth of the box to zero. Returns ``(candidates, random max)``: the best point of each
    restart (the caller re-evaluates them) and the max over the random samples; both networks run in float64.
    ``box = (lo, hi)``: scalars or tensors of ``input_shape``."""
    P = copy.deepcopy(ticket_fn).double().eval()
    T = copy.deepcopy(target).double().eval()
    lo_t, hi_t = box_tensors(box[0], box[1], input_shape)
    batch = ATTACK_BATCH
    width = hi_t - lo_t
    for p in list(P.parameters()) + list(T.parameters()):
        p.requires_grad_(False)
    with torch.no_grad():
        xs, gaps = [], []
        for s in range(0, samples, batch):
            n = min(batch, samples - s)
            x = lo_t + width * torch.rand((n,) + tuple(input_shape), generator=generator, dtype=torch.float64)
            xs.append(x)
            gaps.append((P(x) - T(x)).reshape(n, -1))
        X, D = torch.cat(xs), torch.cat(gaps)
    absd = D.abs()
    flat = absd.flatten()
    random_max = float(flat.max())
    top = torch.argsort(flat, descending=True)[:restarts]
    n_out = D.shape[1]
    start_idx, outs = top // n_out, top % n_out
    signs = torch.sign(D[start_idx, outs])
    signs[signs == 0] = 1.0
    x = X[start_idx].clone()
    best_val = absd[start_idx, outs].clone()
    best_x = x.clone()
    rows = torch.arange(len(x))
    for t in range(steps):
        x.requires_grad_(True)
        d = (P(x) - T(x)).reshape(len(x), -1)[rows, outs] * signs
        (grad,) = torch.autograd.grad(d.sum(), x)
        with torch.no_grad():
            better = d > best_val
            best_val = torch.where(better, d, best_val)
            best_x[better] = x[better]
            alpha = 0.1 * (1 - t / steps)
            x = torch.minimum(torch.maximum(x + alpha * width * torch.sign(grad), lo_t), hi_t)
    with torch.no_grad():
        d = (P(x) - T(x)).reshape(len(x), -1)[rows, outs] * signs
        better = d > best_val
        best_x[better] = x[better]
    return best_x, random_max


def sup_error(ticket, box=(-1.0, 1.0), *, generator: torch.Generator | None = None, restarts: int = 16,
              steps: int = 100, samples: int = 2000, certificate: str = "best",
              split_boxes: int | None = None) -> SupError:
    """Bracket of the ticket's sup error over ``box = (lo, hi)`` (module docstring); ``certificate`` as
    ``method`` of :func:`certify` (the differential stops splitting once within 5% of the attack's bound);
    ``split_boxes``: its box budget for small tickets (default: :func:`certify`'s)."""
    if not (isinstance(box, (tuple, list)) and len(box) == 2):
        raise TypeError(f"box must be a pair (lo, hi), got {box!r}")
    for name, v in (("restarts", restarts), ("steps", steps), ("samples", samples)) + \
            ((("split_boxes", split_boxes),) if split_boxes is not None else ()):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    lo, hi = box
    shape = tuple(ticket.input_shape)
    from .._validation import check_alloc

    check_alloc(2 * 8 * samples * (math.prod(shape) + 1), f"sup_error(samples={samples})")
    realised = ticket.realise()
    fast = _collapsed(ticket.target, realised)
    cands, random_max = attack(fast if fast is not None else ticket.network, ticket.target, (lo, hi), shape,
                               generator=generator, restarts=restarts, steps=steps, samples=samples)
    with torch.no_grad():  # re-evaluate on the rebuilt ticket itself, float64
        P = copy.deepcopy(ticket.network).double().eval()
        T = copy.deepcopy(ticket.target).double().eval()
        gap = (P(cands) - T(cands)).reshape(len(cands), -1).abs().max(1).values
    i = int(gap.argmax())
    lower = float(gap[i])
    comp = ticket.certified_error if ticket.box_symmetric(lo, hi) else None
    cert = certify(ticket, lo, hi, method=certificate, stop_at=1.05 * lower, realised=realised,
                   max_boxes=split_boxes)
    return SupError(lower=lower, upper=cert["upper"], argmax=cands[i].float(), random_max=random_max,
                    composition=comp, method=cert["method"], interval=cert["interval"],
                    differential=cert["differential"])
