"""How tight is the bracket? The exact sup error (MILP, lottery_theory/tickets/exact.py) against the attack's lower
bound and each certificate's upper bound, on the small-ticket suite of ``proofs_checks/tickets_er.py``
(``exact_suite``: targets 3-4-1, 4-6-2 and 2-3-3-1, p in {1, 0.5, 0.2}, fixed and adaptive layouts, widths 4, 8
and the bound's width, eps = 0.05; 54 2L tickets per seed), then L+1 tickets of the same targets (the MILP
with one variable per copy where it stays small; every bracket against the attack's lower bound).

    python benchmarks/certificates.py [--seeds 1]

Columns: interval (layer-wise intervals), differential with one box, differential as ``Ticket.sup_error`` runs it
(input splitting up to SPLIT_BOXES = 256 boxes, stopped within 5% of the attack), composition. Baseline: the interval
certificate, in the same run.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from proofs_checks.tickets_er import EXACT_TARGETS, _small_target, exact_suite


def _lplus1(seeds) -> list[dict]:
    from lottery_theory.bounds.certificate import interval_certificate
    from lottery_theory.bounds.differential import differential_certificate
    from lottery_theory.tickets import construct
    from lottery_theory.tickets.construct import BudgetMissed
    from lottery_theory.tickets.exact import exact_sup_error

    rows = []
    for widths in EXACT_TARGETS:
        if len(widths) < 3:
            continue
        for p in (1.0, 0.5, 0.2):
            for seed in seeds:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", BudgetMissed)
                    tk = construct(_small_target(widths, seed), density=p, eps=0.05, construction="L+1",
                                   generator=torch.Generator().manual_seed(100 + seed))
                t0 = time.perf_counter()
                iv = interval_certificate(tk.target, tk.realise(), -1.0, 1.0).upper
                t1 = time.perf_counter()
                d1 = differential_certificate(tk.target, tk.realise(), -1.0, 1.0).upper
                t2 = time.perf_counter()
                br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(seed))
                try:  # the MILP with one variable per copy: small L+1 tickets only
                    ex = exact_sup_error(tk, max_binaries=L1_MAX_BINARIES, time_limit=30.0)
                    exact = ex.value if ex.optimal else float("nan")
                except ValueError:
                    exact = float("nan")
                rows.append(dict(target="-".join(map(str, widths)), density=p, seed=seed, lower=br.lower, interval=iv,
                                 differential_1box=d1, upper=br.upper, exact=exact, t_interval=t1 - t0,
                                 t_diff=t2 - t1))
    return rows


L1_MAX_BINARIES = 400  # L+1 MILPs: one binary per unstable copy; larger ones take minutes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=1)
    args = ap.parse_args()
    print("| target | p | layout | k | lower | exact | interval | differential (1 box) | differential (sup_error) "
          "| composition |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    t = exact_suite(range(args.seeds), progress=lambda r: print(
        f"| {r['target']} | {r['density']:g} | {r['layout']} | {r['k']} | {r['lower']:.3e} | {r['exact']:.3e} | "
        f"{r['interval']:.3e} | {r['differential_1box']:.3e} | {r['differential']:.3e} | {r['composition']:.3e} |",
        flush=True))
    ok, lowest = True, {}
    for col in ("interval", "differential_1box", "differential", "upper"):
        # the MILP's optimum carries HiGHS's 1e-6 relative tolerance (tickets/exact.py, TOL)
        ok &= bool(np.all((t.lower <= t.exact_bound) & (t.exact <= t[col] * (1 + 1e-6))))
        lowest[col] = float((t[col] / t.exact).min())
    print(f"\n{len(t)} 2L tickets, all solved to optimality: {bool(t.optimal.all())}; every exact value inside every "
          f"bracket (each certificate, up to the MILP's 1e-6 tolerance): {ok}; smallest upper / exact: "
          + ", ".join(f"{k} {v:.9f}" for k, v in lowest.items()))
    print("| certificate | upper / exact median | max | at the bound's width: median | max |")
    print("|---|---|---|---|---|")
    at = t[t.at_bound]
    for name, col in (("interval (baseline)", "interval"), ("differential, 1 box", "differential_1box"),
                      ("differential, sup_error (<= 256 boxes)", "differential"), ("reported upper", "upper"),
                      ("composition", "composition")):
        r, ra = t[col] / t.exact, at[col] / at.exact
        print(f"| {name} | {np.median(r):.2f} | {np.max(r):.2f} | {np.median(ra):.2f} | {np.max(ra):.2f} |")
    print(f"exact / lower: median {np.median(t.exact / t.lower):.3f}, max {np.max(t.exact / t.lower):.3f}")
    print(f"bracket upper / lower: median {np.median(t.upper / t.lower):.2f} (interval alone "
          f"{np.median(t.interval / t.lower):.2f})")
    rows = _lplus1(range(args.seeds))
    print(f"\nL+1 tickets ({len(rows)}; exact where the MILP has <= {L1_MAX_BINARIES} binaries and is proven "
          "optimal within 30 s per MILP, else -)")
    print("| target | p | lower | exact | interval | differential (1 box) | sup_error upper | t interval s | t diff s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ex = f"{r['exact']:.2e}" if np.isfinite(r["exact"]) else "-"
        print(f"| {r['target']} | {r['density']:g} | {r['lower']:.2e} | {ex} | {r['interval']:.2e} | "
              f"{r['differential_1box']:.2e} | {r['upper']:.2e} | {r['t_interval']:.3f} | {r['t_diff']:.3f} |")
    solved = [r for r in rows if np.isfinite(r["exact"])]
    if solved:
        ue = np.array([r["upper"] / r["exact"] for r in solved])
        inside = all(r["lower"] <= r["exact"] * (1 + 1e-6) and r["exact"] <= r["upper"] * (1 + 1e-6) for r in solved)
        print(f"L+1 with an exact value ({len(solved)}): upper / exact median {np.median(ue):.2f}, max {ue.max():.2f}; "
              f"every exact inside its bracket: {inside}")
    li = np.array([r["interval"] / r["lower"] for r in rows])
    ld = np.array([r["upper"] / r["lower"] for r in rows])
    print(f"L+1 upper / lower: interval median {np.median(li):.1f} (max {li.max():.1f}); reported median "
          f"{np.median(ld):.1f} (max {ld.max():.1f}); every lower <= upper: "
          f"{all(r['lower'] <= r['upper'] for r in rows)}")


if __name__ == "__main__":
    main()
