"""Bounds in a notebook: how much wider must an ER source be than a dense one?

Prints, for LeNet-300-100 at eps = 0.01, delta = 0.01, the 2L source widths the paper's bound asks for at
several densities, the ER factor rho(p) = 1/log(1/(1-p)) against 1/p, and the lower bound's critical width
for a 3-layer network. Every number comes from `lottery_theory.bounds` (numeric calculators with sympy twins).

Run: python examples/bounds_in_a_notebook.py [--fast]
"""
import argparse
import math

from lottery_theory.bounds import er_factor, lower_bound_width, required_width


def main(fast: bool) -> None:
    widths = [784, 300, 100, 10]
    densities = [1.0, 0.5, 0.1] if fast else [1.0, 0.5, 0.2, 0.1, 0.05, 0.01]
    print(f"2L source widths for {widths}, eps 0.01, delta 0.01 (adaptive layout):")
    print(f"{'p':>6} {'rho(p)':>8} {'1/p':>7} {'first block width':>18} {'vs dense':>9}")
    dense = required_width(widths, 0.01, 0.01, 1.0)[1]
    for p in densities:
        w = required_width(widths, 0.01, 0.01, p)
        rho = er_factor(p) if p < 1 else 1.0
        print(f"{p:>6} {rho:>8.3f} {1 / p:>7.1f} {w[1]:>18,} {w[1] / dense:>9.2f}x")
    lb = int(lower_bound_width(100, 0.01, 0.1))
    print(f"lower bound (3 layers, d = 100, delta = 0.01, p = 0.1): width >= {lb:,} "
          f"(approximation rho(0.1) log(d/delta) = {er_factor(0.1) * math.log(100 / 0.01):.0f})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fast", action="store_true", help="fewer densities (what CI runs)")
    main(ap.parse_args().fast)
