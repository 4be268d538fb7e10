"""geomlearn's benchmark suites: ``python -m benchmarks SUITE [--quick] [--out results/]``.

Each suite measures geomlearn and its peers in the same process (medians after warm-up, ratios) and
writes ``results/SUITE.json``, ``results/SUITE.md`` and plots. ``python -m benchmarks quick`` runs a
small version of every suite and prints one table.
"""
