"""O(3)-equivariant features, spherical harmonics, tensor products and molecular models on :mod:`geomlearn.sparse`.

Features follow e3nn's data model: an ``e3nn.o3.Irreps`` describes ``[..., irreps.dim]``, copies of each irrep
contiguous, values in e3nn's real spherical-harmonic basis, so e3nn models and checkpoints port.

==========================  ==================================================================================
``spherical_harmonics``     real spherical harmonics, any degree (e3nn's values and call); ``SphericalHarmonics``
``wigner_D``                e3nn's Wigner D from Euler angles; ``wigner_D_from_matrix``, ``irreps_D`` from matrices
``TensorProduct``           e3nn's instruction-list Clebsch-Gordan product (all modes); ``FullyConnectedTensorProduct``
``CGTensorProduct``         every coupling in mode ``uvw`` or ``uvu``, refusing outputs no coupling reaches
``TensorProductBase``       the interface of every product (irreps, shared or per-sample weights, batching)
``GridTensorProduct``       Gaunt product by pointwise multiplication on an exact S2 quadrature grid
``GauntTensorProduct``      Gaunt product through 2D Fourier series (Luo et al.)
``SO2Convolution``          eSCN edge convolution: rotate to the edge frame, SO(2) maps over m, rotate back
``EquivariantConv``         edge convolution ``TP(x_j, Y(r_ij); R(|r_ij|))`` with any product, on the backend
``radius_graph``            torch_geometric's radius graph by a cell list; ``periodic_radius_graph`` with cells
``EnergyModel``             molecular energies pooled from atoms (+ atom references), forces by autograd
``TensorNet``               Cartesian rank-2 O(3) message passing (Simeon & De Fabritiis), energies and forces
``InteractionNetwork``      residual gated EquivariantConv layers with any product, energies and forces
``assert_equivariant``      test helper: f(g x) = g f(x) for random rotations and reflections
==========================  ==================================================================================
"""

from .cg_tensor_product import (CGTensorProduct, FullyConnectedTensorProduct, Instruction, InstructionError,
                                TensorProduct)
from .energy_model import EnergyModel
from .equivariant_conv import EquivariantConv, RadialBasis
from .gaunt_tensor_product import GauntTensorProduct
from .grid_tensor_product import GridTensorProduct
from .interaction_network import InteractionNetwork
from .irreps import as_irreps
from .radius_graph import periodic_radius_graph, radius_graph
from .so2_convolution import SO2Convolution
from .spherical_harmonics import SphericalHarmonics, spherical_harmonics
from .tensornet import TensorNet
from .tensor_product import TensorProductBase, coupling_paths
from .testing import assert_equivariant
from .wigner import irreps_D, wigner_D, wigner_D_from_matrix

__all__ = ["CGTensorProduct", "EnergyModel", "EquivariantConv", "FullyConnectedTensorProduct", "GauntTensorProduct",
           "GridTensorProduct", "Instruction", "InstructionError", "InteractionNetwork", "RadialBasis", "SO2Convolution",
           "SphericalHarmonics", "TensorNet", "TensorProduct", "TensorProductBase", "as_irreps", "assert_equivariant",
           "coupling_paths", "irreps_D", "periodic_radius_graph", "radius_graph", "spherical_harmonics", "wigner_D", "wigner_D_from_matrix"]
