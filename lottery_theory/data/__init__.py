"""Offline datasets: nothing is ever downloaded.

``load(name, ...)`` returns :class:`Splits` (train / val / test tensors plus a
dataset card). The validation split is carved out of the training data; the
test split is meant for final reports only.
"""
from .core import DatasetCard, Splits, available_datasets, load, register_dataset

__all__ = ["DatasetCard", "Splits", "available_datasets", "load", "register_dataset"]
