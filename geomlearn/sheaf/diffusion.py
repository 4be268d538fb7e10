r"""The discrete sheaf diffusion network shared by NSD, Connection NSD and the identity-sheaf baseline.

An encoder lifts node features to stalks, ``[N, F] -> [N, D, C]``; each layer ``t`` takes one step of
sheaf diffusion with learned channel mixing,

.. math::
    X_{t+1} = (1 + \tanh \varepsilon_t) \odot X_t - \sigma\big(\Delta_{\mathcal F(t)} (I_N \otimes W^{(t)}_1) X_t W^{(t)}_2\big),

(:math:`W_1 \in \mathbb R^{D \times D}` mixes stalk coordinates, :math:`W_2 \in \mathbb R^{C \times C}`
channels, :math:`\varepsilon_t \in \mathbb R^D` per coordinate, :math:`\sigma` the ELU) and a linear decoder
reads ``[N, D C] -> [N, out]``. Subclasses say where the ``d``-dimensional sheaf of each step comes
from (:meth:`SheafDiffusion.laplacian`); the base class adds NSD's fixed low-pass / high-pass stalk
coordinates as a direct sum, :math:`D = d + k`.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..argument_checks import check_int, check_probability
from ..feature_dropout import feature_dropout
from ..sparse.graph_input import Graph, as_sparse_index
from ..sparse import SparseIndex
from .laplacian import DirectSumLaplacian, SheafLaplacian, direct_sum, sheaf_laplacian
from .restriction_maps import fixed_channel_maps


class SheafDiffusion(torch.nn.Module):
    r"""Base class: encoder, ``num_layers`` diffusion steps, decoder.

    Args:
        in_channels: input features per node.
        hidden_channels: :math:`C`, channels per stalk coordinate.
        out_channels: outputs per node (classes).
        d: stalk dimension of the sheaf the subclass provides.
        num_layers: diffusion steps.
        low_pass, high_pass: fixed graph-Laplacian (:math:`D - A`) / signless-Laplacian (:math:`D + A`)
            coordinates beside the sheaf (:func:`~geomlearn.sheaf.fixed_channel_maps`; NSD's ``add_hp`` /
            ``add_lp``, whose names its code swaps).
        dropout: dropout on the hidden features before every step (and after the encoder).
        input_dropout: dropout on the input features.
        left_weights, right_weights: learn :math:`W_1` (initialised to the identity) and :math:`W_2`
            (orthogonal initialisation); without them the step is pure diffusion.
        use_act: ELU after the encoder and on each diffusion update.
        second_linear: a second linear encoder layer.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, d: int = 2, num_layers: int = 2,
                 dropout: float = 0.0, input_dropout: float = 0.0, low_pass: bool = False, high_pass: bool = False,
                 left_weights: bool = True, right_weights: bool = True, use_act: bool = True,
                 second_linear: bool = False):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("hidden_channels", hidden_channels),
                            ("out_channels", out_channels), ("d", d), ("num_layers", num_layers)):
            check_int(name, value)
        check_probability("dropout", dropout)
        check_probability("input_dropout", input_dropout)
        self.in_channels, self.hidden_channels, self.out_channels = in_channels, hidden_channels, out_channels
        self.d, self.low_pass, self.high_pass = d, low_pass, high_pass
        self.stalk_dim, self.num_layers = d + int(low_pass) + int(high_pass), num_layers
        self.dropout, self.input_dropout, self.use_act = dropout, input_dropout, use_act
        width = self.stalk_dim * hidden_channels
        self.lin1 = torch.nn.Linear(in_channels, width)
        self.lin12 = torch.nn.Linear(width, width) if second_linear else None
        self.lin2 = torch.nn.Linear(width, out_channels)
        self.left = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.eye(self.stalk_dim)) for _ in range(num_layers)] if left_weights else [])
        self.right = torch.nn.ModuleList(
            [torch.nn.Linear(hidden_channels, hidden_channels, bias=False) for _ in range(num_layers)]
            if right_weights else [])
        for lin in self.right:
            torch.nn.init.orthogonal_(lin.weight)
        self.epsilons = torch.nn.Parameter(torch.zeros(num_layers, self.stalk_dim, 1))

    def laplacian(self, layer: int, x: Tensor, h: Tensor, index: SparseIndex,
                  previous: Optional[SheafLaplacian]) -> SheafLaplacian:
        """The ``d``-dimensional sheaf Laplacian of step ``layer``, from the input features ``x [N, F]`` and/or
        the stalk features ``h [N, D, C]`` entering the step; ``previous`` is the last step's (``None`` at
        the first)."""
        raise NotImplementedError

    def fixed_channels(self, index: SparseIndex, dtype: torch.dtype) -> Optional[SheafLaplacian]:
        """The Laplacian of the fixed coordinates, ``None`` without any."""
        if not (self.low_pass or self.high_pass):
            return None
        maps = fixed_channel_maps(index.src, index.dst, self.low_pass, self.high_pass, dtype)
        return sheaf_laplacian(index, maps, eps=1.0)

    def encode(self, x: Tensor) -> Tensor:
        """``[N, F] -> [N, D, C]`` (``x`` dense or sparse)."""
        h = self.lin1(feature_dropout(x, self.input_dropout, self.training))
        if self.use_act:
            h = F.elu(h)
        h = F.dropout(h, self.dropout, self.training)
        if self.lin12 is not None:
            h = self.lin12(h)
        return h.view(x.shape[0], self.stalk_dim, self.hidden_channels)

    def step(self, layer: int, h: Tensor, laplacian: SheafLaplacian | DirectSumLaplacian) -> Tensor:
        """One diffusion step ``X_t -> X_{t+1}``."""
        update = F.dropout(h, self.dropout, self.training)
        if len(self.left):
            update = torch.matmul(self.left[layer], update)
        if len(self.right):
            update = self.right[layer](update)
        update = laplacian(update)
        if self.use_act:
            update = F.elu(update)
        return (1 + torch.tanh(self.epsilons[layer])) * h - update

    def forward(self, x: Tensor, edge_index: Graph) -> Tensor:
        """Logits ``[N, out_channels]`` for node features ``x [N, in_channels]`` on a symmetric graph; ``x`` may be
        a sparse COO or CSR tensor (bag-of-words features: the encoder is then a sparse matmul and input
        dropout draws only for the stored values, :func:`~geomlearn.gnn.feature_dropout`)."""
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.in_channels:
            shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x: expected node features [N, {self.in_channels}], got {shape}")
        index, _ = as_sparse_index(edge_index, x.shape[0])
        h, laplacian = self.encode(x), None
        fixed = self.fixed_channels(index, h.dtype)
        for layer in range(self.num_layers):
            laplacian = self.laplacian(layer, x, h, index, laplacian)
            h = self.step(layer, h, laplacian if fixed is None else direct_sum(laplacian, fixed))
        return self.lin2(h.reshape(x.shape[0], -1))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.hidden_channels}, {self.out_channels}, d={self.d}, "
                f"num_layers={self.num_layers}, low_pass={self.low_pass}, high_pass={self.high_pass}")
