"""Argument checks shared by every public function (no torch import here)."""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def check_density(value: Any, name: str = "density", *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float in (0, 1] (or [0, 1] with ``allow_zero``), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    lo_ok = v >= 0.0 if allow_zero else v > 0.0
    if not (lo_ok and v <= 1.0):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must lie in {interval} (density = fraction kept), got {v}")
    return v


def check_open_unit(value: Any, name: str) -> float:
    """Return ``value`` as a float in the open interval (0, 1), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or not (0.0 < v < 1.0):
        raise ValueError(f"{name} must lie in (0, 1), got {v}")
    return v


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if int(value) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def check_shape(shape: Any, name: str = "shape") -> tuple[int, ...]:
    """A non-empty tuple of positive ints with at least two dims (out, in, ...)."""
    if not isinstance(shape, Iterable) or isinstance(shape, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of positive ints, got {shape!r}")
    dims = tuple(shape)
    if len(dims) < 2:
        raise ValueError(f"{name} must have at least 2 dims (out, in, ...), got {dims}")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or int(d) <= 0:
            raise ValueError(f"{name} must contain positive ints only, got {dims}")
    return tuple(int(d) for d in dims)


def check_finite_array(arr: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def lookup(registry: Mapping[str, Any], key: Any, what: str, name: str = "method") -> Any:
    """Registry lookup with an error that lists the available keys."""
    if key not in registry:
        raise ValueError(f"unknown {what} {name}={key!r}; available: {', '.join(sorted(registry))}")
    return registry[key]


class Registry(dict):
    """Name -> implementation, with a decorator to add entries and lookups whose error lists the names.

    Every extension point of the package (ratios, inits, datasets, figures, pruners, solvers) is one.
    """

    def __init__(self, what: str, argname: str = "method") -> None:
        super().__init__()
        self.what, self.argname = what, argname

    def __setitem__(self, name: str, value: Any) -> None:
        """Adding an entry, by ``register`` or by assignment, refuses a name that is taken."""
        if name in self:
            raise ValueError(f"{self.what} {name!r} is already registered")
        super().__setitem__(name, value)

    def register(self, name: str, wrap: Any = None):
        """Decorator storing ``fn`` (or ``wrap(fn)``) under ``name``; a name can be registered once."""
        def deco(fn):
            self[name] = fn if wrap is None else wrap(fn)
            return fn
        return deco

    def names(self) -> list[str]:
        return sorted(self)

    def get_checked(self, key: Any) -> Any:
        return lookup(self, key, self.what, self.argname)


def check_options(fn: Any, options: Mapping[str, Any], what: str, skip: int = 0) -> None:
    """Unknown keyword options are a ``TypeError`` naming them and the accepted ones. The accepted options of
    ``fn`` are its named parameters after the first ``skip`` (``**kwargs`` catch-alls do not count)."""
    import inspect

    params = list(inspect.signature(fn).parameters.values())[skip:]
    known = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "_"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown} for {what}; accepted: {', '.join(known) or 'none'}")


def check_number(value: Any, name: str, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite real number (Python or numpy scalar, not a bool) inside the given bounds, as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if lo is not None and (v < lo or (lo_open and v == lo)) or hi is not None and (v > hi or (hi_open and v == hi)):
        left, right = ("(" if lo_open else "[") if lo is not None else "(", (")" if hi_open else "]") if hi is not None else ")"
        raise ValueError(f"{name} must lie in {left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}, "
                         f"got {v}")
    return v


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable on Linux, else physical pages free)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def check_alloc(nbytes: float, what: str) -> None:
    """Refuse an allocation that cannot fit: ``MemoryError``-free, a ``ValueError`` naming the size."""
    avail = available_memory()
    if nbytes > avail:
        raise ValueError(f"{what} needs about {nbytes / 2**30:,.1f} GiB, more than the {avail / 2**30:,.1f} GiB of "
                         f"memory available")


def merge_config(cls: type, config: Any, options: Mapping[str, Any], what: str, required: tuple[str, ...] = ()):
    """A frozen options dataclass ``cls`` from ``config`` (an instance or None) with keyword ``options`` on top:
    unknown keywords are a ``TypeError`` naming them and the accepted fields; the ``required`` fields must be given
    (by keyword or in the config: a field left at None is missing)."""
    import dataclasses

    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown} for {what}; accepted: {', '.join(names)}")
    if config is None:
        missing = [f for f in required if f not in options]
        if missing:
            raise TypeError(f"{what} needs {' and '.join(missing)} (or config={cls.__name__}(...))")
        cfg = cls(**options)
    elif not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
    else:
        cfg = dataclasses.replace(config, **options)
    missing = [f for f in required if getattr(cfg, f) is None]
    if missing:
        raise TypeError(f"{what} needs {' and '.join(missing)}")
    return cfg


def split_config(cls: type, config: Any, options: Mapping[str, Any], what: str,
                 required: tuple[str, ...] = ()) -> tuple[Any, dict]:
    """:func:`merge_config` on the keywords that are fields of ``cls``; the other keywords come back apart (a
    method's or a ratio's own options, checked by whoever takes them)."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cls)}
    cfg = merge_config(cls, config, {k: v for k, v in options.items() if k in names}, what, required)
    return cfg, {k: v for k, v in options.items() if k not in names}
