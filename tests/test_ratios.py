"""Layer-wise ratios: hand-derived golden values, exact global targets, properties."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_theory.sparsity import available_ratios, layer_densities, register_ratio

SMALL = [(2, 2), (4, 4), (8, 8)]  # N_l = 4, 16, 64; N = 84
LENET = [(300, 784), (100, 300), (10, 100)]  # N_l = 235200, 30000, 1000; N = 266200


def total(shapes, dens):
    return sum(d * math.prod(s) for d, s in zip(dens, shapes)) / sum(math.prod(s) for s in shapes)


def test_uniform_small():
    assert layer_densities(SMALL, 0.5, "uniform") == pytest.approx([0.5, 0.5, 0.5], abs=1e-15)


def test_er_small_saturates_and_redistributes():
    # scores s = (out+in)/(out*in) = 1, 0.5, 0.25; budget d*N = 0.5*84 = 42.
    # First pass: C*(4*1 + 16*0.5 + 64*0.25) = 28 C = 42 -> C = 1.5 -> layer 0 would get 1.5 > 1: saturate.
    # Second pass: C = (42 - 4) / (8 + 16) = 38/24 -> d1 = 0.5*38/24 = 19/24, d2 = 0.25*38/24 = 19/48.
    assert layer_densities(SMALL, 0.5, "er") == pytest.approx([1.0, 19 / 24, 19 / 48], rel=1e-12)


def test_erk_differs_from_er_on_conv_shapes():
    # Conv shapes (out, in, kh, kw): ER looks at out, in only; ERK at the whole shape.
    shapes = [(2, 1, 3, 3), (4, 2, 3, 3)]  # N = 18, 72; N_total = 90
    # ER scores: (2+1)/2 = 1.5, (4+2)/8 = 0.75.  d=0.2 -> budget 18. C*(27 + 54) = 18 -> C = 2/9:
    #   d0 = 1.5*2/9 = 1/3, d1 = 0.75*2/9 = 1/6.
    assert layer_densities(shapes, 0.2, "er") == pytest.approx([1 / 3, 1 / 6], rel=1e-12)
    # ERK scores: 9/18 = 0.5, 12/72 = 1/6. C*(9 + 12) = 18 -> C = 6/7: d0 = 3/7, d1 = 1/7.
    assert layer_densities(shapes, 0.2, "erk") == pytest.approx([3 / 7, 1 / 7], rel=1e-12)
    # erk_power = 0 makes every score 1, i.e. uniform.
    assert layer_densities(shapes, 0.2, "erk", erk_power=0.0) == pytest.approx([0.2, 0.2], rel=1e-12)


def test_balanced_small_cascading_saturation():
    # Each layer should keep 42/3 = 14 weights; layer 0 has only 4 -> dense; the other two keep 19 each;
    # layer 1 has only 16 -> dense; layer 2 keeps 42 - 4 - 16 = 22 of 64 = 0.34375.
    assert layer_densities(SMALL, 0.5, "balanced") == pytest.approx([1.0, 1.0, 0.34375], rel=1e-12)


def test_pyramidal_small():
    # d_l = q^l; with q = 1/2: 4/2 + 16/4 + 64/8 = 14 kept of 84 -> density 1/6.
    assert layer_densities(SMALL, 1 / 6, "pyramidal") == pytest.approx([0.5, 0.25, 0.125], rel=1e-10)


def test_lenet_erk_hits_target_where_reference_misses():
    # ERK scores: 1084/235200, 400/30000, 110/1000. The reference code sets C = 26620/(1084+400+110)
    # = 16.70 and clips layer 3 (1.84 -> 1), landing at (1484*16.70 + 1000)/266200 = 0.0968 (the authors' published code gives 0.097).
    # Ours: layer 3 saturates, C = (26620 - 1000)/(1084 + 400) = 17.2642 -> d = 0.079568, 0.230189, 1.
    d = layer_densities(LENET, 0.1, "erk")
    assert d == pytest.approx([25620 / 1484 * 1084 / 235200, 25620 / 1484 * 400 / 30000, 1.0], rel=1e-12)
    assert total(LENET, d) == pytest.approx(0.1, rel=1e-13)
    clipped = [min(1.0, 26620 / 1594 * s) for s in (1084 / 235200, 400 / 30000, 110 / 1000)]
    assert total(LENET, clipped) == pytest.approx(0.0969, abs=5e-4)


def test_lenet_balanced_hits_target():
    # Equal counts 26620/3 = 8873.3 > 1000: layer 3 dense; the others keep (26620-1000)/2 = 12810 each.
    d = layer_densities(LENET, 0.1, "balanced")
    assert d == pytest.approx([12810 / 235200, 12810 / 30000, 1.0], rel=1e-12)


@pytest.mark.parametrize("method", ["uniform", "er", "erk", "balanced", "pyramidal"])
def test_infeasible_names_the_feasible_range(method):
    with pytest.raises(ValueError, match=r"feasible densities are \(0\.7619"):
        layer_densities(SMALL, 0.5, method, dense=[2])  # 64/84 = 0.76190


def test_dense_option_is_respected():
    d = layer_densities(SMALL, 0.9, "uniform", dense=[2])
    # budget 0.9*84 = 75.6; dense layer 2 keeps 64; the rest share 11.6/20 = 0.58
    assert d == pytest.approx([0.58, 0.58, 1.0], rel=1e-12)


def test_custom_list_and_dict():
    assert layer_densities(SMALL, (4 * 1 + 16 * 0.5 + 64 * 0.25) / 84, "custom", densities=[1, 0.5, 0.25]) == [1, 0.5, 0.25]
    with pytest.raises(ValueError, match="custom densities keep"):
        layer_densities(SMALL, 0.5, "custom", densities=[1, 0.5, 0.25])
    # dict: layer 0 fixed at 1 -> remaining 38 over 80 weights = 0.475 each
    assert layer_densities(SMALL, 0.5, "custom", densities={0: 1.0}) == pytest.approx([1.0, 0.475, 0.475])


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan"), float("inf")])
def test_bad_density(bad):
    with pytest.raises(ValueError, match="density"):
        layer_densities(SMALL, bad, "erk")


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown layer-wise ratio method='nope'.*available: .*balanced"):
        layer_densities(SMALL, 0.5, "nope")
    with pytest.raises(ValueError, match="shapes"):
        layer_densities([], 0.5)
    with pytest.raises(ValueError, match=r"shapes\[1\]"):
        layer_densities([(2, 2), (0, 3)], 0.5)
    with pytest.raises(TypeError, match="density"):
        layer_densities(SMALL, "0.5")
    with pytest.raises(ValueError, match="dense"):
        layer_densities(SMALL, 0.5, dense=[7])


def test_register_ratio_extends_registry():
    @register_ratio("test-first-dense")
    def _first_dense(shapes, density, dense_idx, **_):
        from lottery_theory.sparsity import solve_saturating
        return solve_saturating([1.0] * len(shapes), [math.prod(s) for s in shapes], density, dense_idx | {0})

    assert "test-first-dense" in available_ratios()
    assert layer_densities(SMALL, 0.5, "test-first-dense") == pytest.approx([1.0, 0.475, 0.475])


shape_lists = st.lists(st.tuples(st.integers(1, 60), st.integers(1, 60)), min_size=1, max_size=6)
METHODS = ["uniform", "er", "erk", "balanced", "pyramidal"]


@settings(max_examples=150, deadline=None)
@given(shapes=shape_lists, d=st.floats(0.001, 1.0), method=st.sampled_from(METHODS))
def test_property_total_and_range(shapes, d, method):
    dens = layer_densities(shapes, d, method)
    assert all(0 < x <= 1 for x in dens)
    assert total(shapes, dens) == pytest.approx(d, rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(shapes=shape_lists, d1=st.floats(0.001, 1.0), d2=st.floats(0.001, 1.0), method=st.sampled_from(METHODS))
def test_property_monotone(shapes, d1, d2, method):
    lo, hi = sorted((d1, d2))
    a, b = layer_densities(shapes, lo, method), layer_densities(shapes, hi, method)
    assert all(x <= y + 1e-9 for x, y in zip(a, b))
