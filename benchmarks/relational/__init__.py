"""Training protocols the ``relational`` suite runs: knowledge-graph link prediction."""
