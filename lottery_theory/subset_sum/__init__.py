"""Closest subset sum: pick a subset of ``values`` whose sum is closest to ``target``.

One interface, several solvers (a registry): ``mitm`` (exact, batched
meet-in-the-middle, the default), ``bruteforce`` (exact reference),
``milp`` (cvxpy front end: HiGHS by default, any installed mixed-integer solver via ``solver=``), ``milp-scipy`` (scipy/HiGHS directly) and ``greedy``.
"""
from .core import SubsetSumResult, available_solvers, register_solver, solve

__all__ = ["SubsetSumResult", "available_solvers", "register_solver", "solve"]
