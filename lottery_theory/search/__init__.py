"""Searches restricted to a fixed support: training with enforced masks, edge-popup, pruners."""
from .train import TrainResult, evaluate, train

__all__ = ["TrainResult", "evaluate", "train"]
