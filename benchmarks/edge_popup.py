"""Epoch time of support-restricted edge-popup vs plain masked training of the same network (one run).

Network: an ER source of LeNet-300-100 shape x2 (784-600-200-10, density 0.5) on digits28 (1294
training images, batch 128). Goal: edge-popup within 1.5x of plain masked training on CPU. On a
CUDA machine the same script also times the CUDA path (same code, device='cuda').
Each of ``--repeats`` runs (default 5) times both loops back to back; the goal is judged on the median
ratio, and the spread (min-max) is printed beside it. ``--profile`` prints where edge-popup's epoch goes.
Run: python benchmarks/edge_popup.py [--epochs 3] [--repeats 5] [--profile]
"""
from __future__ import annotations

import argparse
import time

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import torch

from lottery_theory.data import load
from lottery_theory.nets import er_source
from lottery_theory.search.edge_popup import edge_popup
from lottery_theory.search.train import train


def time_both(device: str, epochs: int, data) -> tuple[float, float]:
    g = torch.Generator().manual_seed(0)
    src = er_source([784, 300, 100, 10], width_multiplier=2, density=0.5, init="signed_constant", exact=True,
                    bias=False, scale_fan=0.2, generator=g)
    net = er_source([784, 300, 100, 10], width_multiplier=2, density=0.5, init="kaiming_normal", exact=True,
                    bias=False, generator=g)
    # warm-up (allocations, CUDA context)
    edge_popup(src, data, density=0.2, epochs=1, generator=g, device=device, progress=False, val_data=data)
    train(net, data, epochs=1, lr=0.1, optimizer="sgd", generator=g, device=device, progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    edge_popup(src, data, density=0.2, epochs=epochs, generator=g, device=device, progress=False, val_data=data)
    if device == "cuda":
        torch.cuda.synchronize()
    t_ep = (time.perf_counter() - t0) / epochs
    t0 = time.perf_counter()
    train(net, data, epochs=epochs, lr=0.1, optimizer="sgd", weight_decay=5e-4, generator=g, device=device,
          progress=False, val_data=data)
    if device == "cuda":
        torch.cuda.synchronize()
    t_tr = (time.perf_counter() - t0) / epochs
    return t_ep, t_tr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    d = load("digits28", generator=torch.Generator().manual_seed(0))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch threads {torch.get_num_threads()}; network 784-600-200-10 at density 0.5; "
          f"{len(d.train[0])} training images; both loops evaluate the same validation split each epoch")
    res = {}
    import os
    import statistics

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for dev in devices:
        runs = [time_both(dev, args.epochs, d.train) for _ in range(args.repeats)]
        ratios = [a / b for a, b in runs]
        t_ep = statistics.median(a for a, _ in runs)
        t_tr = statistics.median(b for _, b in runs)
        res[dev] = (t_ep, t_tr)
        print(f"{dev:>5}: edge-popup {t_ep * 1000:8.1f} ms/epoch | plain masked training {t_tr * 1000:8.1f} ms/epoch"
              f" (medians of {args.repeats}) | ratio median {statistics.median(ratios):.2f}, spread "
              f"{min(ratios):.2f}-{max(ratios):.2f} (goal: median <= 1.5)")
    if args.profile:
        import cProfile
        import pstats

        g = torch.Generator().manual_seed(0)
        src = er_source([784, 300, 100, 10], width_multiplier=2, density=0.5, init="signed_constant", exact=True,
                        bias=False, scale_fan=0.2, generator=g)
        pr = cProfile.Profile()
        pr.enable()
        edge_popup(src, d.train, density=0.2, epochs=args.epochs, generator=g, progress=False, val_data=d.train)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(12)
    if "cuda" in res:
        print(f"CUDA speed-up: edge-popup {res['cpu'][0] / res['cuda'][0]:.1f}x, "
              f"plain {res['cpu'][1] / res['cuda'][1]:.1f}x")


if __name__ == "__main__":
    main()
