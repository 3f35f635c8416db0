"""Sweep files have a schema (issue 14): unknown keys and fields, wrong types and out-of-range values are
errors naming them; the documented example is valid; sweep list/show and results export work."""
import json
import math
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery_theory.cli import main
from lottery_theory.experiments.sweep import sweep_from_spec
from lottery_theory.experiments.schema import EXAMPLE
from lottery_theory.experiments.sweep import BUILTIN_SWEEPS, load_sweep_file


def test_flat_keys_are_refused_not_run_with_defaults(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"experiment": "ticket", "density": 0.3, "bogus": 1}))
    with pytest.raises(ValueError, match=r"unknown top-level key\(s\) \['bogus', 'density'\]"):
        load_sweep_file(f)
    assert main(["sweep", str(f), "--executor", "serial", "--results", str(tmp_path / "r")]) == 2


@pytest.mark.parametrize("fixed, message", [
    ({"density": math.nan}, "must be finite"),
    ({"density": "0.5"}, "must be float"),
    ({"density": 0.0}, r"density and must lie in \(0, 1\]"),
    ({"density": 1.5}, r"density and must lie in \(0, 1\]"),
    ({"eps": 1.0}, r"'eps' must lie in \(0, 1\)"),
    ({"width_multiplier": 2.0}, "must be int"),
    ({"width_multiplier": True}, "must be int"),
    ({"width_multiplier": 0}, "must be >= 1"),
    ({"seed": -1}, "must be >= 0"),
    ({"target_widths": []}, "non-empty list"),
    ({"target_widths": [10, 0.5, 1]}, "integers >= 1"),
    ({"max_itmes": 20}, "unknown field 'max_itmes'"),
    ({"construction": 2}, "must be str"),
])
def test_bad_fields_name_field_and_value(fixed, message):
    with pytest.raises((ValueError, TypeError), match=message):
        sweep_from_spec({"experiment": "ticket", "fixed": fixed})


def test_structure_errors():
    for spec, msg in [([], "a sweep is an object"), ({"fixed": {}}, "needs an 'experiment'"),
                      ({"experiment": "nope"}, "nope"), ({"experiment": 3}, "must be a string"),
                      ({"experiment": "ticket", "grid": {"seed": 1}}, "non-empty list"),
                      ({"experiment": "ticket", "grid": {"seed": [1]}, "configs": [{}]}, "not both"),
                      ({"experiment": "ticket", "configs": [1]}, r"configs\[0\] must be an object")]:
        with pytest.raises((ValueError, TypeError), match=msg):
            sweep_from_spec(spec)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not (0 < v <= 1)),
                 st.text(max_size=4), st.booleans(), st.lists(st.integers(), max_size=2), st.none()))
def test_property_no_bad_density_gets_through(value):
    with pytest.raises((ValueError, TypeError)):
        sweep_from_spec({"experiment": "ticket", "grid": {"density": [value]}})


def test_documented_example_is_valid_and_every_builtin_sweep_passes():
    spec = json.loads(re.search(r"\{\"experiment\".*?\}\}", EXAMPLE, re.S).group(0))
    assert len(sweep_from_spec(spec)) == 9  # 3 densities x 3 seeds
    for name, s in BUILTIN_SWEEPS.items():
        assert sweep_from_spec(s), name
    assert len(sweep_from_spec({"experiment": "ticket", "fixed": {"density": 0.2}})) == 1


def test_sweep_list_show_and_results_export(tmp_path, capsys):
    assert main(["sweep", "list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"selftest\s+selftest\s+6", out)
    assert main(["sweep", "show", "selftest"]) == 0
    assert capsys.readouterr().out.strip().endswith("6 configs")
    store = tmp_path / "r"
    assert main(["sweep", "selftest", "--executor", "serial", "--results", str(store)]) == 0
    csv = tmp_path / "all.csv"
    assert main(["results", "export", "selftest", "--out", str(csv), "--results", str(store)]) == 0
    df = pd.read_csv(csv)
    assert df["hash"].nunique() == 6 and len(df) == 12  # 2 rows per selftest config
    assert main(["results", "export", "nothing", "--out", str(csv), "--results", str(store)]) == 2


def test_bom_deep_nesting_and_huge_grids(tmp_path):
    """A UTF-8 byte-order mark is accepted; 100k-deep nesting and grids of 2e9 configs are refused at once."""
    import json
    import time

    from lottery_theory.experiments.sweep import load_sweep_file, sweep_from_spec

    f = tmp_path / "bom.json"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps({"experiment": "selftest", "grid": {"seed": [0, 1]}}).encode())
    assert len(load_sweep_file(f)) == 2
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply"):
        load_sweep_file(deep)
    t = time.perf_counter()
    with pytest.raises(ValueError, match="more than 100,000 configs"):
        sweep_from_spec({"experiment": "selftest", "grid": {"seed": list(range(50_000)), "x": [0.5] * 40_000}})
    assert time.perf_counter() - t < 30  # measured ~0.02 s: refused from the list lengths, nothing expanded
