"""Message-passing layers and models on :mod:`geomlearn.sparse` (see the roadmap in README.md)."""
