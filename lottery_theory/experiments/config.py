"""Experiment configs: frozen dataclasses, hashed to result folders (as open_lth does).

Hash rule: the SHA-256 of the canonical JSON of ``{"experiment": name, field: value, ...}``
over every field whose value is not ``None`` and not the field's *legacy* value. A field added after results
were stored names, in the class's ``legacy`` mapping, the value that reproduces the behaviour before it existed:
a config at that value hashes as if the field were absent (old results keep their folders), and a stored record's
``None`` reads as that value. So a field's default can be the library's current default (e.g. the ``ticket``
experiment takes :mod:`lottery_theory._construct_options`'s), while old sweeps pin the legacy value by name.

A value renamed after results were stored keeps its stored name: the class's ``stored_names`` maps
``field -> {current name: stored name}``; hashes and ``config.json`` use the stored names
(:meth:`ExperimentConfig.stored_dict`) and :func:`config_from_stored` reads them back, so a renamed layout keeps
its results and a new meaning given to an old name gets new folders.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any, ClassVar

from .._validation import Registry, lookup


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Base class: subclasses are frozen dataclasses with defaults and set ``experiment``."""
    experiment: ClassVar[str] = ""
    legacy: ClassVar[dict[str, Any]] = {}  # field -> its value before the field existed (module docstring)
    stored_names: ClassVar[dict[str, dict[str, Any]]] = {}  # field -> {current name: stored name} (docstring)
    seed: int = 0

    def __post_init__(self) -> None:
        """A stored record's ``None`` in a legacy field means the legacy value (a subclass with its own
        ``__post_init__`` calls this first)."""
        for name, value in self.legacy.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def stored_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` with renamed values under their stored names (what is hashed and written)."""
        return {k: _stored(type(self), k, v) for k, v in self.to_dict().items()}

    def hash(self) -> str:
        return config_hash(self)


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return v  # keep floats as floats: 1.0 and 1 hash differently on purpose
    return v


def _stored(cls: type[ExperimentConfig], field: str, value: Any) -> Any:
    names = cls.stored_names.get(field, {})
    return names.get(value, value) if isinstance(value, str) else value


def config_hash(cfg: ExperimentConfig) -> str:
    """12 hex digits of SHA-256 over the experiment name and the fields that are neither None nor at their legacy
    value, renamed values under their stored names (sorted keys; module docstring)."""
    cls = type(cfg)
    payload = {"experiment": cls.experiment}
    payload.update({k: v for k, v in cfg.stored_dict().items()
                    if v is not None and not (k in cls.legacy and v == _stored(cls, k, _jsonable(cls.legacy[k])))})
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


RunFn = Callable[[ExperimentConfig], list[dict]]
_EXPERIMENTS = Registry("experiment", "experiment")  # name -> (config class, run function)


def register_experiment(cls: type[ExperimentConfig]) -> Callable[[RunFn], RunFn]:
    """Register ``run(config) -> rows`` for the config class ``cls`` (its ``experiment`` name)."""
    if not cls.experiment:
        raise ValueError("config class needs a non-empty `experiment` name")

    return _EXPERIMENTS.register(cls.experiment, wrap=lambda fn: (cls, fn))


def available_experiments() -> list[str]:
    return sorted(_EXPERIMENTS)


def get_experiment(name: str) -> tuple[type[ExperimentConfig], RunFn]:
    return lookup(_EXPERIMENTS, name, "experiment", "experiment")


def config_from_stored(name: str, fields: dict[str, Any]) -> ExperimentConfig:
    """A config of experiment ``name`` from a stored ``config.json``'s fields (stored names read back as current
    ones, and a legacy field the record lacks at its legacy value; module docstring)."""
    cls, _ = get_experiment(name)
    back = {f: {s: cur for cur, s in m.items()} for f, m in cls.stored_names.items()}
    given = {k: back.get(k, {}).get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    # a field the record lacks was added after it was written: the record has the field's legacy behaviour
    return config_from_dict(name, {**{k: v for k, v in cls.legacy.items() if k not in given}, **given})


def config_from_dict(name: str, fields: dict[str, Any]) -> ExperimentConfig:
    """Build a config of experiment ``name``; unknown fields raise with the list of known ones."""
    cls, _ = get_experiment(name)
    known = {f.name: f for f in dataclasses.fields(cls)}
    bad = sorted(set(fields) - set(known))
    if bad:
        raise ValueError(f"unknown field(s) {bad} for experiment {name!r}; fields: {', '.join(known)}")
    conv = {}
    for k, v in fields.items():
        conv[k] = tuple(v) if isinstance(v, list) else v
    return cls(**conv)
