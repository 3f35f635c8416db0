"""Closed-form bound calculators (numeric + sympy) and inverse queries.

Importing this package does not import torch (nor sympy, until a ``*_expr``
function is called), so a notebook gets a bound in milliseconds.
Density ``p`` = probability that an edge is kept (sparsity = 1 - p).
"""
from .certificate import Certificate, RealisedLayer, interval_certificate, per_weight_budget
from .core import (
                   BOUNDS,
                   DEFAULT_C,
                   ER_FACTOR,
                   Bound,
                   achievable_eps,
                   activation_bounds,
                   available_theorems,
                   cli_evaluate,
                   composition_bound,
                   composition_expr,
                   dense_subset_sum_n,
                   dense_subset_sum_n_expr,
                   er_factor_expr,
                   er_subset_sum_density,
                   er_subset_sum_eps,
                   er_subset_sum_n,
                   er_subset_sum_n_expr,
                   er_subset_sum_n_sufficient,
                   er_subset_sum_n_sufficient_expr,
                   lower_bound_expr,
                   lower_bound_success_expr,
                   lower_bound_success_prob,
                   lower_bound_width,
                   min_density,
                   per_weight_eps,
                   representation_copies,
                   representation_copies_expr,
                   representation_failure_union,
                   representation_plan,
                   representation_success_exact,
                   required_width,
                   subset_sum_block_size,
)

__all__ = ["BOUNDS", "Bound", "Certificate", "RealisedLayer", "interval_certificate", "per_weight_budget", "DEFAULT_C", "ER_FACTOR", "achievable_eps", "activation_bounds", "available_theorems",
           "cli_evaluate", "composition_bound", "composition_expr", "dense_subset_sum_n_expr",
           "er_subset_sum_n_sufficient_expr", "lower_bound_success_expr", "representation_copies",
           "representation_copies_expr",
           "dense_subset_sum_n", "er_factor_expr", "er_subset_sum_density", "er_subset_sum_eps", "er_subset_sum_n",
           "er_subset_sum_n_expr", "er_subset_sum_n_sufficient", "lower_bound_expr", "lower_bound_success_prob",
           "lower_bound_width", "min_density", "per_weight_eps", "representation_failure_union",
           "representation_plan", "representation_success_exact", "required_width", "subset_sum_block_size"]
