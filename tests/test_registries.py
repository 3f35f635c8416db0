"""Every extension point is a Registry that refuses a second entry under a taken name (issue 16, item 3)."""
import importlib

import pytest

from lottery_theory._validation import Registry

REGISTRIES = [("lottery_theory.bounds.record", "BOUNDS"), ("lottery_theory.bounds.record", "THEOREMS"),
              ("lottery_theory.experiments.config", "_EXPERIMENTS"), ("lottery_theory.experiments.sweep", "BUILTIN_SWEEPS"),
              ("lottery_theory.tickets.layouts", "CONSTRUCTIONS"), ("lottery_theory.subset_sum.core", "_SOLVERS"),
              ("lottery_theory.sparsity.ratios", "_RATIOS"), ("lottery_theory.search.prune", "_PRUNERS"),
              ("lottery_theory.data.core", "_DATASETS"), ("lottery_theory.nets.builders", "_INITS")]


@pytest.mark.parametrize("module, name", REGISTRIES)
def test_registry_refuses_duplicates(module, name):
    import lottery_theory.experiments  # noqa: F401 - registers the built-in experiments and sweeps

    reg = getattr(importlib.import_module(module), name)
    assert isinstance(reg, Registry) and len(reg) > 0
    taken = next(iter(reg))
    before = reg[taken]
    with pytest.raises(ValueError, match="already registered"):
        reg[taken] = object()
    with pytest.raises(ValueError, match="already registered"):
        reg.register(taken)(lambda *a: None)
    assert reg[taken] is before
