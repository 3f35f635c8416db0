r"""Source widths that a theorem requires (:func:`required_width`), our ER constructions' widths
(2L and L+1 layouts of :func:`lottery_theory.tickets.construct`) and the inverse queries.

SLT widths assume inputs in [-1, 1] and :math:`\|W_l\|_\infty + \|b_l\|_\infty \le 1`, and split
:math:`\varepsilon` and :math:`\delta` over weights (:func:`per_weight_eps`, union bound over all subset-sum
instances). Peer theorems live in ``bounds/peers/``, one module each.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .._construct_options import OPTIONS, check_choice
from .._validation import check_options, check_positive_int
from ._common import DEFAULT_C, constant, er_factor, interleave, layer_densities, unit, widths
from ._common import density as _check_density
from .composition import per_weight_eps
from .er_subset_sum import subset_sum_block_size
from .record import BOUNDS, THEOREMS, Arg, Bound, bound
from .representation import representation_copies_expr, representation_plan



# The arguments every width theorem takes on the command line.
WIDTH_ARGS = (Arg("widths", "ints", "target widths n_0,...,n_L"), Arg("eps", "float", "sup-error epsilon"),
              Arg("delta", "float", "failure probability", 0.01),
              Arg("density", "float", "ER density p (fraction kept); peers of dense sources ignore it", 1.0),
              Arg("C", "float", "override the theorem's constant", None))


def width_theorem(name: str, *, citation: str, latex: str, assumptions: str, C: float, cli: str | None = None,
                  options: tuple[Arg, ...] = (), expr: Callable | None = None):
    """Decorator registering a width function ``fn(ws, eps, delta, density, C, bias, **options) -> widths``
    as theorem ``name`` of :func:`required_width` and as the CLI bound ``cli`` (default ``NAME-width``).
    ``C`` is the theorem's default constant (the record's ``constants["C"]``)."""
    def wrap(fn: Callable) -> Callable:
        def report(widths, eps, delta, density, C, **opts):
            sw = required_width(widths, eps, delta, density, theorem=name, C=C, **opts)
            return {"theorem": name, "source_widths": sw, "er_factor": er_factor(density), "density": density,
                    "eps": eps, "delta": delta, "C": rec.constants["C"] if C is None else C}

        key = cli or f"{name}-width"
        rec = Bound(key, citation, latex, assumptions, fn, WIDTH_ARGS + tuple(options), report, expr, {"C": C})
        THEOREMS[name] = BOUNDS[key] = rec  # one record: required_width(theorem=name) and `bounds key`
        return fn
    return wrap


def slt_budget(ws, eps, delta, bias):
    """Depth L, per-weight accuracy and per-instance failure probability of the subset-sum constructions."""
    L = len(ws) - 1
    eps_w = per_weight_eps(ws, eps, bias)
    n_inst = 2 * sum(ws[l] * ws[l + 1] for l in range(L)) + (sum(ws[1:]) if bias else 0)
    return L, eps_w, float(unit(delta, "delta")) / n_inst


def with_assignment_events(dw: float, delta, events: int) -> float:
    """Per-event failure probability when ``events`` matched assignments join the union bound over the
    ``delta / dw`` subset-sum instances (eq. (AD-2)): ``delta / (delta / dw + events)``."""
    d = float(unit(delta, "delta"))
    return d / (d / dw + events)


def _block_k(eps_w, dw, pa: float, pb: float, n_in: int, C, assignment: str) -> int:
    r"""Units per input of a block layer (docs/theory.md). Fixed layout: items present w.p.
    :math:`p_a p_b/2`, so :math:`k = n_{ss}(\varepsilon', \delta', p_a p_b/2)`. Adaptive layout: a unit serves one
    of its surviving inputs, so an item is present w.p. :math:`p_b/2`; the matching's proven width
    :func:`matched_k` (eq. (AD-2)). Greedy (heuristic, eq. (AD-1)): a unit has no surviving edge w.p.
    :math:`(1-p_a)^{n_{in}}`, and one unit of slack below the mean:
    :math:`k = \lceil (n_{ss}(\varepsilon', \delta', p_b/2) + [p_a < 1]) / (1 - (1-p_a)^{n_{in}}) \rceil`
    (at :math:`p_a = 1` the layouts coincide)."""
    if assignment == "fixed":
        return subset_sum_block_size(eps_w, dw, pa * pb / 2, C)
    if assignment == "adaptive":
        return matched_k(subset_sum_block_size(eps_w, dw, pb / 2, C), n_in, pa, dw)
    reach = 1 - (1 - pa) ** n_in
    if reach <= 0:
        raise ValueError(f"block layer density {pa} leaves no surviving edge for {n_in} inputs")
    return int(math.ceil((subset_sum_block_size(eps_w, dw, pb / 2, C) + (pa < 1)) / reach))


def hall_failure(k: int, n: int, m: int, pa: float) -> float:
    r"""Union bound on the probability that no assignment gives each of ``m`` inputs ``n`` units, when ``m k`` units
    each keep an edge to every input independently with probability ``pa`` (docs/theory.md, eq. (AD-2)). By Hall's
    theorem such an assignment exists iff every set J of inputs is reached by >= n |J| units; the units reaching a
    set of s inputs are Bin(m k, 1 - (1 - pa)^s), so
    :math:`P(\text{fail}) \le \sum_{s=1}^{m} \binom{m}{s} P(\mathrm{Bin}(mk, 1-(1-p_a)^s) < n s)`."""
    from scipy.special import gammaln
    from scipy.stats import binom

    if n <= 0:
        return 0.0
    s = np.arange(1, m + 1)
    r = -np.expm1(s * np.log1p(-pa)) if pa < 1 else np.ones(m)
    log_choose = gammaln(m + 1) - gammaln(s + 1) - gammaln(m - s + 1)
    log_tail = binom.logcdf(n * s - 1, m * k, r)
    return float(np.exp(np.logaddexp.reduce(log_choose + log_tail)))


def matched_k(n: int, m: int, pa: float, delta_a: float) -> int:
    r"""Proven units per input of a matched block (eq. (AD-2)): the smallest k with
    :func:`hall_failure` ``(k, n, m, pa) <= delta_a``, so that with probability >= 1 - delta_a every input gets
    >= n units whose edge survives (the subset sums of n_ss(eps', delta', p_b/2) items then apply). At pa = 1
    every unit reaches every input: k = n."""
    if pa >= 1:
        return int(n)
    reach = 1 - (1 - pa) ** m
    lo = max(int(math.ceil(n / reach)) - 1, 0)  # below the mean n/reach the bound cannot be <= 1/2
    hi = max(lo + 1, 2 * int(math.ceil(n / reach)))
    while hall_failure(hi, n, m, pa) > delta_a:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # hall_failure falls with k (more units: every binomial tail shrinks)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if hall_failure(mid, n, m, pa) <= delta_a else (mid, hi)
    return hi


def er_slt_2l_expr():
    """sympy: units per input of a greedy block layer with :math:`p_a < 1` (eq. (AD-1), before rounding up), for
    per-instance accuracy/failure ``m = min(eps', delta')``; the default adaptive width (AD-2) adds Hall's
    binomial margin, computed numerically (:func:`matched_k`)."""
    import sympy as sp
    C, m, pa, pb, n = sp.symbols("C m p_a p_b n_in", positive=True)
    n_ss = C * sp.log(1 / m) * sp.Max(1, 1 / sp.log(1 / (1 - pb / 2)))
    return (n_ss + 1) / (1 - (1 - pa) ** n), (C, m, pa, pb, n)


def er_slt_l1_expr():
    """sympy: copies per target neuron of an L+1 copy layer, ``C log(1/m) max(1, rho(p))`` (before rounding)."""
    import sympy as sp
    C, m, p = sp.symbols("C m p", positive=True)
    return C * sp.log(1 / m) * sp.Max(1, 1 / sp.log(1 / (1 - p))), (C, m, p)


# What the records of our two constructions share: constant, option, assumptions, citation.
_OURS = dict(C=DEFAULT_C, options=(Arg("assignment", "str", "block layout of the construction (adaptive: proven "
                                       "width AD-2; greedy: heuristic AD-1; matched: adaptive's former name)",
                                       "adaptive", OPTIONS["assignment"].choices),),
             assumptions="inputs in [-1,1]; ||W_l||_inf + ||b_l||_inf <= 1; U[-1,1] source weights")


def _ours(layout: str) -> str:
    return (f"our {layout} construction in ER sources (the claim: Gadhikar et al. 2023; the widths: ours); "
            "docs/theory.md, eqs. (AD-1), (AD-2)")


@width_theorem("er-slt-2L", cli="er-width", expr=er_slt_2l_expr, citation=_ours("2L"), **_OURS,
               latex=r"s_{2l-1} = (n_{l-1} + 1)\,k_l,\ k_l \ge n_{ss}(\varepsilon', \delta', p/2)/(1-(1-p)^{n_{l-1}})"
                     r"\ (\text{AD-2: plus Hall's margin})")
def er_slt_2l(ws, eps, delta, density, C, bias, assignment: str = "adaptive"):
    r"""2L (Pensia/Malach layout, as built by :func:`lottery_theory.tickets.construct`).

    Before target layer l sits a block layer of :math:`(n_{l-1} + [\text{bias}])\,k_l` units: k_l units per
    input j (unit u computes relu(a_u x_j)) and k_l constant units relu(c_u) for the bias; ``k_l`` from
    :func:`_block_k` (fixed layout: a path j -> u -> i exists iff both edges survive and a_u has the sign
    of the part it serves, probability :math:`p_a p_b / 2`; adaptive: :math:`p_b/2`).
    """
    assignment = check_choice("assignment", assignment)
    L, eps_w, dw = slt_budget(ws, eps, delta, bias)
    if assignment == "adaptive":  # one assignment event per block joins the union bound
        dw = with_assignment_events(dw, delta, L)
    if np.ndim(density) == 0 or len(density) == 2 * L:
        ps = layer_densities(density, 2 * L)
    else:
        ps = [x for p in layer_densities(density, L) for x in (p, p)]
    return interleave(ws, [(ws[l - 1] + int(bias)) * _block_k(eps_w, dw, ps[2 * l - 2], ps[2 * l - 1], ws[l - 1], C,
                                                              assignment) for l in range(1, L + 1)])


def l1_plan(ws, eps, delta, density, C, bias, assignment: str = "adaptive") -> dict:
    r"""Block sizes of the L+1 construction (Burkholz 2022 layout, as built by ``construct``).

    Source layer 1: :math:`(n_0 + [b])\,k` units (univariate blocks as in 2L, ``k`` from :func:`_block_k`).
    Source layer l+1 (l = 1..L-1): :math:`\rho_l` copies of each target neuron of
    layer l, plus :math:`k^b_l` constant units for the next layer's bias. Target weight :math:`w_{ij}` of
    layer l+1 is a subset sum over the :math:`\rho_l` copies of j (each edge present w.p.
    :math:`p_{l+2}`): :math:`\rho_l = n_{ss}(\varepsilon', \delta', p_{l+2})`,
    :math:`k^b_l = n_{ss}(\varepsilon', \delta', p_{l+2}/2)`.
    """
    assignment = check_choice("assignment", assignment)
    L, eps_w, dw = slt_budget(ws, eps, delta, bias)
    if assignment == "adaptive":  # the first block's assignment joins the union bound
        dw = with_assignment_events(dw, delta, 1)
    ps = layer_densities(density, L + 1)
    k = _block_k(eps_w, dw, ps[0], ps[1], ws[0], C, assignment)
    rho = [subset_sum_block_size(eps_w, dw, ps[l + 1], C) for l in range(1, L)]
    kb = [subset_sum_block_size(eps_w, dw, ps[l + 1] / 2, C) if bias else 0 for l in range(1, L)]
    return dict(k=k, rho=rho, kb=kb, densities=ps, eps_w=eps_w, delta_w=dw)


@width_theorem("er-slt-L+1", cli="er-width-L+1", expr=er_slt_l1_expr, citation=_ours("L+1"), **_OURS,
               latex=r"s_1 = (n_0+1)k,\ s_{l+1} = \rho_l n_l + k^b_l,\ \rho_l = n_{ss}(\varepsilon', \delta', p)")
def er_slt_l1(ws, eps, delta, density, C, bias, assignment: str = "adaptive"):
    """L+1 (Burkholz 2022 layout): see :func:`l1_plan`."""
    plan = l1_plan(ws, eps, delta, density, C, bias, assignment)
    L = len(ws) - 1
    return [ws[0], (ws[0] + int(bias)) * plan["k"]] + [plan["rho"][l - 1] * ws[l] + plan["kb"][l - 1]
                                                      for l in range(1, L)] + [ws[L]]


@width_theorem("er-representation", C=DEFAULT_C, citation="docs/theory.md, eq. (RP-1)", expr=representation_copies_expr,
               latex=r"\text{see representation}", assumptions="weights free (trainable); edges only need to exist")
def er_representation(ws, eps, delta, density, C, bias):
    """Weak-ticket (representation) widths of :func:`representation_plan` (eps, C and bias do not enter)."""
    return representation_plan(ws, delta, density)["source_widths"]


def required_width(target_widths, eps, delta, density=1.0, *, theorem: str = "er-slt-2L", C: float | None = None,
                   bias: bool = True, **options) -> list[int]:
    r"""Source layer widths :math:`(n_0, s_1, \ldots, n_L)` that ``theorem`` requires.

    Theorems (``available_theorems()``): ``er-slt-2L``, ``er-slt-L+1`` (option ``assignment="adaptive"``
    (default) or ``"fixed"``), ``er-representation`` (``density`` scalar or per source layer), and the peers
    ``pensia``, ``orseau``, ``malach``, ``da-cunha`` (``bounds/peers/``, each at its paper's form), and ``l1-dense``
    (our L+1 construction at p = 1, Burkholz 2022's layout; ``burkholz`` is its deprecated alias).
    ``C=None`` uses the theorem's own constant.
    """
    ws = widths(target_widths)
    unit(eps, "eps"), unit(delta, "delta")
    if np.ndim(density) == 0:
        _check_density(density)
    rec = THEOREMS.get_checked(theorem)
    C = rec.constants["C"] if C is None else constant(C)
    check_options(rec.fn, options, f"theorem {theorem!r}", skip=6)
    return [int(x) for x in rec.fn(ws, float(eps), float(delta), density, C, bias, **options)]



def units_per_input(target_widths, eps, delta, density=1.0, *, assignment: str = "adaptive",
                    C: float | None = None) -> int:
    """``k`` of the 2L bound: units per input of the first block layer, ``s_1 // (n_0 + 1)`` of
    :func:`required_width` (er-slt-2L; the ``+ 1`` is the bias unit's block). The one place the sweeps, the
    checks and the ``ticket`` command turn the bound into a width multiplier."""
    ws = widths(target_widths)
    return required_width(ws, eps, delta, density, assignment=assignment, C=C)[1] // (ws[0] + 1)


def item_presence(p: float, assignment: str, n_in: int) -> float:
    """Probability that a block unit is a present item of one subset sum, sign included (docs/theory.md): fixed
    layout p^2/2 (both edges of the path), adaptive and greedy (1 - (1-p)^n_in) p/2 (the unit reaches some input,
    then one edge with its sign)."""
    if check_choice("assignment", assignment) == "fixed":
        return p * p / 2
    return (1 - (1 - p) ** n_in) * p / 2


def path_factor(p):
    """The fixed layout's ER factor: 1 / log(1/(1 - p^2/2)) (a two-edge path with its sign)."""
    return 1 / -np.log1p(-np.asarray(p, float) ** 2 / 2)


def reach_factor(p, n_in: int):
    """The adaptive block's ER factor with ``n_in`` inputs: 1 / ((1 - (1-p)^n_in) log(1/(1 - p/2))) (one edge
    with its sign, on the units that reach an input at all; docs/theory.md)."""
    p = np.asarray(p, float)
    return 1 / ((1 - (1 - p) ** n_in) * -np.log1p(-p / 2))


def available_theorems() -> list[str]:
    return sorted(THEOREMS)


def _max_hidden(ws: list[int]) -> int:
    return max(ws[1:-1]) if len(ws) > 2 else 0


def _inverse_args(which: str):
    return (Arg("widths", "ints", "target widths n_0,...,n_L"), Arg("width", "int", "given source width"),
            Arg(which, "float", "ER density p" if which == "density" else "sup-error epsilon"),
            Arg("delta", "float", "failure probability", 0.01), Arg("C", "float", "constant", DEFAULT_C))


@bound("achievable-eps", citation="inverse of required_width (er-slt-2L); docs/theory.md, eq. (AD-1)",
       latex=r"\min\{\varepsilon : \max_l s_l(\varepsilon) \le \text{width}\}", assumptions="as er-width",
       args=_inverse_args("density"),
       report=lambda widths, width, density, delta, C: {"eps": achievable_eps(widths, width, delta, density, C=C)})
def achievable_eps(target_widths, width: int, delta, density=1.0, *, theorem: str = "er-slt-2L",
                   C: float | None = None, bias: bool = True, rtol: float = 1e-10) -> float:
    """Inverse query: the smallest eps whose required (largest hidden) width is <= ``width``.

    Bisection on log(eps) over (1e-15, 0.5]; raises ValueError if even eps = 0.5 needs more.
    """
    check_positive_int(width, "width")
    f = lambda e: _max_hidden(required_width(target_widths, e, delta, density, theorem=theorem, C=C, bias=bias))  # noqa
    if f(0.5) > width:
        raise ValueError(f"width={width} is too small for any eps <= 0.5 (needs {f(0.5)})")
    lo, hi = math.log(1e-15), math.log(0.5)
    if f(math.exp(lo)) <= width:
        raise ValueError(f"width={width} fits even eps = 1e-15, the search floor: the achievable eps lies below "
                         f"1e-15 (not resolved in float64); ask required_width at the eps you need instead")
    while hi - lo > rtol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if f(math.exp(mid)) <= width else (mid, hi)
    return math.exp(hi)


@bound("min-density", citation="inverse of required_width (er-slt-2L); docs/theory.md, eq. (AD-1)",
       latex=r"\min\{p : \max_l s_l(p) \le \text{width}\}", assumptions="as er-width; same density in every layer",
       args=_inverse_args("eps"),
       report=lambda widths, width, eps, delta, C: {"density": min_density(widths, width, eps, delta, C=C)})
def min_density(target_widths, width: int, eps, delta, *, theorem: str = "er-slt-2L", C: float | None = None,
                bias: bool = True, tol: float = 1e-10) -> float:
    """Inverse query: the smallest density (same in every layer) whose required width is <= ``width``."""
    check_positive_int(width, "width")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (1e-15 <= tol < 1):
        raise ValueError(f"tol must be a number in [1e-15, 1) (bisection on the density), got {tol!r}")
    f = lambda p: _max_hidden(required_width(target_widths, eps, delta, p, theorem=theorem, C=C, bias=bias))  # noqa
    if f(1.0) > width:
        raise ValueError(f"width={width} is too small even for a dense source (needs {f(1.0)})")
    lo, hi = 0.0, 1.0
    for _ in range(200):  # halves the interval each step: 200 steps reach any tol >= 1e-15 (2^-50)
        if hi - lo <= tol:
            break
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if f(mid) <= width else (mid, hi)
    return hi
