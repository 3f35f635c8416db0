"""Figures drawn from stored result tables only (never recomputing).

Each figure is a function ``draw(data: pandas.DataFrame, ax_or_fig) `` registered
by name; :func:`render` reads the CSV that sits beside the PNG and writes the PNG.
"""
from .figures import available_figures, register_figure, render

__all__ = ["available_figures", "register_figure", "render"]
