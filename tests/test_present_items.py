"""The exact present-items count (bounds/present_items.py) against hand values and brute-force binomial sums."""
import math

import pytest

from lottery_theory import bounds as B
from lottery_theory.bounds.present_items import present_items_n


def _tail(n, m, p):  # brute force: sum of the binomial pmf
    return sum(math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(m, n + 1))


def test_hand_values():
    # m = 1, p = 0.5, delta = 0.01: 1 - 0.5^n >= 0.99 -> n >= log2(100) = 6.64 -> 7
    assert present_items_n(1, 0.5, 0.01) == 7
    # m = 2, p = 0.5, delta = 0.1: P(>= 2) = 1 - (n + 1)/2^n; n = 6: 1 - 7/64 = 0.891 < 0.9; n = 7: 1 - 8/128 = 0.9375
    assert present_items_n(2, 0.5, 0.1) == 7
    assert present_items_n(5, 1.0, 0.01) == 5  # dense: every item present


@pytest.mark.parametrize("m, p, delta", [(3, 0.3, 0.05), (10, 0.1, 0.01), (20, 0.5, 0.001), (1, 0.02, 0.1)])
def test_equals_brute_force_and_beats_chernoff(m, p, delta):
    n = present_items_n(m, p, delta)
    assert _tail(n, m, p) >= 1 - delta > _tail(n - 1, m, p)
    # (ER-3)'s Chernoff step needs n p / 2 >= m and exp(-n p / 8) <= delta / 2: never fewer than the exact count
    chernoff = math.ceil(max(2 * m, 8 * math.log(2 / delta)) / p)
    assert n <= chernoff


def test_record_and_cli():
    assert B.cli_evaluate("present-items", m=1, density=0.5, delta=0.01) == {"n": 7, "m_over_p": 2.0}
    e, (d, p) = B.BOUNDS["present-items"].expr()
    assert math.ceil(float(e.subs({d: 0.01, p: 0.5}))) == 7
    with pytest.raises(ValueError, match="density"):
        present_items_n(3, 0.0, 0.01)
    with pytest.raises(TypeError, match="m must be an integer"):
        present_items_n(2.5, 0.5, 0.01)
