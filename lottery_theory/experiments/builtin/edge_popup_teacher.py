"""Edge-popup in an ER source for a random teacher network (proofs_checks/edge_popup_er.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..config import ExperimentConfig, register_experiment
from ..sweep import BUILTIN_SWEEPS
from .ticket import spectral_target


@dataclass(frozen=True)
class EdgePopupTeacherConfig(ExperimentConfig):
    """Edge-popup in an ER source (exact-count masks) for a random teacher (no biases, U[-1,1] weights at
    spectral norm 1, output rescaled to unit RMS on the box); the ticket keeps half of the support in
    every layer (final density = density / 2). Source init ``init`` with hidden-networks' scale-fan."""
    experiment: ClassVar[str] = "edge_popup_teacher"
    target_widths: tuple = (20, 40, 40, 1)
    density: float = 1.0
    width_multiplier: int = 1
    epochs: int = 20
    n_train: int = 4000
    lr: float = 0.1
    init: str = "signed_constant"


@register_experiment(EdgePopupTeacherConfig)
def run_edge_popup_teacher(cfg: EdgePopupTeacherConfig) -> list[dict]:
    from ...data import load
    from ...nets import er_source
    from ...search.edge_popup import edge_popup

    target = spectral_target(cfg.target_widths, cfg.seed, bias=False)
    g = torch.Generator().manual_seed(30_000 + cfg.seed)
    with torch.no_grad():  # unit RMS output on the box (a positive rescaling of a bias-free ReLU net)
        probe = torch.rand(4000, cfg.target_widths[0], generator=g) * 2 - 1
        last = [m for m in target if isinstance(m, torch.nn.Linear)][-1]
        last.weight /= target(probe).pow(2).mean().sqrt()
    data = load("teacher", target=target, n_train=cfg.n_train, n_test=2000, generator=g)
    src = er_source(target, width_multiplier=cfg.width_multiplier, density=cfg.density, init=cfg.init,
                    exact=True, bias=False, scale_fan=cfg.density / 2, generator=g)
    res = edge_popup(src, data.train, density=cfg.density / 2, epochs=cfg.epochs, lr=cfg.lr, val_data=data.val,
                     weight_decay=0.0, generator=g, progress=False)
    with torch.no_grad():
        gap = (res.network(data.test[0]) - data.test[1]).abs()
        rel = float(gap.pow(2).mean() / data.test[1].pow(2).mean())
    return [{"metric": "sup_error", "value": float(gap.max())}, {"metric": "mean_error", "value": float(gap.mean())},
            {"metric": "relative_mse", "value": rel}]


def teacher_grid(quick: bool) -> dict:
    """Quick: widths 1..8 at 10 epochs reach twice the dense floor (row teacher-width's level) only for p >= 0.2, so
    its sparse end is 0.2 (with 0.3 between), and over that short range of rho(p) ten seeds are needed for power
    0.9 against rho^1.5 (five gave 0.65); full: p down to 0.1, widths 1..32, 40 epochs, five seeds (power 1.00)."""
    seeds = list(range(10)) if quick else list(range(5))
    ks = [1, 2, 4, 8] if quick else [1, 2, 4, 8, 16, 32]
    ps = [1.0, 0.5, 0.3, 0.2] if quick else [1.0, 0.5, 0.2, 0.1]
    return {"experiment": "edge_popup_teacher", "fixed": {"epochs": 10 if quick else 40},
            "grid": {"density": ps, "width_multiplier": ks, "seed": seeds}}


BUILTIN_SWEEPS["edge-popup-teacher-quick"] = teacher_grid(True)
BUILTIN_SWEEPS["edge-popup-teacher"] = teacher_grid(False)
