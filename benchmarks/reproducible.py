"""Cost of the reproducible numerics (lottery_theory._reproducible) against the CPU's fastest code paths.

Baseline: the same work with ``LOTTERY_THEORY_FAST_MATH=1`` (torch/MKL/oneDNN, numpy and OpenBLAS free to use AVX2/AVX-512 and every thread), in the
same run. Each workload runs in a fresh process per mode (the pins act at start-up), ``--repeats`` times
alternating the modes; the median wall time of the work itself (imports and data loading excluded) is compared.
Workloads: 3 epochs of LeNet-300-100 on mnist5k (batch 128, Adam) with one thread and with two; 10 epochs of the
conv net on digits; a 2L ticket for a 10-20-20-1 target (k = 32, p = 0.5) with its bracket; re-judging every row
of figures/full (numpy: power simulations, fits); the exact 3-layer bound at 40 widths, 50 times (numpy exp/log1p/power).
Run: python benchmarks/reproducible.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

WORK = r"""
import json, sys, time
import lottery_theory  # noqa: F401 (pins unless LOTTERY_THEORY_FAST_MATH=1)
import torch
what = sys.argv[1]
if what.startswith("mlp"):
    torch.set_num_threads(int(what[-1]))
    from lottery_theory.experiments.builtin._data import er_start
    from lottery_theory.search.train import train
    g, net, data = er_start("mlp", "mnist5k", 0.1, "erk", 0)
    t = time.perf_counter()
    train(net, data.train, epochs=3, lr=1e-3, generator=g, progress=False)
elif what == "conv":
    torch.set_num_threads(1)
    from lottery_theory.experiments.builtin._data import er_start
    from lottery_theory.search.train import train
    g, net, data = er_start("conv", None, 0.1, "erk", 0)
    t = time.perf_counter()
    train(net, data.train, epochs=10, lr=1e-3, generator=g, progress=False)
elif what == "judge":  # numpy-heavy: power simulations and fits of every row on the published full run
    from lottery_theory.verdicts import judge_checks, repo_root
    t = time.perf_counter()
    judge_checks(repo_root() / "figures" / "full")
elif what == "bounds":  # numpy transcendental functions: the exact 3-layer bound over a grid, 50 times
    from lottery_theory.bounds.lower_bound import lower_bound_success_prob
    t = time.perf_counter()
    for _ in range(50):
        for n in range(50, 2050, 50):
            lower_bound_success_prob(n, 784, 0.05, 0.5)
else:
    import warnings
    from lottery_theory.experiments.builtin.ticket import spectral_target
    from lottery_theory.tickets import construct
    target = spectral_target([10, 20, 20, 1], 0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tk = construct(target, density=0.5, eps=0.01, width_multiplier=32, generator=torch.Generator().manual_seed(0))
    tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(1))
print(json.dumps({"seconds": time.perf_counter() - t, "cap": torch.backends.cpu.get_cpu_capability()}))
"""


def once(what: str, fast: bool) -> tuple[float, str]:
    env = dict(os.environ)
    env.pop("LOTTERY_THEORY_FAST_MATH", None)
    if fast:
        env["LOTTERY_THEORY_FAST_MATH"] = "1"
    r = subprocess.run([sys.executable, "-c", WORK, what], capture_output=True, text=True, env=env, check=True)
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return d["seconds"], d["cap"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'workload':<26} {'fast (s)':>9} {'pinned (s)':>11} {'pinned/fast':>12}   code paths")
    for what, label in [("mlp1", "LeNet 3 epochs, 1 thread"), ("mlp2", "LeNet 3 epochs, 2 threads"),
                        ("conv", "conv net 10 epochs"), ("ticket", "ticket + bracket"),
                        ("judge", "verify --from figures/full"), ("bounds", "3-layer bound, 50 x 40 widths")]:
        fast, pinned, caps = [], [], set()
        for _ in range(args.repeats):
            s, c = once(what, True)
            fast.append(s)
            caps.add(c)
            s, c = once(what, False)
            pinned.append(s)
            caps.add(c)
        f, p = statistics.median(fast), statistics.median(pinned)
        print(f"{label:<26} {f:>9.2f} {p:>11.2f} {p / f:>11.2f}x   {' vs '.join(sorted(caps))}")


if __name__ == "__main__":
    main()
