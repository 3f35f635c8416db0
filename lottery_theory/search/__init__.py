"""Searches restricted to a fixed support: training with enforced masks, edge-popup, pruners."""
from .dst import DSTConfig, DSTResult, available_dst, dst, mask_update, register_dst
from .edge_popup import EdgePopupConfig, EdgePopupResult, edge_popup
from .prune import PruneTask, available_pruners, imp, imp_schedule, prune, register_pruner, register_scores
from .train import TrainConfig, TrainResult, evaluate, train

__all__ = ["DSTConfig", "DSTResult", "EdgePopupConfig", "available_dst", "dst", "mask_update", "register_dst", "EdgePopupResult", "PruneTask", "TrainConfig", "TrainResult", "available_pruners", "edge_popup",
           "evaluate", "imp", "imp_schedule", "prune", "register_pruner", "register_scores", "train"]
