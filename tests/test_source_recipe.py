"""ER sources held as recipes (issue 17): chunks redraw alone, the density is the ER model's, and the ticket
is cut from exactly the source that ``Ticket.source`` materialises."""
import numpy as np
import torch

from lottery_theory.nets import mlp
from lottery_theory.nets.masked import MaskedLinear
from lottery_theory.tickets import construct
from lottery_theory.tickets.source import LayerDraw, SourceRecipe


def test_chunk_redrawn_alone_equals_chunk_in_sequence():
    d = LayerDraw(("linear", 3000, 5000), (5000, 3000), 0.3, 11)
    assert d.chunk_rows == (1 << 22) // 3000 and -(-5000 // d.chunk_rows) == 4
    seq = list(d.chunks())
    r0, r1, w, m = d.chunk(2)
    assert (r0, r1) == seq[2][:2] and torch.equal(w, seq[2][2]) and torch.equal(m, seq[2][3])
    assert not torch.equal(seq[0][3][:100], seq[1][3][:100])  # chunks are different streams


def test_density_is_bernoulli_p():
    d = LayerDraw(("linear", 1000, 2000), (2000, 1000), 0.1, 3)
    kept = sum(int(m.sum()) for *_, m in d.chunks())
    n = 2_000_000
    sd = (n * 0.1 * 0.9) ** 0.5  # Bin(n, 0.1): sd = 424
    assert abs(kept - 0.1 * n) < 5 * sd
    w = torch.cat([c[2] for c in d.chunks()])
    assert -1 <= float(w.min()) < -0.999 and 0.999 < float(w.max()) <= 1  # U[-1, 1]


def test_ticket_is_nested_in_its_materialised_source_and_counts_match():
    t = mlp([6, 5, 2], generator=torch.Generator().manual_seed(0))
    tk = construct(t, density=0.4, eps=0.1, width_multiplier=12, generator=torch.Generator().manual_seed(1))
    assert isinstance(tk.source_recipe, SourceRecipe)
    src = tk.source
    layers = [m for m in src if isinstance(m, MaskedLinear)]
    assert tk.source_params == sum(m.weight.numel() + m.bias.numel() for m in layers)
    assert tk.source_edges == sum(int(m.mask.sum()) + m.bias.numel() for m in layers)
    for a, b in zip(layers, [m for m in tk.network if isinstance(m, MaskedLinear)]):
        assert not (b.mask & ~a.mask).any()
        assert torch.equal(b.weight[b.mask], a.weight[b.mask])
        assert abs(float(a.mask.float().mean()) - 0.4) < 0.1
    x = torch.rand(50, 6, generator=torch.Generator().manual_seed(2)) * 2 - 1
    fresh = tk.source  # cached: the same module, not a new draw
    assert fresh is src
    sd = tk.network.state_dict()
    src.load_state_dict(sd)
    assert torch.equal(src(x), tk.network(x))


def test_same_generator_same_source_and_ticket():
    t = mlp([4, 3, 2], generator=torch.Generator().manual_seed(0))
    a = construct(t, density=0.5, eps=0.1, width_multiplier=10, generator=torch.Generator().manual_seed(5))
    b = construct(t, density=0.5, eps=0.1, width_multiplier=10, generator=torch.Generator().manual_seed(5))
    for x, y in zip(a.source.state_dict().values(), b.source.state_dict().values()):
        assert torch.equal(x, y)
    assert np.array_equal(a.instance_errors, b.instance_errors)
