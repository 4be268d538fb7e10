"""O(3)-equivariant tensor products and molecular models on :mod:`geomlearn.sparse` (see README.md)."""
