"""The sweep file format as `lottery-theory sweep --help` prints it (no torch import, so help stays fast;
:mod:`lottery_theory.experiments.schema` checks files against it)."""

EXAMPLE = """sweep file format (JSON or TOML); keys: experiment (required), fixed, grid | configs, description

  {"experiment": "ticket",
   "description": "ticket error against density",
   "fixed": {"target_widths": [10, 20, 20, 1], "width_multiplier": 32, "eps": 0.01},
   "grid": {"density": [0.2, 0.5, 1.0], "seed": [0, 1, 2]}}

  fields: the experiment's config fields (`lottery-theory sweep show NAME` prints a built-in sweep);
  densities in (0, 1], eps in (0, 1), lr > 0, seed >= 0, other integers >= 1; unknown keys are errors."""
