"""Architecture and data shared by the training experiments (ratio_train, sparse_to_sparse)."""
from __future__ import annotations

import torch


def arch_and_data(arch: str, g: torch.Generator, dataset: str | None = None):
    from ...data import load
    from ...nets import conv_net

    if arch == "mlp":
        return [784, 300, 100, 10], load(dataset or "digits28", generator=g)
    if arch == "conv":
        return conv_net(1, 10, channels=(16, 32), image_size=8, hidden=64, generator=g), load("digits", generator=g,
                                                                                               flatten=False)
    raise ValueError(f"arch must be 'mlp' (LeNet-300-100 on mnist5k) or 'conv' (digits 8x8), got {arch!r}")


DATA = {"mlp": {"dataset": "mnist5k"}, "conv": {}}  # LeNet-300-100 on real MNIST; conv net on digits


def er_start(arch: str, dataset: str | None, density: float, ratio: str, seed: int):
    """``(generator, net, data)``: an exact-count ER-masked network of ``arch`` at global ``density`` spread by
    ``ratio`` (Kaiming-uniform weights), and its data; one generator seeded with ``seed`` draws both."""
    from ...nets import er_source

    g = torch.Generator().manual_seed(seed)
    target, data = arch_and_data(arch, g, dataset)
    net = er_source(target, width_multiplier=1, density=density, ratio=ratio, exact=True, init="kaiming_uniform",
                    generator=g)
    return g, net, data
