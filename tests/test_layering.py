"""Imports run one way (issue 28): no import cycle among the package's modules, counting imports inside functions
too, and the library layers never import the layers built on them (experiments, plotting, verdicts, cli)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "lottery_theory"
UPPER = ("lottery_theory.experiments", "lottery_theory.plotting", "lottery_theory.verdicts", "lottery_theory.cli")
LOWER = ("lottery_theory.sparsity", "lottery_theory.nets", "lottery_theory.bounds", "lottery_theory.subset_sum",
         "lottery_theory.tickets", "lottery_theory.search", "lottery_theory.data")


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    g = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, ast.ImportFrom) and n.module != "__future__":
                base = (".".join(pkg.split(".")[:len(pkg.split(".")) - n.level + 1] + ([n.module] if n.module else []))
                        if n.level else (n.module or ""))
                for a in n.names:
                    dep = f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                    if dep in mods and dep != m:
                        g[m].add(dep)
            elif isinstance(n, ast.Import):
                g[m] |= {a.name for a in n.names if a.name in mods and a.name != m}
    return g


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in g:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_the_package():
    g = _graph()
    assert len(g) > 50 and "lottery_theory.tickets.layouts" in g["lottery_theory.tickets.construct"]
    assert _cycles(g) == []


def test_library_layers_do_not_import_the_layers_above():
    bad = [(m, d) for m, deps in _graph().items() if m.startswith(LOWER) for d in deps if d.startswith(UPPER)]
    assert bad == []


def _functions():
    for p in ROOT.rglob("*.py"):
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                compiled = any("njit" in ast.unparse(d) for d in n.decorator_list)
                args = n.args.posonlyargs + n.args.args + n.args.kwonlyargs
                named = [a.arg for a in args if a.arg not in ("self", "cls")]
                yield p.relative_to(ROOT.parent), n, compiled, named


def test_functions_are_short_and_take_few_parameters():
    """Issue 28: no function in the package over 60 lines, none with more than 8 named parameters (options beyond
    that go through a config object: ConstructConfig, TrainConfig, PruneConfig, DSTConfig, SourceConfig, ...);
    numba-compiled kernels are exempt (they cannot take objects)."""
    long = [f"{p}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)" for p, n, c, _ in _functions()
            if not c and n.end_lineno - n.lineno + 1 > 60]
    wide = [f"{p}:{n.lineno} {n.name} ({len(a)} parameters)" for p, n, c, a in _functions() if not c and len(a) > 8]
    assert long == [] and wide == []
    assert sum(1 for _ in _functions()) > 500  # the walk sees the package


def test_er_source_config_and_keywords_are_one_set_of_options():
    import pytest
    import torch

    from lottery_theory.nets import er_source
    from lottery_theory.nets.builders import SourceConfig

    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    a = er_source([6, 8, 2], width_multiplier=2, density=0.5, exact=True, ratio="erk", erk_power=0.5, generator=g())
    cfg = SourceConfig(width_multiplier=2, density=0.5, exact=True, ratio="erk", ratio_options={"erk_power": 0.5})
    b = er_source([6, 8, 2], cfg, generator=g())
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(TypeError, match="density"):
        er_source([6, 8, 2], width_multiplier=2, generator=g())
    with pytest.raises(TypeError, match="erk_pwr"):  # a misspelt option reaches the ratio, which names it
        er_source([6, 8, 2], width_multiplier=2, density=0.5, ratio="erk", erk_pwr=0.5, generator=g())
