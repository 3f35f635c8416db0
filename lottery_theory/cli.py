"""``lottery-theory`` command line: bounds, verify, ticket, sweep, figure, reproduce.

Errors print one line (``error: ...``) and exit 2, unless ``--debug`` is given.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path


def _json_safe(x):
    """Strict JSON: numpy numbers as Python numbers, inf/NaN as the strings "inf", "-inf", "nan"."""
    import math

    import numpy as np

    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else str(float(x))
    return x


def cmd_bounds(args: argparse.Namespace) -> int:
    from .bounds.cli import listing
    from .bounds.record import BOUNDS

    if args.name is None or args.name == "list":  # no name: the list (exit 0), as `bounds list`
        result = listing()
    else:  # argparse has filled every argument of the record (required ones are enforced there)
        rec = BOUNDS[args.name]
        result = rec.evaluate(**{a.name: getattr(args, a.name) for a in rec.args})
    if getattr(args, "json", False):
        print(json.dumps(_json_safe(result), indent=2, allow_nan=False))
    else:
        for k, v in result.items():
            print(f"{k:>18}: {v}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .verdicts import format_table, judge_checks, repo_root, run_checks, smoke_training, write_outputs

    if getattr(args, "self_test", False):
        return _self_test(args)
    if getattr(args, "from_dir", None):
        folder = Path(args.from_dir)
        old = folder / "verdicts.json"
        mode = json.loads(old.read_text()).get("mode", "unknown") if old.is_file() else "unknown"
        rows = judge_checks(folder, args.only, debug=args.debug)
        write_outputs(rows, Path(args.out) if args.out else folder, mode, args.only)
        print(format_table(rows))
        print(f"re-judged {len(rows)} rows from the CSVs in {folder} (nothing computed); wrote verdicts.md and "
              f"verdicts.json in {Path(args.out) if args.out else folder}")
        return 1 if any(r.verdict == "error" or (args.strict and r.verdict == "violated") for r in rows) else 0
    from .experiments.sweep import shared_pool

    if args.train and not args.quick:
        raise ValueError("--train applies to --quick only (the full run always trains)")
    out = Path(args.out) if args.out else repo_root() / "figures"
    with shared_pool(), smoke_training(args.train):  # one pool of sweep workers for every check, started once
        rows = run_checks(args.only, quick=args.quick, out_dir=out, debug=args.debug,
                          progress=lambda it: tqdm(it, desc="proofs_checks", unit="check"))
    write_outputs(rows, out, "quick" if args.quick else "full", args.only)
    print(format_table(rows))
    print(f"wrote {out / 'verdicts.md'} and {out / 'verdicts.json'}")
    bad = [r for r in rows if r.verdict == "error" or (args.strict and r.verdict == "violated")]
    return 1 if bad else 0


POWER_FULL = 0.95  # `verify --self-test`: every statistical row's power vs its nearest rival on the full grid


def _self_test(args: argparse.Namespace) -> int:
    """Power and size of every statistical row vs its nearest rival, measured on the published tables (figures/ =
    quick grid, figures/full = full grid); then the clear-cut alternatives (strawmen) as a second, separate test.
    Exit 1 when a row cannot separate its strawman, or when a statistical row's full-grid power is < 0.95."""
    from .verdicts import discover_checks, load_check, power_report, repo_root, self_test

    root = repo_root() / "figures"
    kinds = {(name, row.id): row.kind for name, path in discover_checks().items()
             for row in getattr(load_check(path), "ROWS", [])}
    weak = []
    for label, folder in (("quick grid", root), ("full grid", root / "full")):
        if not (folder / "verdicts.json").is_file():
            print(f"[{label}] no published tables in {folder}; skipped")
            continue
        print(f"[{label}] power vs the nearest rival, measured on the CSVs in {folder}:")
        for r in power_report(folder, args.only):
            if r.verdict == "error":
                print(f"  ERROR {r.check} / {r.row}: {r.measured}")
                weak.append(r)
            elif r.rival:
                print(f"  {r.check} / {r.row}: power vs {r.rival}: {r.power or '-'}, size: {r.size or '-'} "
                      f"-> {r.verdict}")
                if label == "full grid" and not (r.power and float(r.power) >= POWER_FULL):
                    weak.append(r)
            else:
                print(f"  {r.check} / {r.row}: {kinds.get((r.check, r.row), 'exact')} row (no rival; see "
                      f"docs/verdicts.md) -> {r.verdict}")
    results = self_test(args.only)
    print("clear-cut alternatives (can every row fail?):")
    for check, row, v1, v2, ok, alt in results:
        print(f"  {'ok  ' if ok else 'FAIL'} {check} / {row}: {v1} under claim, {v2} under {alt}")
    bad = [r for r in results if not r.ok]
    print(f"{len(results) - len(bad)} of {len(results)} rows separate claim from a clear-cut alternative; "
          f"{len(weak)} statistical row(s) below power {POWER_FULL:g} vs the nearest rival on the full grid"
          + (": " + ", ".join(f"{r.check}/{r.row}" for r in weak) if weak else ""))
    return 1 if bad or weak or not results else 0


def cmd_figure(args: argparse.Namespace) -> int:
    from .plotting import render
    from .verdicts import repo_root

    out = args.out
    folder = Path(args.dir) if args.dir else None
    if out and Path(out).is_dir():  # `figure NAME --out DIR`: the folder `verify --out DIR` wrote
        folder, out = Path(out), None
    if args.data:
        data = Path(args.data)
    else:
        data = (folder or repo_root() / "figures") / f"{args.name}.csv"
    print(render(args.name, data, out))
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from .experiments.store import ResultStore, results_root

    from .experiments import available_experiments

    if args.experiment not in available_experiments():
        raise ValueError(f"unknown experiment {args.experiment!r}; available: {', '.join(available_experiments())}")
    df = ResultStore(results_root(args.results)).load(args.experiment)
    df.to_csv(args.out, index=False)
    print(f"{len(df)} rows of {df['hash'].nunique()} configs of {args.experiment!r} -> {args.out}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .experiments import run_sweep_cli

    return run_sweep_cli(args)


def _read_spec(text: str) -> list:
    """An architecture spec from a JSON file or inline JSON text."""
    import json
    from pathlib import Path

    src = Path(text).read_text(encoding="utf-8-sig") if Path(text).is_file() else text
    try:
        return json.loads(src)
    except json.JSONDecodeError as e:
        raise ValueError(f"--spec must be a JSON file or JSON text, e.g. '[[\"Linear\", 784, 300, true], "
                         f"[\"ReLU\"], [\"Linear\", 300, 10, true]]' ({e})") from None


def _ticket_target(args: argparse.Namespace) -> tuple:
    """The ticket command's target, info dict, input shape and input box."""
    if args.target == "lenet-mnist":
        from .experiments.lenet import lenet_mnist

        target, info = lenet_mnist(seed=args.seed, progress=not args.json)  # training shows its progress
        input_shape, box = (784,), (0.0, 1.0) if args.box is None else tuple(args.box)
    else:
        from .nets import load_target, target_from_state_dict

        if args.spec:
            target = target_from_state_dict(args.target, _read_spec(args.spec))
        else:
            target = load_target(args.target, trust=args.trust)
        info = {"checkpoint": args.target}
        input_shape = tuple(args.input_shape) if args.input_shape else None
        box = (-1.0, 1.0) if args.box is None else tuple(args.box)
    if box[0] > box[1]:
        raise ValueError(f"--box needs LO <= HI, got {box}")
    return target, info, input_shape, box


def _ticket_dry_run(args: argparse.Namespace, target, box, opts: dict) -> int:
    """``ticket --dry-run``: source size, peak memory and time at the width it would build, as JSON."""
    from .tickets.search_width import bound_k, dry_run

    k = args.k if args.k is not None else bound_k(target, args.eps, args.density, args.assignment, args.delta)
    plan = dry_run(target, k, opts["max_items"], signed_input=box[0] < 0)
    print(json.dumps(plan))
    if plan["fits"] is False:
        raise ValueError(f"building at k = {k} needs about {plan['est_peak_gib']:.1f} GiB, more than the "
                         f"{plan['available_gib']:.1f} GiB available now; pass a smaller --k")
    return 0


def _ticket_build(args: argparse.Namespace, target, input_shape, box, opts: dict):
    """The ticket at ``--k`` (with ``--retries``), or the narrowest certifying width found in ``--time-budget``
    (the search, or None)."""
    import torch

    from .tickets import construct

    g = torch.Generator().manual_seed(args.seed)
    if args.k is not None:
        return construct(target, density=args.density, eps=args.eps, box=tuple(box),
                         input_shape=input_shape, generator=g, retries=args.retries, width_multiplier=args.k,
                         **opts), None
    if args.retries != 1:
        raise ValueError("--retries draws several sources at one width: pass --k with it")
    from .tickets.search_width import find_width

    report = None if args.json else (lambda r: print(
        f"  k = {r['k']}: certified upper {r['upper']:.3g}, {r['missed']:.0%} of the subset sums missed their "
        f"budget ({r['wall_s']:.1f} s)", file=sys.stderr))
    search = find_width(target, density=args.density, eps=args.eps, box=tuple(box), input_shape=input_shape,
                        generator=g, time_budget=args.time_budget, progress=report, **opts)
    if not search.certified:
        print(f"no width certified eps = {args.eps:g} within {args.time_budget:g} s; the best certified upper "
              f"bound found is {search.upper:.3g} (k = {search.k}); pass --k or a longer --time-budget",
              file=sys.stderr)
    return search.ticket, search


def _resolved_objective(objective: str | None) -> str:
    """The subset-sum objective the ticket was built with (None: the default layout's own)."""
    from .tickets import CONSTRUCTIONS
    from ._construct_options import OPTIONS

    return objective or CONSTRUCTIONS.get_checked(OPTIONS["construction"].default).default_objective


def cmd_ticket(args: argparse.Namespace) -> int:
    """Build a strong ticket for a target inside an ER source and bracket its sup error (last line: JSON)."""
    import resource
    import time

    import torch

    t0 = time.perf_counter()
    target, info, input_shape, box = _ticket_target(args)
    from ._construct_options import CLI_OPTIONS, check_choice

    opts = {name: getattr(args, name) for name in CLI_OPTIONS if name != "retries"}
    if args.dry_run:
        return _ticket_dry_run(args, target, box, opts)
    tk, search = _ticket_build(args, target, input_shape, box, opts)
    br = tk.sup_error(box, generator=torch.Generator().manual_seed(args.seed + 1))
    out = {"target": args.target, "density": args.density, "eps": args.eps, "box": list(box), "lower": br.lower,
           "upper": br.upper, "certified_by": br.method, "interval_upper": br.interval,
           "differential_upper": br.differential, "eps_ticket": bool(br.upper <= args.eps), "random_max": br.random_max,
           "wall_s": time.perf_counter() - t0, "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
           "kept_params": tk.kept_params, "source_params": tk.source_params, "target_params": tk.target_params,
           "k_per_block": tk.block_sizes, "failures": tk.failures, "n_instances": tk.n_instances,
           "assignment": check_choice("assignment", args.assignment), "objective": _resolved_objective(opts["objective"]),
           "max_items": opts["max_items"],
           "budget": args.budget,
           **({"draws": tk.draws} if tk.draws else {}),
           **({"width_search": search.trace} if search is not None else {}), **info}
    if not args.json:
        for k, v in out.items():
            print(f"{k:>18}: {v}")
    print(json.dumps(out))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    args.only, args.strict, args.self_test = None, False, False
    return cmd_verify(args)


EXAMPLES = {
    "bounds": """
        lottery-theory bounds er-factor --density 0.1
        lottery-theory bounds er-width --density 0.1 --eps 0.01 --widths 784,300,100,10
        lottery-theory bounds lower-bound --d 784 --delta 0.01 --density 0.05 --json
        lottery-theory bounds list""",
    "verify": """
        lottery-theory verify --quick
        lottery-theory verify --quick --train   # also retrain the smoke runs
        lottery-theory verify --quick --only subset_sum_lueker layer_ratios
        lottery-theory verify --self-test   # can every row fail? (seconds, no measurement)
        lottery-theory verify            # full run: larger grids, may take hours""",
    "figure": """
        lottery-theory figure layer_ratios          # reads figures/layer_ratios.csv
        lottery-theory figure lueker --data my.csv --out my.png
        lottery-theory figure layer_ratios --out DIR       # DIR = the --out of `verify --out DIR`""",
    "sweep": """
        lottery-theory sweep tickets-quick --executor local --workers 2
        lottery-theory sweep my_sweep.json --executor dask --scheduler local
        lottery-theory sweep my_sweep.toml --executor dask --scheduler tcp://host:8786
        lottery-theory sweep list
        lottery-theory sweep show tickets-quick""",
    "results": """
        lottery-theory results export ticket --out tickets.csv""",
    "reproduce": """
        lottery-theory reproduce --quick""",
    "ticket": """
        lottery-theory ticket --target lenet-mnist --density 0.5 --eps 0.01 --json
        lottery-theory ticket --target my_net.pt --density 0.2 --eps 0.05 --box -1 1
        lottery-theory ticket --target my_conv.pt --input-shape 1 28 28 --density 0.5 --eps 0.1 --k 32""",
}


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= v <= 2**62:
        raise argparse.ArgumentTypeError(f"must lie in [0, 2**62], got {text!r}")
    return v


# argparse takes "-1e300" for an option (its number pattern has no exponent); numbers in any float syntax are values
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|nan)$", re.IGNORECASE)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lottery-theory")
    except PackageNotFoundError:  # run from a checkout without installing
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The command line (building it imports neither torch nor sympy, so ``--help`` is fast)."""
    p = argparse.ArgumentParser(prog="lottery-theory", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    p.add_argument("--version", action="version", version=f"lottery-theory {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, help_, fn):
        sp = sub.add_parser(name, help=help_, description=help_,
                            epilog="examples:" + textwrap.dedent(EXAMPLES[name]),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.set_defaults(func=fn)
        sp._negative_number_matcher = _NEGATIVE_NUMBER
        return sp

    from .bounds.cli import add_bound_parsers

    b = add("bounds", "evaluate a bound calculator (one subcommand per calculator; see `bounds list`)", cmd_bounds)
    add_bound_parsers(b.add_subparsers(dest="name", metavar="NAME"))

    _add_verify(add)
    _add_figure(add)
    _add_ticket(add)
    _add_sweep(add)
    _add_results(add)
    return p


def _add_verify(add) -> None:
    for name, help_, fn in [("verify", "run every proofs_checks/ script and print the verdict table", cmd_verify),
                            ("reproduce", "regenerate every figure in figures/ (runs all checks)", cmd_reproduce)]:
        v = add(name, help_, fn)
        v.add_argument("--quick", action="store_true", help="small grids: the theory rows and the teacher width "
                       "computed, the trained smoke runs (classification, ratios, pruning, DST) re-judged from their "
                       "published CSVs in figures/ (about 5 minutes on 2 cores)")
        v.add_argument("--train", action="store_true", help="with --quick: retrain the smoke runs too instead of "
                       "re-judging their published CSVs (about 360 more core-seconds)")
        v.add_argument("--out", help="output folder (default: figures/ of the checkout)")
        if name == "verify":
            v.add_argument("--only", nargs="+", help="run only these checks (their rows replace theirs in "
                           "verdicts.json; the other checks' rows are kept)")
            v.add_argument("--self-test", action="store_true", help="print every statistical row's power and size "
                           "vs its nearest rival on the published tables (figures/, figures/full), then feed every "
                           "row synthetic tables under its claim and a clear-cut alternative; exit 1 unless each row "
                           "separates them and every full-grid power is >= 0.95")
            v.add_argument("--from", dest="from_dir", metavar="DIR", help="re-judge every row from the CSVs in DIR "
                           "(figures/, figures/full or a verify --out folder) without computing; writes "
                           "verdicts.json there (or in --out)")
            v.add_argument("--strict", action="store_true", help="exit 1 when a verdict is 'violated'")



def _add_figure(add) -> None:
    f = add("figure", "draw one figure from stored results (never recomputes)", cmd_figure)
    f.add_argument("name")
    f.add_argument("--data", help="CSV to read (default DIR/NAME.csv)")
    f.add_argument("--dir", help="folder of the CSVs, e.g. the --out of verify (default: figures/ of the checkout "
                   "or of the working directory)")
    f.add_argument("--out", help="PNG to write (default beside the CSV); an existing folder is read as --dir")



def _add_construct_options(t) -> None:
    """The ``ticket`` flags generated from construct()'s option table (lottery_theory._construct_options): one set
    of defaults; the command's one departure (``--budget norms``) is stated in its help."""
    from ._construct_options import CLI_DEFAULTS, CLI_OPTIONS, OPTIONS

    for name in CLI_OPTIONS:
        opt = OPTIONS[name]
        default = CLI_DEFAULTS.get(name, opt.default)
        kind = _positive_int if opt.type is int else opt.type
        note = "" if name not in CLI_DEFAULTS else (f"; construct()'s default is {opt.default}, the command's is "
                                                    f"{default}: a checkpoint's norms are not known to be <= 1")
        shown = "the layout's own: fewest for 2L and L+1" if default is None else default
        t.add_argument("--" + name.replace("_", "-"), type=kind, default=default, choices=opt.choices,
                       help=f"{opt.help} (default {shown}{note})")


def _add_ticket(add) -> None:
    t = add("ticket", "build a strong ticket inside an ER source and bracket its sup error (JSON on the last line)",
            cmd_ticket)
    t.add_argument("--target", required=True, help="'lenet-mnist' (LeNet-300-100 trained on mnist5k, cached) or a "
                   "checkpoint written by lottery_theory.nets.save_target")
    t.add_argument("--density", type=float, required=True, help="ER density p of the source (fraction kept)")
    t.add_argument("--eps", type=float, required=True, help="target sup error over the box")
    t.add_argument("--k", type=_positive_int, help="units per input in each block layer (default: the narrowest "
                   "width on a sqrt(2) grid whose certificate reaches eps, searched within --time-budget)")
    t.add_argument("--time-budget", type=float, default=60.0, help="seconds for the width search when --k is not "
                   "given (default 60): the first probe always runs; each further one (wider after a failure, narrower "
                   "after a success) only if it fits")
    t.add_argument("--dry-run", action="store_true", help="print the source size and estimated peak memory at --k "
                   "(default: the bound's k) and exit; refuse when it exceeds the memory available")
    t.add_argument("--box", type=float, nargs=2, metavar=("LO", "HI"), help="input box (lenet-mnist: 0 1; else -1 1)")
    t.add_argument("--input-shape", type=int, nargs="+", help="input shape of conv targets, e.g. 1 28 28")
    _add_construct_options(t)
    t.add_argument("--seed", type=_seed, default=0, help="seed of the target's training and of the ER source")
    t.add_argument("--trust", action="store_true", help="allow unpickling a whole nn.Sequential (files you made)")
    t.add_argument("--spec", help="architecture of a plain state_dict given as --target (torch.save(model."
                   "state_dict())): a JSON file or text, e.g. '[[\"Linear\", 784, 300, true], [\"ReLU\"], "
                   "[\"Linear\", 300, 10, true]]'")
    t.add_argument("--json", action="store_true", help="print only the JSON line")



def _add_sweep(add) -> None:
    s = add("sweep", "run a sweep from a JSON/TOML file or a built-in name (resumes)", cmd_sweep)
    from .sweep_format import EXAMPLE  # torch-free: the help stays fast

    s.epilog += "\n\n" + EXAMPLE + "\n\nbuilt-in sweeps: `lottery-theory sweep list` (--json for a list)"
    s.add_argument("config", help="built-in sweep name, path to .json/.toml, 'list' (built-in sweeps) or 'show'")
    s.add_argument("name", nargs="?", help="with 'show': the built-in sweep to print")
    s.add_argument("--executor", default="local", choices=["local", "dask", "serial"],
                   help="serial (this process), local (process pool of --workers) or dask (see --scheduler)")
    s.add_argument("--workers", type=int, default=2, help="processes for --executor local / dask LocalCluster")
    s.add_argument("--scheduler", default="local", help="dask scheduler address, or 'local' for a LocalCluster")
    s.add_argument("--results", help="result store root (default $LOTTERY_THEORY_RESULTS, else ./results)")
    s.add_argument("--json", action="store_true", help="with 'list': emit JSON")


def _add_results(add) -> None:
    r = add("results", "export a result store's rows as one table", cmd_results)
    r.add_argument("action", choices=["export"], help="what to do")
    r.add_argument("experiment", help="experiment name (a folder under the store)")
    r.add_argument("--out", required=True, help="CSV file to write")
    r.add_argument("--results", help="result store root (default $LOTTERY_THEORY_RESULTS, else ./results)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Exception as exc:  # noqa: BLE001
        if args.debug:
            raise
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
