"""The LeNet-300-100 target on real MNIST (mnist5k) behind ``lottery-theory ticket --target lenet-mnist``:
trained once per (seed, epochs) and cached in the safe checkpoint format (:mod:`lottery_theory.nets.checkpoint`)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


def lenet_mnist(seed: int = 0, epochs: int = 15, cache_dir: str | Path | None = None,
                progress: bool = False) -> tuple[nn.Sequential, dict]:
    """LeNet-300-100 (784-300-100-10, ReLU) trained with Adam (lr 1e-3, validation picks the epoch) on mnist5k;
    returns the plain ``nn.Sequential`` and ``{"test_accuracy", "checkpoint"}``. Cached under ``cache_dir``
    (default ``results/checkpoints``)."""
    from ..data import load
    from .store import default_store
    from ..nets import load_target, mlp, save_target
    from ..search.train import evaluate, train

    cache = Path(cache_dir) if cache_dir else default_store().root / "checkpoints"
    path = cache / f"lenet-mnist5k-seed{seed}-epochs{epochs}.pt"
    g = torch.Generator().manual_seed(seed)
    data = load("mnist5k", generator=g)
    if path.exists():
        target = load_target(path)
    else:
        net = mlp([784, 300, 100, 10], generator=g)
        train(net, data.train, epochs=epochs, lr=1e-3, val_data=data.val, keep_best=True, generator=g,
              progress=progress)
        save_target(net, path)
        target = load_target(path)
    return target, {"test_accuracy": evaluate(target, data.test)["accuracy"], "checkpoint": str(path)}
