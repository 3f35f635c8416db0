"""Symbolic and numeric identity checks behind the bound calculators (sympy).

(a) 1/log(1/(1-p)) ~ 1/p as p -> 0, i.e. p / log(1/(1-p)) -> 1, and rho(p) <= 1/p on (0, 1).
(b) Error composition. For a target with layers (W_l, b_l) and a ticket whose realised
    weights s_ij satisfy |s_ij - w_ij| <= E_ij and |s_ij| <= G_ij, with 1-Lipschitz
    activations and |h_{l-1,j}| <= H_j on the input box,
        |h^_l,i - h_l,i| <= sum_j E_ij H_j + sum_j G_ij |h^_{l-1,j} - h_{l-1,j}| + |b^_i - b_i|,
    because s h^ - w h = (s - w) h + s (h^ - h). Unrolled for scalar layers, e_L =
    sum_l Delta_l prod_{m>l} G_m (checked symbolically), and the vector recursion is
    checked numerically against randomly perturbed networks on sampled inputs.
(c) The inverse queries are true inverses: n(p(n)) = n and n(eps(n)) = n symbolically.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lottery_theory.bounds import (
    activation_bounds,
    composition_bound,
    composition_expr,
    er_factor_expr,
    er_subset_sum_n_expr,
)
from lottery_theory.verdicts import Verdict, script_main

STATEMENT = __doc__


def _relu_net(Ws, bs, x):
    h = x
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W.T + b
        if i < len(Ws) - 1:
            h = np.maximum(h, 0)
    return h


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list[Verdict]:
    import sympy as sp

    rho, p = er_factor_expr()
    lim = sp.limit(p * rho, p, 0, "+")
    diff_sign = sp.simplify(sp.diff(sp.log(1 / (1 - p)) - p, p))  # = p/(1-p) >= 0, so log(1/(1-p)) >= p
    grid = np.linspace(1e-6, 1 - 1e-6, 10001)
    ineq = bool(np.all(grid <= np.log(1 / (1 - grid)) + 1e-15))

    rec, closed, _ = composition_expr(4)
    comp_ok = sp.simplify(sp.expand(rec - closed)) == 0

    # numeric: the recursion bounds actual perturbed networks
    rng = np.random.default_rng(0)
    worst = 0.0
    for trial in range(30 if quick else 300):
        widths = [int(w) for w in rng.integers(2, 7, size=rng.integers(3, 5))]
        Ws = [rng.uniform(-1, 1, (widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
        bs = [rng.uniform(-0.5, 0.5, widths[i + 1]) for i in range(len(widths) - 1)]
        E = [rng.uniform(0, 0.05, W.shape) for W in Ws]
        Wt = [W + rng.choice([-1, 1], W.shape) * e for W, e in zip(Ws, E)]
        beta = [rng.uniform(0, 0.01, b.shape) for b in bs]
        bt = [b + rng.choice([-1, 1], b.shape) * be for b, be in zip(bs, beta)]
        H = activation_bounds(Ws, bs, box=1.0)
        errs = composition_bound([dict(E=e, G=np.abs(w), H=h, beta=be) for e, w, h, be in zip(E, Wt, H, beta)])
        x = rng.uniform(-1, 1, (4000, widths[0]))
        x[:16] = rng.choice([-1.0, 1.0], (16, widths[0]))  # box corners
        gap = np.abs(_relu_net(Wt, bt, x) - _relu_net(Ws, bs, x)).max(0)
        worst = max(worst, float((gap / errs[-1]).max()))

    n_expr, (C, m, pp) = er_subset_sum_n_expr()
    nsym = sp.symbols("n", positive=True)
    p_of_n = 1 - sp.exp(-C * sp.log(1 / m) / nsym)  # er_subset_sum_density, unclamped branch
    inv_p = sp.simplify(n_expr.subs(pp, p_of_n) - nsym) == 0
    m_of_n = sp.exp(-nsym * sp.log(1 / (1 - pp)) / C)  # er_subset_sum_eps, unclamped branch
    inv_e = sp.simplify(sp.expand_log(n_expr.subs(m, m_of_n), force=True) - nsym) == 0
    return [
        Verdict("1/log(1/(1-p)) ~ 1/p as p -> 0; rho(p) <= 1/p", f"lim p rho(p) = {lim}; d/dp(log(1/(1-p)) - p) = "
                f"{diff_sign}; grid check {ineq}", "limit 1, derivative >= 0",
                "holds" if lim == 1 and ineq else "violated"),
        Verdict("error composition: recursion unrolls to sum_l Delta_l prod_{m>l} G_m (L = 4, sympy)",
                f"difference simplifies to 0: {comp_ok}", "identity", "holds" if comp_ok else "violated"),
        Verdict("composition bound covers randomly perturbed ReLU networks (sampled inputs + box corners)",
                f"max measured/bound = {worst:.3f}", "<= 1", "holds" if worst <= 1 + 1e-12 else "violated"),
        Verdict("inverse queries are true inverses (density and eps inverses of the ER subset-sum size)",
                f"n(p(n)) - n = 0: {inv_p}; n(eps(n)) - n = 0: {inv_e}", "identity",
                "holds" if inv_p and inv_e else "violated"),
    ]


if __name__ == "__main__":
    script_main(globals())
