"""Constructive strong lottery tickets inside ER source networks.

``construct(target, density=..., eps=...)`` draws an ER source, builds the ticket explicitly with the
subset-sum engine (one :class:`Construction` per layout), certifies it from the rebuilt network's
weights, and ``Ticket.sup_error`` brackets its sup error (attack lower bound, certified upper bound).
A new layout is a :class:`Construction` written against :mod:`.interface` (``TargetChain``, ``Plan``,
``BuildContext``, ``BuildResult``) with the block helpers of :mod:`.blocks`, registered in ``CONSTRUCTIONS``.
"""
from .construct import ConstructConfig, Ticket, available_constructions, construct
from .interface import BuildContext, BuildResult, Construction, Plan, TargetChain
from .layouts import CONSTRUCTIONS

__all__ = ["CONSTRUCTIONS", "BuildContext", "BuildResult", "ConstructConfig", "Construction", "Plan", "TargetChain",
           "Ticket", "available_constructions", "construct"]
