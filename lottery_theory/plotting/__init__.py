"""Figures drawn from stored result tables only (never recomputing).

Each figure is a function ``draw(data: pandas.DataFrame, fig)`` registered by name (one module per group of
checks, all imported here); :func:`render` reads the CSV that sits beside the PNG and writes the PNG.
"""
from .core import available_figures, draw, register_figure, render  # first: selects the Agg backend

from . import subset_sum, theory, tickets, training  # noqa: E402,F401,I001 - registers the figures

__all__ = ["available_figures", "draw", "register_figure", "render"]
