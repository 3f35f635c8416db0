"""Typed experiment configs, a content-addressed result store, sweeps and executors.

Flow: a frozen dataclass config -> ``config_hash`` -> ``results/<experiment>/<hash>/``
(``config.json`` + ``rows.csv``, written atomically) -> ``run_sweep`` skips finished
configs, so a killed sweep resumes -> ``ResultStore.load`` gives one tidy table -> plotting.
"""
from . import builtin  # noqa: E402,F401  (registers the built-in experiments and sweeps)
from .config import (
           ExperimentConfig,
           available_experiments,
           config_from_dict,
           config_hash,
           get_experiment,
           register_experiment,
)
from .store import ResultStore, default_store
from .sweep import grid, load_sweep, load_sweep_file, run_sweep, run_sweep_cli

__all__ = ["ExperimentConfig", "ResultStore", "available_experiments", "config_from_dict", "config_hash",
           "default_store", "get_experiment", "grid", "load_sweep", "load_sweep_file", "register_experiment", "run_sweep",
           "run_sweep_cli"]
