"""ER source layers held as recipes (shape, density, seed), drawn in row chunks when needed.

A 2L source at low density is mostly absent edges: LeNet-300-100 at p = 0.1 with 800 units per input has
about 700M potential weights, of which 10% exist. The construction never holds the dense source: it draws
each layer in chunks of rows (:meth:`LayerDraw.chunks`), keeps what it needs (layer A's surviving edges,
one row chunk of layer B at a time) and writes only the ticket. Every chunk has its own generator seeded
from the layer's seed and the chunk index, so any chunk can be redrawn alone, and
:meth:`SourceRecipe.materialise` rebuilds exactly the source the ticket was cut from (only when asked).

The ER model is unchanged: weights and biases U[-1, 1], each weight present independently with
probability ``density`` (Bernoulli, as in the paper's ER source), biases always present.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from ..nets.masked import MaskedConv2d, MaskedLinear

CHUNK_ELEMENTS = 1 << 22  # rows per chunk = CHUNK_ELEMENTS // columns: ~16 MiB of float32 per draw
_MIX = 0x9E3779B97F4A7C15  # odd 64-bit constant (golden ratio): spreads chunk indices over seeds


@dataclass(frozen=True)
class LayerDraw:
    """One ER source layer: ``shape`` of its weight (conv: 4-D, read as ``[rows, cols]``), ``density``,
    ``seed``, and the module ``spec``: ``("linear", in, out)`` or ``("conv", c_in, c_out, kernel, stride,
    padding)``."""
    spec: tuple
    shape: tuple
    density: float
    seed: int

    @property
    def rows(self) -> int:
        return int(self.shape[0])

    @property
    def cols(self) -> int:
        n = 1
        for s in self.shape[1:]:
            n *= int(s)
        return n

    @property
    def chunk_rows(self) -> int:
        return max(1, CHUNK_ELEMENTS // max(1, self.cols))

    def chunks_for(self, rows: int) -> int:
        """Number of chunks covering the first ``rows`` rows."""
        return -(-rows // self.chunk_rows)

    def _gen(self, index: int) -> torch.Generator:
        return torch.Generator().manual_seed((self.seed + _MIX * (index + 2)) % (1 << 63))

    def bias(self) -> torch.Tensor:
        """The layer's biases, U[-1, 1] (float32)."""
        return torch.rand(self.rows, generator=self._gen(-1)) * 2 - 1

    def chunk(self, index: int) -> tuple[int, int, torch.Tensor, torch.Tensor]:
        """Rows ``r0:r1`` of chunk ``index``: weights U[-1, 1] (float32) and the Bernoulli(density) mask."""
        r0 = index * self.chunk_rows
        r1 = min(self.rows, r0 + self.chunk_rows)
        g = self._gen(index)
        w = torch.rand((r1 - r0, self.cols), generator=g) * 2 - 1
        m = torch.rand((r1 - r0, self.cols), generator=g) < self.density
        return r0, r1, w, m

    def chunks(self) -> Iterator[tuple[int, int, torch.Tensor, torch.Tensor]]:
        for i in range(self.chunks_for(self.rows)):
            yield self.chunk(i)

    def empty_module(self) -> nn.Module:
        """The layer's masked module with zero weights, zero biases and empty masks (no random init)."""
        if self.spec[0] == "linear":
            mod = MaskedLinear(self.spec[1], self.spec[2], bias=True, device="meta")
        else:
            _, cin, cout, kernel, stride, padding = self.spec
            mod = MaskedConv2d(cin, cout, kernel, stride=stride, padding=padding, bias=True, device="meta")
        mod = mod.to_empty(device="cpu")
        with torch.no_grad():
            mod.weight.zero_()
            mod.bias.zero_()
            mod.mask.zero_()
            mod.bias_mask.zero_()
        return mod

    def materialise(self) -> nn.Module:
        """The dense source layer (weights, biases and its ER mask)."""
        mod = self.empty_module()
        w2, m2 = mod.weight.data.view(self.rows, -1), mod.mask.view(self.rows, -1)
        for r0, r1, w, m in self.chunks():
            w2[r0:r1] = w
            m2[r0:r1] = m
        with torch.no_grad():
            mod.bias.copy_(self.bias())
            mod.bias_mask.fill_(True)
            mod.zero_pruned()  # absent edges are exact zeros, as after set_mask
        return mod


@dataclass
class SourceRecipe:
    """A source network as a list of :class:`LayerDraw` entries and pass-through modules (ReLU, Flatten,
    pooling), in order. ``materialise()`` builds the dense ``nn.Sequential``."""
    parts: list

    def materialise(self) -> nn.Sequential:
        return nn.Sequential(*[p.materialise() if isinstance(p, LayerDraw) else copy.deepcopy(p) for p in self.parts])

    def params(self) -> int:
        """Parameters of the dense source (weights and biases, present or not)."""
        return sum(p.rows * p.cols + p.rows for p in self.parts if isinstance(p, LayerDraw))
