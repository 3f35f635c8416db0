"""The smallest certifying width, searched instead of read off the loose bound (issue 25, ``ticket`` default).

:func:`find_width` builds tickets at widths k on the geometric grid ``round(2^(i/2))`` (units per input of every
block layer): doubling from a cheap start (the bound's k / 4, at least 2) until a certificate
(:func:`~lottery_theory.tickets.bracket.certify`: interval, then differential) is <= eps, then bisecting on the grid between the widest
width that failed and the narrowest that certified, within a time budget (if the start already certifies, it
halves first until a width fails). Each probe draws a fresh source from
an independent generator derived from the given one (bit-identical for the same generator). It returns the
narrowest certified ticket, or, if none certified in time, the ticket with the smallest certified upper bound,
and the trace of every probe.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import torch

from .._validation import check_number


@dataclass
class WidthSearch:
    """Result of :func:`find_width`: ``ticket`` (best found), ``k`` (its width), ``upper`` (its certified sup
    error), ``certified`` (``upper <= eps``), ``trace`` (one dict per probe: k, upper, source_params, wall_s)."""
    ticket: object
    k: int
    upper: float
    certified: bool
    trace: list = field(default_factory=list)


def _grid_index(k: float) -> int:
    return max(2, math.ceil(2 * math.log2(max(k, 2))))


def _k(i: int) -> int:
    return round(2 ** (i / 2))


def find_width(target, *, density, eps: float, box=(-1.0, 1.0), input_shape=None, generator=None,
               time_budget: float = 110.0, k_start: int | None = None, progress=None, **construct_options) -> WidthSearch:
    """Search the narrowest width whose ticket is certified (module docstring). ``construct_options`` go to
    :func:`~lottery_theory.tickets.construct` (assignment, objective, budget, max_items, ...); ``progress`` is
    called with each probe's dict."""
    from .bracket import certify
    from .construct import construct

    eps = check_number(eps, "eps", lo=0.0, lo_open=True)
    time_budget = check_number(time_budget, "time_budget", lo=0.0, lo_open=True)
    for bad in ("width", "width_multiplier", "retries"):
        if bad in construct_options:
            raise TypeError(f"find_width chooses the width itself; drop {bad}=")
    lo_b, hi_b = float(box[0]), float(box[1])
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator)) if generator is not None else 0
    if k_start is None:
        try:
            k_start = max(2, bound_k(target, eps, density, construct_options.get("assignment", "adaptive")) // 4)
        except ValueError:
            k_start = 16
    t0 = time.perf_counter()
    trace, tickets = [], {}

    def probe(i: int):
        k = _k(i)
        from .construct import BudgetMissed

        t1 = time.perf_counter()
        with warnings.catch_warnings():  # narrow probes miss budgets by design; the certificate decides
            warnings.simplefilter("ignore", BudgetMissed)
            tk = construct(target, density=density, eps=eps, width_multiplier=k, box=max(abs(lo_b), abs(hi_b)),
                           input_shape=input_shape, generator=torch.Generator().manual_seed(seed + i),
                           **construct_options)
        up = certify(tk, lo_b, hi_b, method="cheapest", stop_at=eps)["upper"]
        row = dict(k=k, upper=float(up), source_params=tk.source_params, wall_s=time.perf_counter() - t1)
        trace.append(row)
        tickets[i] = (tk, float(up))
        if progress:
            progress(row)
        return float(up)

    def left() -> float:
        return time_budget - (time.perf_counter() - t0)

    i = _grid_index(k_start)
    fail, ok = None, None
    if probe(i) <= eps:  # the start certifies: halve (two grid steps) until a width fails or k reaches 2
        ok = i
        while i > 2 and left() > 1.5 * trace[-1]["wall_s"]:
            i = max(2, i - 2)
            if probe(i) <= eps:
                ok = i
            else:
                fail = i
                break
    else:
        fail = i
        while left() >= 2.5 * trace[-1]["wall_s"]:  # doubling until a width certifies (next probe must fit)
            i += 2
            if probe(i) <= eps:
                ok = i
                break
            fail = i
    while ok is not None and fail is not None and ok - fail > 1:  # bisection on the grid
        mid = (ok + fail) // 2
        if left() < 1.5 * trace[-1]["wall_s"]:
            break
        if probe(mid) <= eps:
            ok = mid
        else:
            fail = mid
    if ok is None:  # nothing certified: the smallest certified upper bound found
        best = min(tickets, key=lambda j: tickets[j][1])
    else:
        best = ok
    tk, up = tickets[best]
    return WidthSearch(ticket=tk, k=_k(best), upper=up, certified=up <= eps, trace=trace)


def bound_k(target, eps: float, density, assignment: str = "adaptive") -> int:
    """Units per input of the first block layer at the 2L bound's width (``required_width``, delta = 0.01)."""
    from ..bounds.widths import required_width
    from .construct import _target_layers

    lins = [m for m in _target_layers(target) if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    ws = [lins[0].weight[0].numel()] + [m.weight.shape[0] for m in lins]
    return required_width(ws, eps, 0.01, density, assignment=assignment)[1] // (ws[0] + 1)


def source_params_2l(target, k: int) -> int:
    """Weights and biases of the 2L source at width k per input (block A: (n_in + 1) k units reading n_in inputs,
    with biases; block B: n_out outputs reading them) summed over the target's Linear/Conv2d layers (a conv layer
    counts its c k_h k_w virtual inputs)."""
    from .construct import _target_layers

    total = 0
    for m in _target_layers(target):
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            n_in, n_out = m.weight[0].numel(), m.weight.shape[0]
            units = (n_in + 1) * k
            total += units * n_in + units + n_out * units + n_out
    return total


PARAMS_PER_S = 1.3e6  # construct + bracket throughput at max_items = 20 on the reference 2-core machine (LeNet-300-100
#                       at k = 496: 488M source parameters in 6 min 10 s, issue 25); the exact subset sums cost
#                       ~2^(items/2), so each 2 more items double the time
BYTES_PER_PARAM = 22.0  # peak RSS per source parameter: 2.8 GiB at 126M (k = 128), 9.4 GiB at 488M (k = 496)


def dry_run(target, k: int, max_items: int = 20) -> dict:
    """What building at width ``k`` would allocate and take: source parameters, an estimate of peak memory (float32
    weights, a bool mask and float64 working copies of one block: ``BYTES_PER_PARAM``, measured on LeNet-300-100)
    against the memory available now, and of the time on the reference machine
    (``PARAMS_PER_S``, scaled by 2^((max_items - 20) / 2))."""
    import os

    n = source_params_2l(target, k)
    need = BYTES_PER_PARAM * n
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        avail = None
    return dict(k=k, source_params=n, est_peak_gib=need / 2 ** 30,
                est_seconds=n / PARAMS_PER_S * 2 ** ((max_items - 20) / 2),
                available_gib=None if avail is None else avail / 2 ** 30,
                fits=None if avail is None else need <= avail)
