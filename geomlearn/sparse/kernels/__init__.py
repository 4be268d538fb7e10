"""Kernel choice for every op in :mod:`geomlearn.sparse`, in one place.

Two backends implement the same primitives (``gather_reduce``, ``sddmm``, ``additive_scores``,
``additive_scores_backward``, ``gated_sum``, ``gated_sum_target_grad``, ``gated_sum_source_grad``, ``relu_sum``,
``relu_sum_backward``, ``edge_matrix_gather``, ``edge_matrix_gather_backward``, ``segment_softmax``,
``block_gather``, ``block_sddmm``, ``segment_matmul``, ``segment_matmul_weight_grad``, ``coupling_gather``,
``coupling_edges``, ``householder_product``, ``householder_product_backward``, ``reverse_block_product``,
``reverse_block_product_backward``):

* ``"cpu"`` (:mod:`.cpu`): numba-compiled row-parallel loops, deterministic, for CPU tensors;
* ``"triton"`` (:mod:`.gpu`): Triton kernels, for CUDA tensors (and for CPU tensors when
  ``TRITON_INTERPRET=1``, which is how the CPU-only CI checks them).

The backend follows the tensors' device. :func:`use_backend` (or ``$GEOMLEARN_SPARSE_BACKEND``)
forces one, e.g. to run the Triton kernels through the interpreter in tests and benchmarks.
A device no backend serves is an error, never a silent detour.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType

import torch

BACKENDS = ("cpu", "triton")
_forced: list[str] = []


@contextlib.contextmanager
def use_backend(name: str):
    """Run the sparse ops in this block on backend ``name`` (``"cpu"`` or ``"triton"``)."""
    if name not in BACKENDS:
        raise ValueError(f"name: expected one of {BACKENDS}, got {name!r}")
    _forced.append(name)
    try:
        yield
    finally:
        _forced.pop()


def backend_name(device: torch.device) -> str:
    """The backend that runs tensors on ``device``: a forced one, else ``cpu`` for CPU and ``triton`` for CUDA."""
    forced = _forced[-1] if _forced else os.environ.get("GEOMLEARN_SPARSE_BACKEND", "").strip()
    if forced:
        if forced not in BACKENDS:
            raise ValueError(f"GEOMLEARN_SPARSE_BACKEND: expected one of {BACKENDS}, got {forced!r}")
        if forced == "cpu" and device.type != "cpu":
            raise RuntimeError(f"the 'cpu' sparse backend cannot run tensors on device '{device}'")
        if forced == "triton" and device.type == "cpu" and os.environ.get("TRITON_INTERPRET") != "1":
            raise RuntimeError("the 'triton' sparse backend runs CPU tensors only with TRITON_INTERPRET=1")
        return forced
    if device.type == "cpu":
        return "cpu"
    if device.type == "cuda":
        return "triton"
    raise NotImplementedError(f"geomlearn.sparse has no kernels for device '{device}' (CPU and CUDA are supported)")


def backend_for(device: torch.device) -> ModuleType:
    """The kernel module for ``device`` (imported on first use: numba or Triton compile lazily)."""
    if backend_name(device) == "cpu":
        from . import cpu

        return cpu
    from . import gpu

    return gpu
