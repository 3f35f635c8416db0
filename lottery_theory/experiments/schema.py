"""The sweep-file schema: what a sweep file may hold, checked before anything runs (issue 14).

A sweep file (JSON or TOML) is one object with these top-level keys:

* ``experiment`` (required): a registered experiment name (``lottery-theory sweep list`` shows the built-in
  sweeps; :func:`~lottery_theory.experiments.available_experiments` the experiments);
* ``fixed``: fields shared by every config;
* ``grid``: field -> non-empty list of values; the sweep is their Cartesian product (with ``fixed``);
* ``configs``: a list of field objects, one config each (with ``fixed``); ``grid`` and ``configs`` exclude
  each other, and with neither the sweep is the one config ``fixed``;
* ``description``: free text.

Every field must be one of the experiment's config fields, and every value must have the field's type:
``int`` fields take integers (not booleans, not 2.0), ``float`` fields take finite numbers, ``str`` fields
strings, tuple fields lists. Ranges: densities in (0, 1], ``eps`` in (0, 1), ``lr`` > 0, ``seed`` >= 0,
other integer fields >= 1. Unknown keys and fields, wrong types and values out of range are errors that name
the key, the field and the value.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from ..sweep_format import EXAMPLE  # noqa: F401 - re-exported: the format lives torch-free for the CLI's help
from .config import get_experiment

TOP_LEVEL = ("experiment", "fixed", "grid", "configs", "description")




def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _base(ann: Any) -> tuple[type, bool]:
    """The field's base type and whether ``None`` is allowed (``X | None``)."""
    if isinstance(ann, types.UnionType) or typing.get_origin(ann) is typing.Union:
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return (args[0] if len(args) == 1 else object), True
    return ann, False


def check_field(experiment: str, field: str, value: Any, where: str) -> None:
    """Raise ``ValueError`` / ``TypeError`` naming ``where``, the field and the value if ``value`` is not a
    valid value of ``field``."""
    cls, _ = get_experiment(experiment)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    if field not in names:
        raise ValueError(f"{where}: unknown field {field!r} for experiment {experiment!r}; fields: {', '.join(names)}")
    base, optional = _base(hints[field])
    if value is None:
        if optional:
            return
        raise TypeError(f"{where}: field {field!r} cannot be null")
    bad = TypeError(f"{where}: field {field!r} must be {getattr(base, '__name__', base)}, got {value!r}")
    if base is float:
        if not _is_number(value):
            raise bad
        if not math.isfinite(value):
            raise ValueError(f"{where}: field {field!r} must be finite, got {value!r}")
    elif base is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad
    elif base is str:
        if not isinstance(value, str):
            raise bad
    elif base is bool:
        if not isinstance(value, bool):
            raise bad
    elif base is tuple:
        if not isinstance(value, (list, tuple)) or not value:
            raise TypeError(f"{where}: field {field!r} must be a non-empty list, got {value!r}")
        for x in value:
            if not _is_number(x) or not math.isfinite(x):
                raise ValueError(f"{where}: field {field!r} must hold finite numbers, got {value!r}")
    _check_range(field, value, where)


def _names(field: str) -> list[str] | None:
    """The registered names a string field must take (layer-wise ratios, datasets, constructions, architectures),
    or None when the field is free text."""
    if field in ("ratio", "start_ratio"):
        from ..sparsity import available_ratios

        return available_ratios()
    if field == "dataset":
        from ..data import available_datasets

        return available_datasets()
    if field == "construction":
        from ..tickets.layouts import CONSTRUCTIONS

        return CONSTRUCTIONS.names()
    if field == "arch":
        return ["conv", "mlp"]
    return None


def _check_range(field: str, value: Any, where: str) -> None:
    names = _names(field) if isinstance(value, str) else None
    if names is not None and value not in names:
        raise ValueError(f"{where}: field {field!r} must be one of {', '.join(names)}, got {value!r}")
    vals = list(value) if isinstance(value, (list, tuple)) else [value]
    if not all(_is_number(v) for v in vals):
        return
    if "densit" in field and not all(0 < v <= 1 for v in vals):
        raise ValueError(f"{where}: field {field!r} is a density and must lie in (0, 1], got {value!r}")
    if field == "eps" and not all(0 < v < 1 for v in vals):
        raise ValueError(f"{where}: field 'eps' must lie in (0, 1), got {value!r}")
    if field == "lr" and not all(v > 0 for v in vals):
        raise ValueError(f"{where}: field 'lr' must be > 0, got {value!r}")
    if isinstance(value, int) and not isinstance(value, bool):
        low = 0 if field == "seed" else 1
        if value < low:
            raise ValueError(f"{where}: field {field!r} must be >= {low}, got {value!r}")
        if value > MAX_INT:
            raise ValueError(f"{where}: field {field!r} must be <= 2**62 (seeds and sizes are 64-bit), got {value!r}")
    if field == "target_widths" and not all(isinstance(v, int) and v >= 1 for v in vals):
        raise ValueError(f"{where}: field 'target_widths' must hold integers >= 1, got {value!r}")


MAX_INT = 2**62
MAX_CONFIGS = 100_000  # a sweep of more configs is refused before any config is built


def validate_spec(spec: Any, where: str = "sweep") -> None:
    """Check a sweep spec against the schema above; raises naming the first problem. A grid whose product, or a
    config list whose length, exceeds ``MAX_CONFIGS`` is refused before anything is expanded."""
    if not isinstance(spec, dict):
        raise TypeError(f"{where}: a sweep is an object with keys {', '.join(TOP_LEVEL)}, got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(TOP_LEVEL))
    if unknown:
        raise ValueError(f"{where}: unknown top-level key(s) {unknown}; allowed: {', '.join(TOP_LEVEL)} "
                         f"(config fields go under 'fixed', 'grid' or 'configs')")
    if "experiment" not in spec:
        raise ValueError(f"{where}: a sweep needs an 'experiment' name")
    exp = spec["experiment"]
    if not isinstance(exp, str):
        raise TypeError(f"{where}: 'experiment' must be a string, got {exp!r}")
    get_experiment(exp)  # unknown names raise with the list of known ones
    if "grid" in spec and "configs" in spec:
        raise ValueError(f"{where}: give 'grid' or 'configs', not both")
    if "description" in spec and not isinstance(spec["description"], str):
        raise TypeError(f"{where}: 'description' must be a string")
    fixed = spec.get("fixed", {})
    if not isinstance(fixed, dict):
        raise TypeError(f"{where}: 'fixed' must be an object of field: value, got {fixed!r}")
    for k, v in fixed.items():
        check_field(exp, k, v, f"{where} 'fixed'")
    grid = spec.get("grid", {})
    if not isinstance(grid, dict):
        raise TypeError(f"{where}: 'grid' must be an object of field: [values], got {grid!r}")
    size = 1
    for k, vs in grid.items():
        if not isinstance(vs, list) or not vs:
            raise TypeError(f"{where}: grid field {k!r} needs a non-empty list of values, got {vs!r}")
        size *= len(vs)
        if size > MAX_CONFIGS:
            raise ValueError(f"{where}: the grid has more than {MAX_CONFIGS:,} configs (product of its lists' lengths: "
                             f"{math.prod(len(v) if isinstance(v, list) else 1 for v in grid.values()):,}); split it")
    for k, vs in grid.items():
        for v in vs:
            check_field(exp, k, v, f"{where} 'grid'")
    configs = spec.get("configs", [])
    if not isinstance(configs, list):
        raise TypeError(f"{where}: 'configs' must be a list of objects")
    if len(configs) > MAX_CONFIGS:
        raise ValueError(f"{where}: {len(configs):,} configs, more than {MAX_CONFIGS:,}; split the sweep")
    for i, c in enumerate(configs):
        if not isinstance(c, dict):
            raise TypeError(f"{where}: configs[{i}] must be an object of field: value, got {c!r}")
        for k, v in c.items():
            check_field(exp, k, v, f"{where} configs[{i}]")
