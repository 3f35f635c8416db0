"""Constructive strong lottery tickets inside ER source networks.

``construct(target, density=..., eps=...)`` draws an ER source, builds the ticket
explicitly with the subset-sum engine, certifies its error by the composition
inequality and measures the rebuilt ticket itself (never the target).
"""
from .construct import Ticket, available_constructions, construct
from .layouts import CONSTRUCTIONS, Construction

__all__ = ["CONSTRUCTIONS", "Construction", "Ticket", "available_constructions", "construct"]
