"""A strong ticket for your own (small) MLP inside an ER source, with its sup-error bracket, exported to plain
nn.Linear layers.

Your target is any nn.Sequential of Linear/Conv2d, ReLU, Flatten and pooling layers (load a checkpoint with
`lottery_theory.nets.load_target`). Prints the construction's size, its certificate and the bracket
[attack lower bound, interval certificate] of sup |ticket(x) - target(x)| over [-1, 1]^d; says "eps-ticket" only
when the certificate is <= eps.

Run: python examples/ticket_for_your_model.py [--fast]
"""
import argparse

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import torch
from torch import nn

from lottery_theory.tickets import construct


def main(fast: bool) -> None:
    g = torch.Generator().manual_seed(0)
    target = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    with torch.no_grad():  # the bounds assume ||W||_inf + ||b||_inf <= 1 per layer
        for m in target:
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 2 - 1)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) * 2 - 1)
                norm = m.weight.abs().sum(1).max() + m.bias.abs().max()
                m.weight /= norm
                m.bias /= norm
    eps = 0.01
    tk = construct(target, density=0.3, eps=eps, width_multiplier=40 if fast else 120,
                   generator=torch.Generator().manual_seed(1))
    print(f"source: {tk.source_params:,} parameters ({tk.source_edges:,} present at density 0.3); "
          f"ticket keeps {tk.kept_params:,} = {tk.kept_ratio:.1f}x the target's {tk.target_params}")
    print(f"subset sums: {tk.n_instances:,}, above the per-weight budget: {tk.failures}")
    br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(2), restarts=4 if fast else 16)
    print(f"sup error over [-1,1]^8: [{br.lower:.3g}, {br.upper:.3g}] (attack, certificate); "
          f"composition certificate {tk.certified_error:.3g}")
    print(f"eps-ticket at eps = {eps}: {br.upper <= eps}")
    plain = lottery_theory.export(tk.network)
    print(f"exported: {type(plain).__name__} of {[type(m).__name__ for m in plain]}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fast", action="store_true", help="a narrower source (what CI runs)")
    main(ap.parse_args().fast)
