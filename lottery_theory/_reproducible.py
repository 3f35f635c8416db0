"""Same numbers on every x86 CPU: pin the numeric code paths before torch runs its first operation.

PyTorch, MKL and oneDNN pick kernels by the CPU they run on (AVX-512, AVX2, SSE), and those kernels add in other
orders, so one training epoch gives other weights on another CPU. Importing :mod:`lottery_theory` sets, unless
``LOTTERY_THEORY_FAST_MATH=1``:

* ``ATEN_CPU_CAPABILITY=default``: torch's own kernels (elementwise ops, reductions, optimizers) take their
  portable path;
* ``MKL_CBWR=COMPATIBLE``: MKL's conditional numerical reproducibility (matrix products) on its portable path;
* ``ONEDNN_MAX_CPU_ISA=SSE41``: oneDNN (convolutions) limited to SSE4.1, which every x86-64 CPU of the last 15
  years has.

The values override ones already in the environment (so a run under ``ATEN_CPU_CAPABILITY=avx512`` gives the
same bytes as one under ``avx2``: that is how the tests emulate another CPU). They take effect only if torch has
not run an operation yet; otherwise a :class:`ReproducibilityWarning` says so once. The compiled subset-sum kernel
(numba) needs no pin: it is compiled without fast-math, so LLVM neither reorders nor fuses its floating-point
operations on any CPU. Thread counts still matter for torch: sweeps run one thread per worker process
(``experiments.sweep``), so their results do not depend on the machine's core count. Cost measured on this
2-core machine: docs/benchmarks.md ("Reproducible numerics").
"""
from __future__ import annotations

import os
import sys
import warnings

PINS = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41"}
OPT_OUT = "LOTTERY_THEORY_FAST_MATH"


class ReproducibilityWarning(UserWarning):
    """The numeric code paths could not be pinned (torch ran before lottery_theory was imported)."""


def pinned() -> bool:
    """Whether this process asked for the portable code paths (the default; ``LOTTERY_THEORY_FAST_MATH=1`` opts out)."""
    return os.environ.get(OPT_OUT, "") in ("", "0")


def pin() -> None:
    """Set :data:`PINS` in the environment (module docstring); warn once if torch already chose its kernels."""
    if not pinned():
        return
    os.environ.update(PINS)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        try:
            cap = torch.backends.cpu.get_cpu_capability()
        except Exception:  # noqa: BLE001 - a partly imported torch: nothing ran yet
            return
        if cap != "DEFAULT":
            warnings.warn(f"torch already ran on this CPU's {cap} kernels before lottery_theory was imported, so "
                          "results may differ in the last digits on another CPU; import lottery_theory first (or "
                          f"set {', '.join(f'{k}={v}' for k, v in PINS.items())} before starting Python)",
                          ReproducibilityWarning, stacklevel=3)
