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
(d) Lower bound (statement 5): n* = ceil(L / log(1/(1-p))) with L = log(1/(1-(1-delta)^(1/d))), so
    n* log(1/(1-p)) lies in [L, L + log(1/(1-p))), and L - log(d/delta) -> 0 as delta -> 0: the critical
    width is rho(p) log(d/delta) up to one factor's rounding. An identity, so checked here, not measured.

Each identity row's decision takes the two sides as sympy strings and asks sympy whether their difference
simplifies to 0 (limits are evaluated first); the self-test feeds it a perturbed side.
"""
from __future__ import annotations

from pathlib import Path

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np

from lottery_theory.bounds import (
    activation_bounds,
    composition_bound,
    composition_expr,
    er_factor_expr,
    er_subset_sum_n_expr,
)
import pandas as pd

from lottery_theory.verdicts import Row, read_csv, script_main

STATEMENT = __doc__


def _relu_net(Ws, bs, x):
    h = x
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W.T + b
        if i < len(Ws) - 1:
            h = np.maximum(h, 0)
    return h


def decide_identity(t: pd.DataFrame):
    """Table: one row per identity with ``lhs`` and ``rhs`` (sympy strings). Holds iff every difference is 0."""
    import sympy as sp

    ok = []
    for r in t.itertuples():
        lhs, rhs = sp.sympify(r.lhs).doit(), sp.sympify(r.rhs).doit()
        ok.append(sp.simplify(sp.expand_log(lhs - rhs, force=True)) == 0)
    return ("holds" if all(ok) else "violated"), f"{sum(ok)}/{len(ok)} differences simplify to 0", {}


def decide_cover(t: pd.DataFrame):
    """Table: ``ratio`` = measured gap / composition bound, per trial."""
    worst = float(t["ratio"].max())
    return ("holds" if worst <= 1 + 1e-12 else "violated"), f"max measured/bound = {worst:.3f} over {len(t)} nets", {}


def _ident(*pairs) -> pd.DataFrame:
    return pd.DataFrame([dict(lhs=str(a), rhs=str(b)) for a, b in pairs])


def er_factor_pairs(perturb: bool = False):
    rho, p = er_factor_expr()
    return [(f"Limit({p} * ({rho}), {p}, 0, '+')", "1" if not perturb else "1/2"),
            (f"diff(log(1/(1 - {p})) - {p}, {p})", f"{p}/(1 - {p})" if not perturb else f"{p}**2/(1 - {p})")]


def composition_pairs(perturb: bool = False):
    rec, closed, _ = composition_expr(4)
    if perturb:  # drop the propagation through later layers of the first layer's error
        closed = closed.subs({s: 1 for s in closed.free_symbols if str(s).startswith("G")})
    return [(rec, closed)]


def inverse_pairs(perturb: bool = False):
    import sympy as sp

    n_expr, (C, m, pp) = er_subset_sum_n_expr()
    nsym = sp.symbols("n", positive=True)
    p_of_n = 1 - sp.exp(-C * sp.log(1 / m) / nsym)  # er_subset_sum_density, unclamped branch
    m_of_n = sp.exp(-nsym * sp.log(1 / (1 - pp)) / (C if not perturb else 2 * C))  # er_subset_sum_eps
    return [(n_expr.subs(pp, p_of_n), nsym), (n_expr.subs(m, m_of_n), nsym)]


def critical_width_pairs(perturb: bool = False):
    """lim_{delta -> 0} delta / (d (1 - (1-delta)^(1/d))) = 1, i.e. L - log(d/delta) -> 0."""
    return [("Limit(delta / (d * (1 - (1 - delta)**(1/d))), delta, 0, '+')", "1" if not perturb else "1/d")]


def _covers_table(trials: int, drop_propagation: bool = False) -> pd.DataFrame:
    """Random perturbed ReLU nets: measured sup gap (samples + box corners) / composition bound."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(trials):
        widths = [int(w) for w in rng.integers(2, 7, size=rng.integers(3, 5))]
        Ws = [rng.uniform(-1, 1, (widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
        bs = [rng.uniform(-0.5, 0.5, widths[i + 1]) for i in range(len(widths) - 1)]
        E = [rng.uniform(0, 0.05, W.shape) for W in Ws]
        Wt = [W + rng.choice([-1, 1], W.shape) * e for W, e in zip(Ws, E)]
        beta = [rng.uniform(0, 0.01, b.shape) for b in bs]
        bt = [b + rng.choice([-1, 1], b.shape) * be for b, be in zip(bs, beta)]
        H = activation_bounds(Ws, bs, box=1.0)
        G = [np.abs(w) * (0 if drop_propagation else 1) for w in Wt]
        errs = composition_bound([dict(E=e, G=g, H=h, beta=be) for e, g, h, be in zip(E, G, H, beta)])
        x = rng.uniform(-1, 1, (4000, widths[0]))
        x[:16] = rng.choice([-1.0, 1.0], (16, widths[0]))  # box corners
        gap = np.abs(_relu_net(Wt, bt, x) - _relu_net(Ws, bs, x)).max(0)
        out.append(dict(ratio=float((gap / errs[-1]).max())))
    return pd.DataFrame(out)


ROWS = [
    Row("er-factor", "rho(p) = 1/log(1/(1-p)) ~ 1/p as p -> 0 (lim p rho(p) = 1), and rho(p) <= 1/p "
        "(d/dp [log(1/(1-p)) - p] = p/(1-p) >= 0)", "identity (sympy)", decide_identity,
        lambda rng: _ident(*er_factor_pairs()), lambda rng: _ident(*er_factor_pairs(True)),
        "a perturbed limit (1/2) and derivative (p^2/(1-p))", source="symbolic.csv (columns row, lhs, rhs: sympy strings; ratio for composition-covers)"),
    Row("composition-identity", "error composition: the recursion unrolls to sum_l Delta_l prod_{m>l} G_m (L = 4)",
        "identity (sympy)", decide_identity, lambda rng: _ident(*composition_pairs()),
        lambda rng: _ident(*composition_pairs(True)), "a closed form without the later layers' gains G", source="symbolic.csv (columns row, lhs, rhs: sympy strings; ratio for composition-covers)"),
    Row("composition-covers", "the composition bound covers randomly perturbed ReLU networks (sampled inputs + "
        "box corners)", "measured/bound <= 1 in every net", decide_cover,
        lambda rng: _covers_table(20), lambda rng: _covers_table(20, drop_propagation=True),
        "a bound that drops the propagation term G e", source="symbolic.csv (columns row, lhs, rhs: sympy strings; ratio for composition-covers)"),
    Row("inverses", "inverse queries are true inverses: n(p(n)) = n and n(eps(n)) = n", "identity (sympy)",
        decide_identity, lambda rng: _ident(*inverse_pairs()), lambda rng: _ident(*inverse_pairs(True)),
        "an eps inverse off by a factor 2 in C", source="symbolic.csv (columns row, lhs, rhs: sympy strings; ratio for composition-covers)"),
    Row("critical-width", "lower bound: L = log(1/(1-(1-delta)^(1/d))) -> log(d/delta) as delta -> 0, so the "
        "critical width is rho(p) log(d/delta) up to one rounding step", "identity (sympy limit)", decide_identity,
        lambda rng: _ident(*critical_width_pairs()), lambda rng: _ident(*critical_width_pairs(True)),
        "a limit of 1/d (a width that does not grow with log d)", source="symbolic.csv (columns row, lhs, rhs: sympy strings; ratio for composition-covers)"),
]


def check(quick: bool = True, out_dir: Path = Path("figures")) -> list:
    tables = [_ident(*er_factor_pairs()), _ident(*composition_pairs()), _covers_table(30 if quick else 300),
              _ident(*inverse_pairs()), _ident(*critical_width_pairs())]
    pd.concat([t.assign(row=row.id) for row, t in zip(ROWS, tables)], ignore_index=True).to_csv(
        out_dir / "symbolic.csv", index=False)
    return judge(out_dir)


def judge(out_dir: Path) -> list:
    """Sympy re-decides every identity from the stored strings; the covers row reads the stored ratios."""
    t = read_csv(Path(out_dir) / "symbolic.csv", ["row"])
    out = []
    for row in ROWS:
        part = t[t["row"] == row.id]
        if part.empty:
            raise ValueError(f"symbolic.csv has no entries for row {row.id!r}")
        out.append(row.judge(part.dropna(axis=1, how="all")))
    return out


if __name__ == "__main__":
    script_main(globals())
