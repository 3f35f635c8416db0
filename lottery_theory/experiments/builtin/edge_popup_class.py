"""Edge-popup classification inside ER sources against dense training (proofs_checks/edge_popup_er.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..config import ExperimentConfig, register_experiment
from ..sweep import BUILTIN_SWEEPS


@dataclass(frozen=True)
class EdgePopupClassConfig(ExperimentConfig):
    """Classification (mlp: LeNet-300-100 on mnist5k; conv: small conv net on digits): edge-popup inside an ER
    source of ``source_density`` down to
    ``final_density`` (method "edge_popup"), or the dense network trained with Adam ("dense_train")."""
    experiment: ClassVar[str] = "edge_popup_class"
    arch: str = "mlp"
    method: str = "edge_popup"
    source_density: float = 0.5
    final_density: float = 0.1
    width_multiplier: int = 2
    epochs: int = 15
    dataset: str | None = None  # mlp only: None = 64-100-100-10 on "digits" (old hashes); "mnist5k" = LeNet-300-100


@register_experiment(EdgePopupClassConfig)
def run_edge_popup_class(cfg: EdgePopupClassConfig) -> list[dict]:
    from ...data import load
    from ...nets import conv_net, er_source, mlp
    from ...search.edge_popup import edge_popup
    from ...search.train import evaluate, train

    g = torch.Generator().manual_seed(cfg.seed)
    flat = cfg.arch == "mlp"
    lenet = flat and cfg.dataset == "mnist5k"
    data = load("mnist5k" if lenet else "digits", generator=g, flatten=flat)
    if lenet:  # LeNet-300-100 on real MNIST
        target = mlp([784, 300, 100, 10], bias=False, generator=g)
    elif flat:
        target = mlp([64, 100, 100, 10], bias=False, generator=g)
    elif cfg.arch == "conv":
        target = conv_net(1, 10, channels=(16, 32), image_size=8, hidden=64, bias=False, generator=g)
    else:
        raise ValueError(f"arch must be 'mlp' or 'conv', got {cfg.arch!r}")
    if cfg.method == "dense_train":
        train(target, data.train, epochs=cfg.epochs, lr=1e-3, val_data=data.val, keep_best=True, generator=g,
              progress=False)
        net, best = target, None
    elif cfg.method == "edge_popup":
        src = er_source(target, width_multiplier=cfg.width_multiplier, density=cfg.source_density,
                        init="signed_constant", exact=True, bias=False, scale_fan=cfg.final_density, generator=g)
        res = edge_popup(src, data.train, density=cfg.final_density, epochs=cfg.epochs, val_data=data.val,
                         generator=g, progress=False)
        net, best = res.network, res.best_val
    else:
        raise ValueError(f"method must be 'edge_popup' or 'dense_train', got {cfg.method!r}")
    acc = evaluate(net, data.test)["accuracy"]  # test split: final report only
    rows = [{"metric": "test_accuracy", "value": acc}]
    if best is not None:
        rows.append({"metric": "best_val_accuracy", "value": best})
    return rows


def class_grid(quick: bool) -> dict:
    seeds = [0, 1, 2] if quick else [0, 1, 2, 3, 4]
    cls = []
    for arch in ["mlp", "conv"]:
        for s in seeds:
            ds = {"dataset": "mnist5k"} if arch == "mlp" else {}  # LeNet-300-100 on real MNIST
            cls += [{"arch": arch, "method": "edge_popup", "source_density": p, "seed": s, **ds} for p in (1.0, 0.5, 0.2)]
            cls.append({"arch": arch, "method": "dense_train", "source_density": 1.0, "seed": s, **ds})
    return {"experiment": "edge_popup_class", "fixed": {"epochs": 5 if quick else 40}, "configs": cls}


BUILTIN_SWEEPS["edge-popup-class-quick"] = class_grid(True)
BUILTIN_SWEEPS["edge-popup-class"] = class_grid(False)
