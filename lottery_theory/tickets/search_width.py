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
    error), ``certified`` (``upper <= eps``), ``max_items`` and ``objective`` (the subset-sum settings it was built
    with), ``trace`` (one dict per probe: k, max_items, objective, upper, missed (share of subset sums that missed
    their per-weight budget), source_params, wall_s)."""
    ticket: object
    k: int
    upper: float
    certified: bool
    trace: list = field(default_factory=list)
    max_items: int = 24
    objective: str = "fewest"


def _grid_index(k: float) -> int:
    return max(2, math.ceil(2 * math.log2(max(k, 2))))


def _k(i: int) -> int:
    return round(2 ** (i / 2))


def find_width(target, config=None, *, generator=None, time_budget: float = 110.0, k_start: int | None = None,
               progress=None, **options) -> WidthSearch:
    """Search the narrowest width whose ticket is certified (module docstring). Construction options come as a
    :class:`~lottery_theory.tickets.ConstructConfig` and/or its fields by keyword (``density`` and ``eps`` required;
    the width fields are the search's to choose; its ``box``, a number ``B`` or a pair ``(lo, hi)``, is the box every
    probe is certified on); ``progress`` is called with each probe's dict.

    ``max_items`` and ``objective`` (default: the construction's) hold for every probe; each probe records the
    share of its subset sums that missed their per-weight budget (``missed``): a ticket that fails with most sums
    missed is precision-bound (more items, not more units, would help)."""
    import dataclasses

    from .._validation import merge_config
    from .interface import CONSTRUCTIONS, ConstructConfig

    for bad in ("width", "width_multiplier", "retries"):
        if bad in options or (config is not None and getattr(config, bad) not in (None, 1)):
            raise TypeError(f"find_width chooses the width itself; drop {bad}=")
    cfg = merge_config(ConstructConfig, config, options, "find_width", required=("density", "eps"))
    time_budget = check_number(time_budget, "time_budget", lo=0.0, lo_open=True)
    lo_b, hi_b = cfg.box_pair
    default = CONSTRUCTIONS.get_checked(cfg.construction).default_objective
    cfg = dataclasses.replace(cfg, objective=cfg.objective or default)
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator)) if generator is not None else 0
    if k_start is None:
        try:
            k_start = max(2, bound_k(target, cfg.eps, cfg.density, cfg.assignment, cfg.delta) // 4)
        except ValueError:
            k_start = 16
    search = _Search(target, cfg, (lo_b, hi_b), seed, time_budget, progress)
    best = search.run(_grid_index(k_start))
    tk, up = search.tickets[best]
    return WidthSearch(ticket=tk, k=_k(best), upper=up, certified=up <= cfg.eps, trace=search.trace,
                       max_items=cfg.max_items, objective=cfg.objective)


class _Search:
    """The probes of one :func:`find_width` call: each builds and certifies the ticket at grid index ``i``."""

    def __init__(self, target, cfg, box: tuple[float, float], seed: int, time_budget: float, progress) -> None:
        self.target, self.cfg, self.box, self.seed, self.budget, self.progress = (target, cfg, box, seed,
                                                                                  time_budget, progress)
        self.trace: list[dict] = []
        self.tickets: dict[int, tuple] = {}
        self.t0 = time.perf_counter()

    def probe(self, i: int) -> float:
        import dataclasses

        from .bracket import certify
        from .construct import BudgetMissed, construct

        k, cfg = _k(i), self.cfg
        t1 = time.perf_counter()
        with warnings.catch_warnings():  # narrow probes miss budgets by design; the certificate decides
            warnings.simplefilter("ignore", BudgetMissed)
            tk = construct(self.target, dataclasses.replace(cfg, width_multiplier=k),
                           generator=torch.Generator().manual_seed(self.seed + i))
        up = float(certify(tk, self.box[0], self.box[1], method="cheapest", stop_at=cfg.eps)["upper"])
        row = dict(k=k, max_items=cfg.max_items, objective=cfg.objective, upper=up,
                   missed=tk.failures / max(tk.n_instances, 1), source_params=tk.source_params,
                   wall_s=time.perf_counter() - t1)
        self.trace.append(row)
        self.tickets[i] = (tk, up)
        if self.progress:
            self.progress(row)
        return up

    def left(self, factor: float) -> bool:
        """Is there time for ``factor`` times the last probe's wall time?"""
        return self.budget - (time.perf_counter() - self.t0) >= factor * self.trace[-1]["wall_s"]

    def run(self, i: int) -> int:
        """Climb (double the width until a probe certifies), then descend (halve until a width fails) and bisect
        on the grid; returns the grid index of the narrowest certified ticket, else of the smallest upper bound."""
        eps, ok, fails = self.cfg.eps, None, set()
        while True:
            if self.probe(i) <= eps:
                ok = i
                break
            fails.add(i)
            if not self.left(2.5):
                break
            i += 2
        if ok is None:
            return min(self.tickets, key=lambda j: self.tickets[j][1])
        fail = max((j for j in fails if j < ok), default=None)
        while fail is None and ok > 2 and self.left(1.5):
            j = max(2, ok - 2)
            if self.probe(j) <= eps:
                ok = j
            else:
                fail = j
        while fail is not None and ok - fail > 1 and self.left(1.5):
            mid = (ok + fail) // 2
            if self.probe(mid) <= eps:
                ok = mid
            else:
                fail = mid
        return ok


def bound_k(target, eps: float, density, assignment: str = "adaptive", delta: float = 0.01) -> int:
    """Units per input of the first block layer at the 2L bound's width (``required_width``)."""
    from ..bounds.widths import units_per_input
    from .construct import _target_layers

    lins = [m for m in _target_layers(target) if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    ws = [lins[0].weight[0].numel()] + [m.weight.shape[0] for m in lins]
    return units_per_input(ws, eps, delta, density, assignment=assignment)


def _target_params(target) -> int:
    """Weights and biases of the target's Linear/Conv2d layers."""
    from .construct import _target_layers

    return sum(m.weight.numel() + (m.bias.numel() if m.bias is not None else 0) for m in _target_layers(target)
               if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)))


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


S_PER_SOURCE_PARAM = 1.1e-7  # drawing and masking the source, per parameter, on the reference 2-core machine
S_PER_INSTANCE = 3.3e-8  # one exact subset sum, per 2^(items/2) (the meet-in-the-middle's half-list size)
#   fitted on LeNet-300-100 on [0, 1] (266,610 subset sums: s+ only, 24 items, fewest): k = 128 / 362 / 724 at
#   p = 0.5 / 0.2 / 0.1, 126M / 356M / 712M source parameters, commands of 50 / 73 / 113 s (2026-12-02); the model
#   gives 50 / 75 / 114
BYTES_PER_PARAM = 24.0  # peak RSS per source parameter: 2.85 GiB at 126M, 7.0 GiB at 356M, 13.5 GiB at 712M


def _first_layer_weights(target) -> int:
    from .construct import _target_layers

    return next(m.weight.numel() for m in _target_layers(target) if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)))


def dry_run(target, k: int, max_items: int = 24, signed_input: bool = True) -> dict:
    """What building at width ``k`` would allocate and take: source parameters, an estimate of peak memory (float32
    weights, a bool mask and float64 working copies of one block: ``BYTES_PER_PARAM``, measured on LeNet-300-100)
    against the memory available now, and of the time on the reference machine: ``S_PER_SOURCE_PARAM`` per source
    parameter plus ``S_PER_INSTANCE * 2^(max_items / 2)`` per subset sum (one per target weight and bias, and a
    second one per first-layer weight when the input box has negative values: ``signed_input``)."""
    import os

    n = source_params_2l(target, k)
    need = BYTES_PER_PARAM * n
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        avail = None
    inst = _target_params(target) + (_first_layer_weights(target) if signed_input else 0)
    return dict(k=k, source_params=n, est_peak_gib=need / 2 ** 30,
                est_seconds=S_PER_SOURCE_PARAM * n + S_PER_INSTANCE * inst * 2 ** (max_items / 2),
                available_gib=None if avail is None else avail / 2 ** 30,
                fits=None if avail is None else need <= avail)
