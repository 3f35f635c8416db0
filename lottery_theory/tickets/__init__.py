"""Constructive strong lottery tickets inside ER source networks.

``construct(target, density=..., eps=...)`` draws an ER source, builds the ticket explicitly with the
subset-sum engine (one :class:`Construction` per layout), certifies it from the rebuilt network's
weights, and ``Ticket.sup_error`` brackets its sup error (attack lower bound, certified upper bound).
"""
from .construct import ConstructConfig, Ticket, available_constructions, construct
from .layouts import CONSTRUCTIONS, Construction

__all__ = ["CONSTRUCTIONS", "ConstructConfig", "Construction", "Ticket", "available_constructions", "construct"]
