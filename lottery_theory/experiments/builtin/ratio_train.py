"""Training inside ER masks distributed by a layer-wise ratio (proofs_checks/prune_er.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..config import ExperimentConfig, register_experiment
from ..sweep import BUILTIN_SWEEPS
from ._data import DATA, er_start


@dataclass(frozen=True)
class RatioTrainConfig(ExperimentConfig):
    """Train a network inside an ER mask of global ``density`` distributed by layer-wise ``ratio``."""
    experiment: ClassVar[str] = "ratio_train"
    arch: str = "mlp"
    density: float = 0.1
    ratio: str = "erk"
    epochs: int = 10
    dataset: str | None = None  # mlp only: None = "digits28" (old hashes), or "mnist5k"


@register_experiment(RatioTrainConfig)
def run_ratio_train(cfg: RatioTrainConfig) -> list[dict]:
    from ...search.train import evaluate, train

    g, net, data = er_start(cfg.arch, cfg.dataset, cfg.density, cfg.ratio, cfg.seed)
    res = train(net, data.train, epochs=cfg.epochs, lr=1e-3, val_data=data.val, keep_best=True, generator=g,
                progress=False)
    history = [{"metric": f"history_{k}", "epoch": h["epoch"], "value": v} for h in res.history
               for k, v in h.items() if k != "epoch"]
    return history + [{"metric": "test_accuracy", "value": evaluate(net, data.test)["accuracy"]}]


def ratio_grid(quick: bool) -> dict:
    seeds = [0, 1, 2] if quick else [0, 1, 2, 3, 4]
    grid = (0.1, 0.01) if quick else (0.5, 0.2, 0.1, 0.05, 0.01)  # quick: the densities the row and finding read
    return {"experiment": "ratio_train", "fixed": {"epochs": 5 if quick else 15},
            "configs": [{"arch": arch, "density": d, "ratio": r, "seed": s, **DATA[arch]} for arch in ("mlp", "conv")
                        for d in grid for r in ("uniform", "er", "erk", "balanced", "pyramidal") for s in seeds]}


BUILTIN_SWEEPS["ratios-quick"] = ratio_grid(True)
BUILTIN_SWEEPS["ratios"] = ratio_grid(False)
