"""Density conventions, the layer-wise ratio registry, and ER masks.

``density`` always means the fraction of weights *kept*; ``sparsity = 1 - density``.
"""
from .masks import density, er_mask
from .ratios import (
           available_ratios,
           layer_densities,
           register_ratio,
           resolve_densities,
           solve_saturating,
)

__all__ = ["available_ratios", "density", "er_mask", "layer_densities", "register_ratio", "resolve_densities",
           "solve_saturating"]
