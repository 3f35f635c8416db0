"""Closed-form bound calculators (numeric + sympy), one module per result, and inverse queries.

Every calculator is a :class:`Bound` record in ``BOUNDS`` (numeric function, sympy form, CLI arguments,
citation, assumptions); width theorems are also in ``THEOREMS`` for :func:`required_width`. Every module of
this package and of ``bounds/peers`` is imported here, so a new bound is one new module plus its test.

Importing this package does not import torch (nor sympy, until a ``*_expr`` function is called).
Density ``p`` = probability that an edge is kept (sparsity = 1 - p).
"""
import importlib as _importlib
import pkgutil as _pkgutil

from ._common import DEFAULT_C
from .certificate import Certificate, RealisedLayer, composition_certificate, interval_certificate, per_weight_budget
from .cli import cli_evaluate
from .differential import DifferentialUnsupported, differential_certificate
from .composition import activation_bounds, composition_bound, composition_expr, per_weight_eps
from .dense_subset_sum import dense_subset_sum_n, dense_subset_sum_n_expr
from .er_subset_sum import (ER_FACTOR, er_factor, er_factor_expr, er_subset_sum_density, er_subset_sum_eps, er_subset_sum_n,
                            er_subset_sum_n_expr, er_subset_sum_n_sufficient, er_subset_sum_n_sufficient_expr,
                            subset_sum_block_size)
from .lower_bound import lower_bound_expr, lower_bound_success_expr, lower_bound_success_prob, lower_bound_width
from .record import BOUNDS, THEOREMS, Arg, Bound, bound
from .representation import (representation_copies, representation_copies_expr, representation_failure_union,
                             representation_plan, representation_success_exact)
from .widths import (achievable_eps, available_theorems, item_presence, l1_plan, min_density, path_factor,
                     reach_factor, required_width, units_per_input, width_theorem)


def _import_all(pkg_name: str, path) -> None:
    for info in sorted(_pkgutil.iter_modules(path), key=lambda m: m.name):
        mod = _importlib.import_module(f"{pkg_name}.{info.name}")
        if info.ispkg:
            _import_all(mod.__name__, mod.__path__)


_import_all(__name__, __path__)

from .peers.pensia import pensia_items_per_weight  # noqa: E402

__all__ = ["BOUNDS", "THEOREMS", "Arg", "Bound", "bound", "width_theorem", "Certificate", "RealisedLayer",
           "composition_certificate", "interval_certificate", "differential_certificate", "DifferentialUnsupported", "per_weight_budget", "DEFAULT_C", "ER_FACTOR", "er_factor", "achievable_eps",
           "activation_bounds", "available_theorems", "cli_evaluate", "composition_bound", "composition_expr",
           "dense_subset_sum_n", "dense_subset_sum_n_expr", "er_factor_expr", "er_subset_sum_density",
           "er_subset_sum_eps", "er_subset_sum_n", "er_subset_sum_n_expr", "er_subset_sum_n_sufficient",
           "er_subset_sum_n_sufficient_expr", "l1_plan", "lower_bound_expr", "lower_bound_success_expr",
           "lower_bound_success_prob", "lower_bound_width", "min_density", "pensia_items_per_weight",
           "per_weight_eps", "representation_copies", "representation_copies_expr", "representation_failure_union",
           "representation_plan", "representation_success_exact", "required_width", "subset_sum_block_size",
           "item_presence", "path_factor", "reach_factor", "units_per_input"]
