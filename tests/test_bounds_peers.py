"""Golden values of the peer calculators, worked by hand from each paper's statement or reported experiment
(issue 16). Each comment shows the arithmetic; none of these numbers comes from the code under test."""
import math

import pytest

from lottery_theory import bounds as B


def test_pensia_experiment_21_per_weight_and_reported_size():
    # Pensia et al. 2020, Sec. 5: n = c * round(log2(1/eps)), c = 3, eps = 0.01: log2(100) = 6.644 -> 7 -> 21
    # (the old ceil(3 log2(1/eps)) gives ceil(19.93) = 20)
    assert B.pensia_items_per_weight(0.01) == 21
    assert B.dense_subset_sum_n(0.01) == 20
    # their 784-500-10 target has no biases (TwoLayerFC(..., bias=None); their results file: 397,000 -> 8,337,000,
    # "21.00 times"): 784*500 + 500*10 = 397,000 weights; x 21 = 8,337,000
    rep = B.cli_evaluate("pensia-experiment", eps=0.01, widths=[784, 500, 10])
    assert rep == {"n_per_weight": 21, "C": 3.0, "target_params": 397_000, "bias": False, "random_params": 8_337_000}
    # with biases (784*500 + 500 + 500*10 + 10 = 397,510): x 21 = 8,347,710
    rep = B.cli_evaluate("pensia-experiment", eps=0.01, widths=[784, 500, 10], bias="yes")
    assert rep["target_params"] == 397_510 and rep["random_params"] == 8_347_710
    # eps = 0.1: log2(10) = 3.32 -> 3 -> 9; eps = 0.001: log2(1000) = 9.97 -> 10 -> 30
    assert B.pensia_items_per_weight([0.1, 0.001]).tolist() == [9, 30]


def test_pensia_theorem_1_widths():
    # Theorem 1, C = 3, log2, no bias, eps = delta = 0.01, l = 2:
    # block 1: log2(784*500*2/0.01) = log2(78,400,000) = 26.22 -> 27 -> 81 per input -> 784*81 = 63,504
    # block 2: log2(500*10*2/0.01) = log2(1,000,000) = 19.93 -> 20 -> 60 per input -> 500*60 = 30,000
    assert B.required_width([784, 500, 10], 0.01, 0.01, theorem="pensia", bias=False) == [784, 63504, 500, 30000, 10]
    # one weight (d = l = 1) at eps = delta = 0.01: 3 * ceil(log2 100) = 21, the experiment's count
    assert B.required_width([1, 1], 0.01, 0.01, theorem="pensia", bias=False) == [1, 21, 1]


def test_orseau_per_target_weight_with_delta():
    # [4, 3, 2], eps = delta = 0.1, bias: eps' = 0.1 / (2 (5 + 4)) = 1/180; N_w = 5*3 + 4*2 = 23
    # m = 2 ceil(ln(23 * 180 / 0.1)) = 2 ceil(ln 41,400 = 10.63) = 22; blocks 5*3*22 = 330, 4*2*22 = 176
    assert B.required_width([4, 3, 2], 0.1, 0.1, theorem="orseau") == [4, 330, 3, 176, 2]
    # delta enters: delta = 0.001 -> ln(4,140,000) = 15.24 -> m = 32
    assert B.required_width([4, 3, 2], 0.1, 0.001, theorem="orseau")[1] == 5 * 3 * 32


def test_malach_has_the_fifth_power():
    # n = 10, L = 2, eps = delta = 0.1: 10^5 * 4 / 0.01 * ln(200) = 4e7 * 5.29832 = 211,932,694.7 -> 211,932,695
    assert 4e7 * math.log(200) == pytest.approx(211_932_694.66, abs=0.01)
    assert B.required_width([10, 10, 1], 0.1, 0.1, theorem="malach") == [10, 211_932_695, 10, 211_932_695, 1]


def test_da_cunha_channels():
    # channels [3, 32, 10], 3x3, eps = delta = 0.01, L = 2, C = 1:
    # n_1 = ceil(ln(9*3*32*2/0.01) = ln 172,800 = 12.06) = 13 -> 2*13*3 = 78
    # n_2 = ceil(ln(9*32*10*2/0.01) = ln 576,000 = 13.26) = 14 -> 2*14*32 = 896
    assert B.required_width([3, 32, 10], 0.01, 0.01, theorem="da-cunha") == [3, 78, 32, 896, 10]
    # 5x5 kernels: ln(25*3*32*2/0.01) = ln 480,000 = 13.08 -> 14 -> 84
    assert B.required_width([3, 32, 10], 0.01, 0.01, theorem="da-cunha", kernel_size=5)[1] == 84


@pytest.mark.parametrize("theorem", ["pensia", "orseau", "malach", "da-cunha"])
def test_peer_sympy_form_matches_numeric(theorem):
    import sympy as sp
    rec = B.BOUNDS[f"{theorem}-width"]
    expr, syms = rec.expr()
    assert isinstance(expr, sp.Expr) and len(syms) >= 3
