"""What every decomposition returns: a factorised tensor that unpacks, converts back and reports its fit."""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from torch import Tensor

from .tensor_network import TensorNetwork


class Decomposition:
    """Base of :class:`CPTensor`, :class:`TuckerTensor`, :class:`~geomlearn.tensor_networks.TTTensor`.

    Attributes:
        errors: the relative reconstruction error :math:`\\|X - \\hat X\\|_F / \\|X\\|_F` after each iteration (on the
            observed entries when a mask or sparse input was given).
    """

    errors: list[float]

    def parts(self) -> tuple:
        """What the object unpacks into (``weights, factors = cp(...)``, ``core, factors = tucker(...)``)."""
        raise NotImplementedError

    def to_tensor(self) -> Tensor:
        """The dense tensor :math:`\\hat X`."""
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in _flatten(self.parts()))

    @property
    def compression_ratio(self) -> float:
        """Parameters held over the dense tensor's entries."""
        return self.num_parameters / math.prod(self.shape)

    def relative_error(self, tensor: Tensor) -> float:
        """:math:`\\|X - \\hat X\\|_F / \\|X\\|_F` against ``tensor``."""
        return float(torch.linalg.vector_norm(tensor - self.to_tensor()) / torch.linalg.vector_norm(tensor))

    def __iter__(self):
        return iter(self.parts())

    def __len__(self) -> int:
        return len(self.parts())

    def __getitem__(self, item):
        return self.parts()[item]

    def plot_errors(self, ax=None):
        """The error per iteration on a log scale (matplotlib); returns the axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5, 3.5))[1]
        ax.semilogy(range(1, len(self.errors) + 1), self.errors, marker=".")
        ax.set(xlabel="iteration", ylabel="relative error", title=type(self).__name__)
        return ax


class CoreSequence(Decomposition):
    """Base of :class:`~geomlearn.tensor_networks.TTTensor` and :class:`~geomlearn.tensor_networks.TRTensor`: ``cores`` ``[R_n, I_n, R_{n+1}]``, bond ``n + 1`` joining
    core ``n`` to core ``n + 1``; a ring (``closed``) joins the last core back to the first. Unpacks as the cores."""

    cores: list[Tensor]
    closed: bool

    def parts(self) -> tuple:
        return tuple(self.cores)

    @property
    def factors(self) -> list[Tensor]:
        """The cores, under TensorLy's name for them."""
        return self.cores

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(core.shape[1] for core in self.cores)

    def to_network(self):
        """The :class:`~geomlearn.tensor_networks.TensorNetwork` view: bond ``b{n}`` between cores ``n - 1`` and ``n`` (a train's end bonds, of
        size 1, are ``b0`` and ``b{N}``; a ring's last bond is ``b0``)."""
        order = len(self.cores)
        period = order if self.closed else order + 1
        legs = {f"core{n}": (f"b{n}", f"i{n}", f"b{(n + 1) % period}") for n in range(order)}
        return TensorNetwork({f"core{n}": c for n, c in enumerate(self.cores)}, legs,
                             tuple(f"i{n}" for n in range(order)))


class Estimator:
    """TensorLy's estimator interface (scikit-learn style): the decomposition's options are set at construction,
    ``fit_transform(tensor)`` returns the decomposition and keeps it as ``decomposition_`` (its errors as
    ``errors_``), ``fit(tensor)`` returns the estimator."""

    rank = None

    def fit_transform(self, tensor: Tensor):
        raise NotImplementedError

    def fit(self, tensor: Tensor) -> "Estimator":
        self.fit_transform(tensor)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__} decomposition of rank {self.rank}."


def _flatten(parts) -> list[Tensor]:
    out = []
    for part in parts:
        out += _flatten(part) if isinstance(part, (list, tuple)) else [part]
    return out


def report(errors: list[float], result: Decomposition, callback: Optional[Callable], tol: float) -> bool:
    """After an iteration: call ``callback(result, error)`` and say whether to stop (the callback returned True,
    or the error changed by less than ``tol``)."""
    if callback is not None and callback(result, errors[-1]) is True:
        return True
    return len(errors) > 1 and abs(errors[-2] - errors[-1]) < tol


def fit_by_imputation(tensor: Tensor, mask: Tensor, fit: Callable[[Tensor], Decomposition], n_iter_max: int,
                      tol: float, callback: Optional[Callable]) -> Decomposition:
    """Missing entries by EM: fit the tensor with its missing entries filled (first with the observed mean, then
    with the previous fit), record the relative error on the observed entries, repeat; stop as :func:`report`
    says. ``fit(filled)`` returns a decomposition of the filled dense tensor."""
    observed_norm = float(torch.linalg.vector_norm(tensor[mask]))
    filled, errors = torch.where(mask, tensor, tensor[mask].mean()), []
    for _ in range(n_iter_max):
        result = fit(filled)
        result.errors = errors
        estimate = result.to_tensor()
        errors.append(float(torch.linalg.vector_norm((tensor - estimate)[mask])) / observed_norm)
        filled = torch.where(mask, tensor, estimate)
        if report(errors, result, callback, tol):
            break
    return result
