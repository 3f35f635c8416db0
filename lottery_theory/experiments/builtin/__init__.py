"""Built-in experiments, one module each: its frozen config, its ``run`` and its named sweeps.

Every module of this package is imported here, so a new experiment is one new module plus its test.
"""
import importlib as _importlib
import pkgutil as _pkgutil

for _m in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
    _importlib.import_module(f"{__name__}.{_m.name}")

from .selftest import SelftestConfig  # noqa: E402
from .ticket import TicketConfig, spectral_target  # noqa: E402

__all__ = ["SelftestConfig", "TicketConfig", "spectral_target"]
