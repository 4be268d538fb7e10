"""The training protocols and the reference-formulation peer that the ``sheaf`` and ``recsys`` suites run."""
