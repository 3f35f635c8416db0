"""Searches restricted to a fixed support: training with enforced masks, edge-popup, pruners."""
from .train import TrainResult, evaluate, train

__all__ = ["TrainResult", "evaluate", "train"]
from .edge_popup import EdgePopupResult, edge_popup  # noqa: E402
from .prune import available_pruners, imp, imp_schedule, prune, register_pruner  # noqa: E402

__all__ += ["EdgePopupResult", "available_pruners", "edge_popup", "imp", "imp_schedule", "prune", "register_pruner"]
