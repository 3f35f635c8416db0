"""A cheap deterministic experiment used by the store's and sweep's tests."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..config import ExperimentConfig, register_experiment
from ..sweep import BUILTIN_SWEEPS


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


BUILTIN_SWEEPS["selftest"] = {"experiment": "selftest", "grid": {"seed": list(range(6)), "sleep_s": [0.3]}}
