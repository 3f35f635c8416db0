"""How tight is the bracket? The exact sup error (MILP, lottery_theory/tickets/exact.py) against the attack's lower
bound and each certificate's upper bound, on the small-ticket suite of ``proofs_checks/tickets_er.py``
(``exact_suite``: targets 3-4-1, 4-6-2 and 2-3-3-1, p in {1, 0.5, 0.2}, fixed and adaptive layouts, widths 4, 8
and the bound's width, eps = 0.05; 54 2L tickets per seed), then the L+1 suite (``exact_suite_l1``: the same targets
plus 1-4-1 and 1-3-3-1, whose one input makes the exact value computable at any width from the networks' kinks;
90 L+1 tickets per seed; the MILP with one variable per copy elsewhere, where it stays small), then the whole suite.

    python benchmarks/certificates.py [--seeds 1]

Columns: interval (layer-wise intervals), differential with one box, differential as ``Ticket.sup_error`` runs it
(input splitting up to SPLIT_BOXES = 256 boxes, stopped within 5% of the attack), composition. Baseline: the interval
certificate, in the same run.
"""
from __future__ import annotations

import argparse

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import numpy as np

from proofs_checks.tickets_er import L1_MAX_BINARIES, exact_suite, exact_suite_l1


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
    l1 = exact_suite_l1(range(args.seeds), progress=lambda r: None)
    _report_l1(l1)
    _report_all(t, l1)



def _report_l1(l1) -> None:
    print(f"\nL+1 tickets ({len(l1)}; exact: one input from the kinks, else the MILP where it has <= {L1_MAX_BINARIES} "
          "binaries and is proven optimal within 30 s per MILP, else -)")
    print("| target | p | layout | k | copies | lower | exact (how) | interval | differential (1 box) | sup_error upper "
          "| t bracket s | t exact s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in l1.itertuples():
        ex = f"{r.exact:.3e} ({r.exact_method})" if np.isfinite(r.exact) else "-"
        k = "bound" if r.at_bound else r.k
        print(f"| {r.target} | {r.density:g} | {r.layout} | {k} | {r.copies} | {r.lower:.3e} | {ex} | "
              f"{r.interval:.3e} | {r.differential_1box:.3e} | {r.upper:.3e} | {r.t_bracket:.1f} | {r.t_exact:.1f} |")
    s = l1[np.isfinite(l1.exact)]
    print(f"L+1 with an exact value: {len(s)} of {len(l1)} ({int(s.at_bound.sum())} of {int(l1.at_bound.sum())} at "
          f"the bound's width); without one, upper / lower: median {np.median(_ratio(l1[~np.isfinite(l1.exact)])):.2f}")


def _ratio(t, den="lower"):
    return (t["upper"] / t[den]).to_numpy() if len(t) else np.array([np.nan])


def _report_all(t2, l1) -> None:
    """The issue's test on the whole suite: reported upper / exact, and every exact inside every bracket."""
    import pandas as pd

    both = pd.concat([t2.assign(construction="2L"), l1.assign(construction="L+1")], ignore_index=True)
    s = both[np.isfinite(both.exact)]
    inside = bool(np.all((s.lower <= s.exact_bound) & (s.exact <= s.upper * (1 + 1e-6))
                         & (s.exact <= s.interval * (1 + 1e-6)) & (s.exact <= s.differential_1box * (1 + 1e-6))))
    print("\n| suite | tickets with exact | upper / exact median | max | at the bound's width: median | max | "
          "exact / lower median | max |")
    print("|---|---|---|---|---|---|---|---|")
    for name, g in (("2L", s[s.construction == "2L"]), ("L+1", s[s.construction == "L+1"]), ("all", s)):
        r, ra, el = _ratio(g, "exact"), _ratio(g[g.at_bound], "exact"), (g.exact / g.lower).to_numpy()
        print(f"| {name} | {len(g)} | {np.median(r):.2f} | {np.max(r):.2f} | {np.median(ra):.2f} | {np.max(ra):.2f} | "
              f"{np.median(el):.3f} | {np.max(el):.3f} |")
    print(f"every exact value inside every bracket (reported upper, interval, differential 1 box; lower <= exact): "
          f"{inside}")


if __name__ == "__main__":
    main()
