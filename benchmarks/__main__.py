"""Command line: ``python -m benchmarks SUITE [--quick] [--out results/SUITE] [--device cpu|cuda]``.

``SUITE`` is a registered suite's name, ``quick`` (every suite, small, one table), ``list``, or ``index`` (write
``OUT/README.md``, the index of the runs under ``OUT``). Long cases write
each finished unit under ``OUT/.checkpoints/SUITE/`` until the suite's results are written; ``--resume`` picks an
interrupted run up from there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from . import suites  # noqa: F401  (suites register themselves on import)
from .checkpoints import Checkpoints
from .registry import SUITES, Context
from .provenance import git_commit
from .report import machine_description, markdown_table, write_results
from .results_index import write_index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("suite", help=f"one of {sorted(SUITES)}, 'quick', 'list' or 'index'")
    parser.add_argument("--quick", action="store_true", help="a small version of the suite")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for JSON, markdown and plots (default: results/SUITE, results/quick for 'quick', "
                             "results for 'index')")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", default="",
                        help="run only the cases whose name contains this text (or one of several separated by |; "
                             "a trailing $ makes an alternative match only at the end of the name)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="seeds or data splits per case, fewer than the protocol's for a partial run "
                             "(suites that honour it record the number they used)")
    parser.add_argument("--full", action="store_true",
                        help="the papers' whole protocol where a suite's default is a shorter run (e.g. QM9's "
                             "110k / 10k split and hours of training)")
    parser.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                        help="wall-clock training budget per model where a suite trains by time (QM9), instead of "
                             "the suite's default")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the units (data splits) that an interrupted run with the same --out and the same "
                             "settings finished; suites that train for hours write each unit as it finishes")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)
    if args.full and args.quick:
        parser.error("--full, --quick: expected at most one of them")
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats: expected an int >= 1, got {args.repeats}")
    if args.budget is not None and not args.budget > 0:
        parser.error(f"--budget: expected seconds > 0, got {args.budget}")

    if args.suite == "list":
        for suite in SUITES.values():
            print(f"{suite.name:12s} {suite.description}")
        return 0
    if args.suite == "index":
        print(f"wrote {write_index(args.out or Path('results'))}", file=sys.stderr)
        return 0
    if args.suite != "quick" and args.suite not in SUITES:
        parser.error(f"SUITE: expected one of {sorted(SUITES) + ['quick', 'list', 'index']}, got {args.suite!r}")

    device = torch.device(args.device)
    commit = git_commit()                    # the code that runs: taken before the suites, however long they take
    quick = args.quick or args.suite == "quick"
    if args.out is None:                     # one folder per suite (and one for quick runs): no run overwrites another
        args.out = Path("results") / ("quick" if args.suite == "quick" else args.suite)
    names = sorted(SUITES) if args.suite == "quick" else [args.suite]
    everything = []
    for name in names:
        suite = SUITES[name]
        ctx = Context(quick=quick, device=device, progress=not args.no_progress, only=args.only, repeats=args.repeats,
                      full=args.full, budget_s=args.budget,
                      checkpoints=Checkpoints(args.out / ".checkpoints" / name, resume=args.resume))
        records = suite.run(ctx)
        path = write_results(name, records, args.out, device, extra=ctx.summary, commit=commit)
        ctx.checkpoints.clear()
        if suite.plot is not None:
            suite.plot(records, args.out)
        print(f"wrote {path} and {args.out / (name + '.json')}", file=sys.stderr)
        everything += records
    print(f"\nMachine: {machine_description(device)}\n")
    print(markdown_table(everything))
    return 0


if __name__ == "__main__":
    sys.exit(main())
