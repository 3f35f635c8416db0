"""Shared test helpers."""
import os
import subprocess
import sys

import pytest

import lottery_theory  # noqa: F401 - pins the numeric code paths before any test runs torch (_reproducible)
from hypothesis import settings

# Property tests draw the same examples on every run ("ci", the default): CI neither flakes nor varies in time with
# the draw. HYPOTHESIS_PROFILE=explore searches fresh examples (and keeps failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _selftest_sweep(root, *, n: int, sleep_s: float, executor: str = "serial", workers: int = 2,
                    stdout=None) -> subprocess.Popen:
    """A sweep of ``n`` selftest configs (each sleeping ``sleep_s``) into the store at ``root``, in its own
    process and process session (so a test can kill it, or its group); it prints its counts as JSON last."""
    code = ("import json\nfrom lottery_theory.experiments import ResultStore, grid, run_sweep\n"
            f"c = run_sweep(grid('selftest', {{'sleep_s': {sleep_s}}}, seed=list(range({n}))), "
            f"store=ResultStore({str(root)!r}), executor={executor!r}, workers={workers}, progress=False)\n"
            "print(json.dumps(c))\n")
    return subprocess.Popen([sys.executable, "-c", code], stdout=stdout, text=True, start_new_session=True)


@pytest.fixture
def selftest_sweep():
    """``selftest_sweep(root, n=, sleep_s=, executor=, workers=, stdout=) -> Popen``: see :func:`_selftest_sweep`."""
    return _selftest_sweep
