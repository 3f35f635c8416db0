"""Monte Carlo of the exact present-items count (:func:`lottery_theory.bounds.present_items.present_items_n`):
draw the number of present items among n* = present_items_n(m, p, delta) many times and count how often fewer
than m are present. The count is exact, so the rate sits at or below delta, and above it at n* - 1."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..config import ExperimentConfig, register_experiment
from ..sweep import BUILTIN_SWEEPS


@dataclass(frozen=True)
class PresentItemsConfig(ExperimentConfig):
    """``trials`` draws of Bin(n*, p) and of Bin(n* - 1, p) for the smallest n* the bound gives."""
    experiment: ClassVar[str] = "present_items"
    m: int = 10
    density: float = 0.1
    delta: float = 0.01
    trials: int = 200_000


@register_experiment(PresentItemsConfig)
def run_present_items(cfg: PresentItemsConfig) -> list[dict]:
    from ...bounds.present_items import present_items_n, present_probability

    n = present_items_n(cfg.m, cfg.density, cfg.delta)
    rng = np.random.default_rng(cfg.seed)
    rates = {k: float(np.mean(rng.binomial(k, cfg.density, cfg.trials) < cfg.m)) for k in (n, n - 1)}
    return [{"metric": "n_star", "value": float(n)}, {"metric": "failure_rate", "value": rates[n]},
            {"metric": "failure_rate_below", "value": rates[n - 1]},
            {"metric": "exact_failure", "value": 1 - present_probability(n, cfg.m, cfg.density)},
            {"metric": "exact_failure_below", "value": 1 - present_probability(n - 1, cfg.m, cfg.density)}]


BUILTIN_SWEEPS["present-items"] = {"experiment": "present_items", "fixed": {"delta": 0.01},
                                   "grid": {"m": [1, 10, 50], "density": [0.5, 0.1, 0.02]}}
