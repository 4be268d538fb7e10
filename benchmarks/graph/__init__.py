"""Training protocols the ``graph`` suite runs: node classification and link prediction."""
