"""Scale table for 2L tickets inside ER sources (issue 17): time, peak memory, source size and misses.

Run: python benchmarks/ticket_scale.py [--cases lenet-0.5,lenet-0.2,lenet-0.1,wide-0.5] [--max-items 20]

Each case runs ``construct`` in its own process, so ``peak GiB`` is that process's peak resident memory
(ru_maxrss), imports included. Units per input ``k`` scale as ``80 / p``, which keeps the expected number of
present items per weight (``k p / 2`` in the adaptive layout) at 40 before the ``max_items`` cap. Goal: every
case < 8 GiB. ``source params`` counts the dense source (what a dense draw would allocate); ``edges`` what
exists in the ER source (present weights and all biases); ``missed`` instances above the per-weight budget.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CASES = {"lenet-0.5": ([784, 300, 100, 10], 0.5), "lenet-0.2": ([784, 300, 100, 10], 0.2),
         "lenet-0.1": ([784, 300, 100, 10], 0.1), "wide-0.5": ([784, 1000, 1000, 10], 0.5)}


def child(name: str, max_items: int) -> None:
    import torch

    from lottery_theory.nets import mlp
    from lottery_theory.tickets import construct

    widths, p = CASES[name]
    k = round(80 / p)
    target = mlp(widths, generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    tk = construct(target, density=p, eps=0.01, width_multiplier=k, max_items=max_items,
                   generator=torch.Generator().manual_seed(1))
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"case": name, "k": k, "time_s": wall, "peak_gib": peak, "source_params": tk.source_params,
                      "edges": tk.source_edges, "kept": tk.kept_params, "instances": tk.n_instances,
                      "missed": tk.failures, "solve_s": tk.timings.get("t_solve_s", 0.0),
                      "certified": tk.certified_error}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--max-items", type=int, default=20)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.max_items)
        return
    import os

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'case':>10} {'k':>5} {'time s':>7} {'solve s':>7} {'peak GiB':>8} {'source params':>14} {'edges':>12} "
          f"{'kept':>10} {'instances':>10} {'missed':>7}")
    for name in args.cases.split(","):
        if name not in CASES:
            raise SystemExit(f"unknown case {name!r}; known: {', '.join(CASES)}")
        out = subprocess.run([sys.executable, __file__, "--child", name, "--max-items", str(args.max_items)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{name:>10} failed (exit {out.returncode}): {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['case']:>10} {r['k']:>5} {r['time_s']:>7.1f} {r['solve_s']:>7.1f} {r['peak_gib']:>8.2f} "
              f"{r['source_params']:>14,} {r['edges']:>12,} {r['kept']:>10,} {r['instances']:>10,} {r['missed']:>7,}")


if __name__ == "__main__":
    main()
