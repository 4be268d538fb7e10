r"""Fit a tensor network of a given :class:`NetworkStructure` by gradient descent: the evaluation step of structure
search.

The protocol shared by the structure-search papers (Li et al.'s TNGA / TNLS / TnALE): minimise the relative
squared error

.. math::
    \mathrm{RSE} = \frac{\| M \odot (X - \hat X) \|_F^2}{\| M \odot X \|_F^2}

(:math:`M` the mask of observed entries, all ones by default) over the cores with Adam at learning rate
:math:`10^{-3}` for at most 10,000 steps from several random starts, stopping once the RSE is below
:math:`10^{-8}`, and keep the best start. The tensor is scaled to unit mean square first (the RSE does not
change), and a random start draws the entries of every core from :math:`\mathcal N(0, \sigma^2)` with
:math:`\sigma^{2N} \prod_{k<l} R_{kl} = 1`, so the start's entries have unit variance too.

The starts run together as one batch (one contraction with a batch index, one Adam over one flat parameter
vector: Adam acts entry-wise, so this is exactly independent runs). ``init`` warm-starts the first of them from a
fitted network of a neighbouring structure: a bond that grows keeps the old block and starts its new slices at
:math:`10^{-2}\sigma`-sized noise (Hashemizadeh et al.'s weight transfer); a bond that shrinks is cut to its
leading singular directions (the best low-rank approximation of the two cores' product over it).
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from torch import Tensor

from ..argument_checks import check_int
from ._checks import check_mask, check_tensor, generator_for
from .decomposition import Decomposition
from .network_structure import NetworkStructure
from .tensor_network import TensorNetwork


class NetworkTensor(Decomposition):
    """A fitted tensor network: its ``structure``, ``cores`` (of ``structure.core_shape(k)``), the relative error
    ``errors`` (square root of the RSE, every ``check_every`` steps) and ``steps`` taken; unpacks as the cores."""

    def __init__(self, structure: NetworkStructure, cores: list[Tensor], errors: Optional[list[float]] = None,
                 steps: int = 0):
        for k, core in enumerate(cores):
            if tuple(core.shape) != structure.core_shape(k):
                raise ValueError(f"cores: core {k} must have shape {list(structure.core_shape(k))} for {structure}, "
                                 f"got {list(core.shape)}")
        self.structure, self.cores = structure, list(cores)
        self.errors = errors if errors is not None else []
        self.steps = steps

    def parts(self) -> tuple:
        return tuple(self.cores)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.structure.shape

    @property
    def rse(self) -> float:
        """The relative squared error of the fit (on the observed entries)."""
        return self.errors[-1] ** 2 if self.errors else math.nan

    def to_network(self):
        return self.structure.network(self.cores)

    def handed_over(self, core: int, neighbour: int, rank: int) -> "NetworkTensor":
        r"""This network on :meth:`NetworkStructure.handed_over` ``(core, neighbour, rank)``: the two cores contracted
        over their bond into :math:`M` (mode ``core`` first), then split by the truncated SVD of
        :math:`M \in \mathbb R^{I_{core} \times \cdot}`, :math:`U_{:r} S_r^{1/2}` for ``core`` and
        :math:`S_r^{1/2} V_{:r}^\top` for ``neighbour``. Exact when ``rank`` is at least the rank of that unfolding,
        its best rank-``rank`` approximation otherwise; the cores whose bond moved are only relabelled. The result
        is a start (``errors`` empty), not a fit."""
        old, new = self.structure, self.structure.handed_over(core, neighbour, rank)
        leg = NetworkStructure.bond_index

        def relabelled(k: int, structure: NetworkStructure, rename: dict[int, str]) -> tuple[str, ...]:
            return (f"i{k}", *(rename.get(m, leg(k, m)) for m in structure.bonds(k)))

        moved = {m: leg(neighbour, m) for m in old.bonds(core) if m != neighbour}
        split = relabelled(neighbour, new, {})
        kept = [x for x in split if x != leg(core, neighbour)]
        merged = TensorNetwork(
            {"core": self.cores[core], "neighbour": self.cores[neighbour]},
            {"core": relabelled(core, old, {neighbour: "cut", **moved}),
             "neighbour": relabelled(neighbour, old, {core: "cut"})},
            (f"i{core}", *kept)).contract()
        u, s, vh = torch.linalg.svd(merged.reshape(merged.shape[0], -1), full_matrices=False)
        keep = min(rank, s.numel())
        root = s[:keep].sqrt()
        left = merged.new_zeros(merged.shape[0], rank)
        right = merged.new_zeros(rank, vh.shape[1])
        left[:, :keep] = u[:, :keep] * root
        right[:keep] = root[:, None] * vh[:keep]
        cores = list(self.cores)
        cores[core] = left.reshape(new.core_shape(core))
        right = right.reshape(rank, *merged.shape[1:])
        cores[neighbour] = right.movedim(0, split.index(leg(core, neighbour))) if rank > 1 else right[0]
        for m in moved:
            before = relabelled(m, old, {core: leg(neighbour, m)})
            cores[m] = self.cores[m].permute([before.index(x) for x in relabelled(m, new, {})])
        return NetworkTensor(new, cores)

    def to_tensor(self) -> Tensor:
        return self.to_network().contract()

    def __repr__(self) -> str:
        return f"NetworkTensor({self.structure}, rse={self.rse:.3g}, steps={self.steps})"


def fit_network(tensor: Tensor, structure: NetworkStructure, *, mask: Optional[Tensor] = None, lr: float = 1e-3,
                max_steps: int = 10_000, restarts: int = 2, tol: float = 1e-8, patience: Optional[int] = None,
                init: Optional[NetworkTensor] = None, check_every: int = 50, random_state=None,
                callback: Optional[Callable] = None) -> NetworkTensor:
    """Fit ``structure`` to ``tensor`` with Adam (the protocol above); returns the best start.

    Args:
        tensor: dense, floating point, of ``structure.shape``.
        mask: observed entries (True / 1), or None.
        lr, max_steps, restarts, tol: Adam's learning rate, the step budget, the number of starts, and the RSE
            at which to stop.
        patience: also stop when the best RSE has fallen by less than 5 % over this many steps (None: only
            ``tol`` and ``max_steps`` stop the fit, the protocol as published).
        init: a fitted :class:`NetworkTensor` of the same shape to warm-start the first start from.
        check_every: steps between checks of the stopping rules (the errors are recorded then).
        random_state: int seed, ``torch.Generator`` or None.
        callback: ``callback(step, rse)`` at every check; returning True stops the fit.

    Raises:
        ValueError: a tensor whose shape is not the structure's, a bad mask, or bad step / restart counts.
    """
    tensor = check_tensor(tensor)
    if tensor.is_complex():
        raise TypeError(f"tensor: fit_network takes a real tensor, got {tensor.dtype}")
    if tuple(tensor.shape) != structure.shape:
        raise ValueError(f"tensor: expected the structure's shape {list(structure.shape)}, got {list(tensor.shape)}")
    mask = check_mask(mask, tensor)
    for name, value in (("max_steps", max_steps), ("restarts", restarts), ("check_every", check_every)):
        check_int(name, value)
    check_int("patience", patience, optional=True)
    if init is not None and init.shape != structure.shape:
        raise ValueError(f"init: expected a fit of shape {list(structure.shape)}, got {list(init.shape)}")

    weight = torch.ones_like(tensor) if mask is None else mask.to(tensor.dtype)
    scale = torch.sqrt((weight * tensor).square().sum() / weight.sum())
    if scale == 0:
        raise ValueError("tensor: the (observed) entries are all zero; there is nothing to fit")
    target = tensor / scale
    target_norm = (weight * target).square().sum()

    generator = generator_for(random_state, tensor.device)
    shapes = [structure.core_shape(k) for k in range(structure.order)]
    sizes = [math.prod(s) for s in shapes]
    sigma = math.prod(structure.rank(k, l) for k, l in structure.edges) ** (-1 / (2 * structure.order))
    flat = sigma * torch.randn(restarts, sum(sizes), generator=generator, dtype=tensor.dtype, device=tensor.device)
    if init is not None:
        flat[0] = _transferred(init, structure, 1 / scale, sizes, flat[0] * 1e-2)
    flat.requires_grad_(True)
    contract = structure.network(_cores(flat, shapes, sizes), batch=True).contraction()
    optimizer = torch.optim.Adam([flat], lr=lr)

    errors, since = [], (0, math.inf)
    for step in range(1, max_steps + 1):
        residual = contract(*_cores(flat, shapes, sizes)) - target
        rse = (weight * residual.square()).flatten(1).sum(1) / target_norm
        if step % check_every == 0 or step == max_steps:
            current = float(rse.detach().min())
            errors.append(math.sqrt(current))
            if current < tol or step == max_steps or (callback is not None and callback(step, current) is True):
                break
            if patience is not None and step - since[0] >= patience:
                if current > 0.95 * since[1]:
                    break
                since = (step, current)
        optimizer.zero_grad(set_to_none=True)
        rse.sum().backward()
        optimizer.step()

    with torch.no_grad():
        winner = flat[int(rse.argmin())].detach().clone()
    cores = [core[0] for core in _cores(winner.unsqueeze(0), shapes, sizes)]
    cores[0] = cores[0] * scale
    return NetworkTensor(structure, cores, errors, step)


def _cores(flat: Tensor, shapes: list[tuple[int, ...]], sizes: list[int]) -> list[Tensor]:
    """Views of the ``[B, total]`` parameter vector as the ``[B, *shape_k]`` cores."""
    return [piece.view(flat.shape[0], *shape) for piece, shape in zip(flat.split(sizes, dim=1), shapes)]


def _transferred(init: NetworkTensor, structure: NetworkStructure, rescale: float, sizes: list[int],
                 noise: Tensor) -> Tensor:
    """The flat start for ``structure`` from ``init``'s cores (core 0 times ``rescale``): a bond that shrinks is
    truncated by :func:`_truncate_bond`, a bond that grows keeps the old block and ``noise`` in the new slices (a
    new bond carries the old core on its first slice)."""
    cores = [core.detach().clone() for core in init.cores]
    cores[0] = cores[0] * rescale
    for k, l in init.structure.edges:
        if structure.rank(k, l) < init.structure.rank(k, l):
            _truncate_bond(cores, init.structure, k, l, structure.rank(k, l))
    out = []
    for k, piece in enumerate(noise.split(sizes)):
        new = piece.view(structure.core_shape(k)).clone()
        old_bonds, new_bonds = init.structure.bonds(k), structure.bonds(k)
        old = cores[k][(slice(None), *(slice(None) if l in new_bonds else 0 for l in old_bonds))]
        kept = [l for l in old_bonds if l in new_bonds]
        old = old.reshape(old.shape[0], *(old.shape[1 + kept.index(l)] if l in kept else 1 for l in new_bonds))
        region = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, new.shape))
        new[region] = old[region].to(new.dtype)
        out.append(new.flatten())
    return torch.cat(out)


def _truncate_bond(cores: list[Tensor], structure: NetworkStructure, k: int, l: int, rank: int) -> None:
    r"""Cut the bond ``k - l`` of ``cores`` (laid out for ``structure``) to its leading ``rank`` singular directions,
    in place: with :math:`A` core ``k`` unfolded with the bond last and :math:`B` core ``l`` with the bond first,
    :math:`A = Q_A R_A`, :math:`B^\top = Q_B R_B`, :math:`R_A R_B^\top = U S V^\top`, the new cores are
    :math:`Q_A U_{:r} S_r^{1/2}` and :math:`S_r^{1/2} V_{:r}^\top Q_B^\top`: the best rank-``rank`` approximation of
    the two cores' product over the bond. The bond keeps its place (a cut to rank 1 leaves a dimension of size 1)."""
    axis_k, axis_l = structure.bonds(k).index(l) + 1, structure.bonds(l).index(k) + 1
    a, b = cores[k].movedim(axis_k, -1), cores[l].movedim(axis_l, 0)
    q_a, r_a = torch.linalg.qr(a.reshape(-1, a.shape[-1]))
    q_b, r_b = torch.linalg.qr(b.reshape(b.shape[0], -1).T)
    u, s, vh = torch.linalg.svd(r_a @ r_b.T)
    keep = min(rank, s.numel())
    root = s[:keep].sqrt()
    left = torch.zeros(q_a.shape[0], rank, dtype=a.dtype, device=a.device)
    right = torch.zeros(rank, q_b.shape[0], dtype=a.dtype, device=a.device)
    left[:, :keep] = q_a @ (u[:, :keep] * root)
    right[:keep] = (root[:, None] * vh[:keep]) @ q_b.T
    cores[k] = left.reshape(*a.shape[:-1], rank).movedim(-1, axis_k)
    cores[l] = right.reshape(rank, *b.shape[1:]).movedim(0, axis_l)
