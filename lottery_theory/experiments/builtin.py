"""Built-in experiments (registered configs + run functions) and named sweeps."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from .config import ExperimentConfig, register_experiment
from .sweep import BUILTIN_SWEEPS


# ----------------------------------------------------------------------------- selftest (for the store's tests)
@dataclass(frozen=True)
class SelftestConfig(ExperimentConfig):
    """A cheap deterministic experiment: rows derived from the seed, after an optional sleep."""
    experiment: ClassVar[str] = "selftest"
    x: float = 1.0
    sleep_s: float = 0.0


@register_experiment(SelftestConfig)
def run_selftest(cfg: SelftestConfig) -> list[dict]:
    import time

    time.sleep(cfg.sleep_s)
    rng = np.random.default_rng(cfg.seed)
    return [{"metric": "value", "value": float(cfg.x * rng.uniform())}, {"metric": "x2", "value": cfg.x * 2}]


# ----------------------------------------------------------------------------- constructive tickets
def spectral_target(widths, seed: int) -> torch.nn.Sequential:
    """Random MLP with U[-1,1] weights and biases, each weight matrix scaled to spectral norm <= 1."""
    from ..nets import mlp

    t = mlp(list(widths), init="uniform", generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for m in t:
            if isinstance(m, torch.nn.Linear):
                s = torch.linalg.matrix_norm(m.weight, ord=2)
                m.weight /= max(1.0, float(s))
    return t


@dataclass(frozen=True)
class TicketConfig(ExperimentConfig):
    """One constructive ticket for a random spectral-norm-1 MLP target inside an ER source."""
    experiment: ClassVar[str] = "ticket"
    target_widths: tuple = (10, 20, 20, 1)
    density: float = 0.5
    width_multiplier: int = 16
    construction: str = "2L"
    max_items: int = 20
    n_eval: int = 2000


@register_experiment(TicketConfig)
def run_ticket(cfg: TicketConfig) -> list[dict]:
    from ..tickets import construct

    target = spectral_target(cfg.target_widths, cfg.seed)
    tk = construct(target, density=cfg.density, eps=0.01, construction=cfg.construction,
                   width_multiplier=cfg.width_multiplier, max_items=cfg.max_items,
                   generator=torch.Generator().manual_seed(10_000 + cfg.seed))
    g = torch.Generator().manual_seed(20_000 + cfg.seed)
    x = torch.rand(cfg.n_eval, cfg.target_widths[0], generator=g) * 2 - 1
    err = tk.measure_error(x)
    vals = {"max_error": err["max"], "mean_error": err["mean"], "certified_error": tk.certified_error,
            "failures": tk.failures, "n_instances": tk.n_instances, "source_params": tk.source_params,
            "kept_params": tk.kept_params, "target_params": tk.target_params, "t_total_s": tk.timings["t_total_s"],
            "median_instance_error": float(np.median(tk.instance_errors))}
    return [{"metric": k, "value": float(v)} for k, v in vals.items()]


@dataclass(frozen=True)
class LenetTicketConfig(ExperimentConfig):
    """A ticket for LeNet-300-100 trained on digits28; test accuracy of target and ticket, each run alone."""
    experiment: ClassVar[str] = "ticket_lenet"
    density: float = 0.5
    width_multiplier: int = 160
    max_items: int = 20
    epochs: int = 15


@register_experiment(LenetTicketConfig)
def run_ticket_lenet(cfg: LenetTicketConfig) -> list[dict]:
    from ..data import load
    from ..nets import mlp
    from ..search.train import evaluate, train
    from ..tickets import construct

    g = torch.Generator().manual_seed(cfg.seed)
    data = load("digits28", generator=g)
    target = mlp([784, 300, 100, 10], generator=g)
    train(target, data.train, epochs=cfg.epochs, lr=1e-3, val_data=data.val, generator=g, progress=False)
    tk = construct(target, density=cfg.density, eps=0.01, width_multiplier=cfg.width_multiplier,
                   max_items=cfg.max_items, generator=torch.Generator().manual_seed(10_000 + cfg.seed))
    acc_t = evaluate(target, data.test)["accuracy"]
    acc_k = evaluate(tk.network, data.test)["accuracy"]  # the rebuilt ticket, evaluated on its own
    err = tk.measure_error(data.test[0])
    vals = {"target_test_accuracy": acc_t, "ticket_test_accuracy": acc_k, "max_output_gap": err["max"],
            "mean_output_gap": err["mean"], "certified_error": tk.certified_error, "kept_params": tk.kept_params,
            "source_params": tk.source_params, "target_params": tk.target_params,
            "t_total_s": tk.timings["t_total_s"], "failures": tk.failures, "n_instances": tk.n_instances}
    return [{"metric": k, "value": float(v)} for k, v in vals.items()]


def ticket_grid(quick: bool) -> dict:
    """Width multipliers k = round(2^(i/2)) per density, where the expected present items per subset sum,
    k p^2 / 2, lie in [0.5, 60] (quick) or [0.5, 400]; plus the bound's k for eps = 0.01 (default C)."""
    from ..bounds import required_width

    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    configs = []
    for p in ([1.0, 0.5, 0.2, 0.1] if quick else [1.0, 0.5, 0.2, 0.1, 0.05]):
        ks = sorted({round(2 ** (i / 2)) for i in range(2, 32) if 0.5 <= 2 ** (i / 2) * p * p / 2 <= (60 if quick else 400)})
        ks.append(required_width([10, 20, 20, 1], 0.01, 0.01, p)[1] // 11)
        configs += [{"density": p, "width_multiplier": k, "seed": s} for k in ks for s in seeds]
    return {"experiment": "ticket", "fixed": {"target_widths": [10, 20, 20, 1]}, "configs": configs}


BUILTIN_SWEEPS["tickets-quick"] = ticket_grid(quick=True)
BUILTIN_SWEEPS["tickets"] = ticket_grid(quick=False)
BUILTIN_SWEEPS["ticket-lenet"] = {"experiment": "ticket_lenet", "configs": [{"density": 0.5}, {"density": 1.0}]}
BUILTIN_SWEEPS["selftest"] = {"experiment": "selftest", "grid": {"seed": list(range(6)), "sleep_s": [0.3]}}
