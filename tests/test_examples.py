"""Every script in examples/ runs in its fast mode and prints what its docstring promises; the API reference
builds with one command (issue 14)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

EXPECT = {  # a line each example must print, as a regular expression
    "bounds_in_a_notebook.py": r"0\.1 +9\.491 +10\.0 .*x\n.*lower bound .*width >= \d+",
    "ticket_for_your_model.py": r"sup error over \[-1,1\]\^8: \[[0-9.e-]+, [0-9.e-]+\].*\neps-ticket at eps = 0\.01: "
                                r"(True|False)\nexported: Sequential",
    "edge_popup_in_er_mask.py": r"torch prune form = True.*\n.*test accuracy [01]\.\d+\n(  \S+ +kept 0\.100 .*\n){4}",
    "dask_sweep.py": r"sweep: 4 run, 0 already stored, 4 in all.*[\s\S]*bit-identical to the serial one: True",
}


def test_every_example_is_covered():
    assert sorted(p.name for p in EXAMPLES) == sorted(EXPECT)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_fast(path, tmp_path):
    r = subprocess.run([sys.executable, str(path), "--fast"], capture_output=True, text=True, timeout=1200,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert re.search(EXPECT[path.name], r.stdout), r.stdout


def test_api_reference_builds(tmp_path):
    pytest.importorskip("pdoc", reason="pdoc not installed (pip install -e '.[docs]')")
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "build_api.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    page = (tmp_path / "lottery_theory" / "nets" / "interop.html").read_text()
    assert "sparsify" in page and "torch.nn.utils.prune" in page
    assert (tmp_path / "lottery_theory" / "subset_sum" / "kernel.html").exists()


def test_readme_three_ways_in_snippets_run():
    """The two Python snippets of README "Three ways in" run as written."""
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "README.md").read_text()
    section = text.split("## Three ways in", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
