"""The one index structure every sparse op runs on.

A :class:`SparseIndex` stands for the sparsity pattern of an operator ``A`` of shape
``(num_dst, num_src)`` given in torch_geometric's ``edge_index`` layout: edge ``e = (j -> i)`` is the
column ``edge_index[:, e] = (j, i)`` (row 0 the source, row 1 the target) and the non-zero ``A[i, j]``.
The ops in :mod:`geomlearn.sparse` compute ``out = A x`` and its relatives; per-edge tensors
(weights, scores, blocks) are always given and returned in the *original* edge order.

The index is validated once, at construction, and owns what it validated: it keeps a private copy of
``edge_index`` (so the caller's tensor may be edited freely afterwards), and every tensor it holds or caches
is sealed with its version counter. An in-place edit of one of them (``index.edge_index[0, 0] = 7``,
``index.csr().idx.zero_()``) is caught at the next access with :class:`IndexModifiedError`, before any kernel
reads it: a ``SparseIndex`` is immutable; build a new one from an edited ``edge_index``. (Writes that bypass
torch's version counter, through ``.data``, ``.numpy()`` or a ``DLPack`` export, cannot be seen; the CPU
kernels still check every index they dereference, so such a write gives an error, never a wild read.)

Two compressed layouts are built lazily and cached:

* CSR, edges grouped by target: ``ptr[i]:ptr[i+1]`` are the positions of the edges into ``i``, ``idx``
  holds their sources and ``eid`` their original edge numbers. The forward kernels walk it, one
  target row per thread, so every reduction is deterministic and free of atomics.
* CSC, edges grouped by source, the CSR of ``A^T``: the backward kernels walk it.

Node ids are stored as ``int32`` whenever both node counts fit (``index_dtype``), positions (the CSR / CSC offsets
and edge ids) as ``int32`` whenever ``E`` fits (``position_dtype``), ``int64`` otherwise: a graph of more than
``2**31`` edges keeps int64 offsets and int32 node ids.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import Tensor

from ..argument_checks import is_int

_INT32_MAX = torch.iinfo(torch.int32).max
_INT64_MAX = torch.iinfo(torch.int64).max


class IndexModifiedError(RuntimeError):
    """A tensor that a :class:`SparseIndex` (or a :class:`~geomlearn.sparse.Couplings` table) validated and
    sealed was modified in place afterwards, or a layout handed to a kernel points outside its range."""

    @classmethod
    def in_layout(cls, kernel: str, problems: list[str]) -> "IndexModifiedError":
        """The error a kernel's index check raises, for the arrays named in ``problems``."""
        return cls(f"{kernel}: its sparse layout no longer holds what its SparseIndex validated: "
                   f"{', '.join(problems)}; nothing was read through it. A layout tensor was written behind its "
                   f"version counter (through .data or .numpy()), or handed to a torch.ops.geomlearn op unchecked")


class Sealed:
    """Tensors an object validated, each with the version counter it had then.

    :meth:`check` raises :class:`IndexModifiedError` if any of them was modified in place since (every
    in-place torch op bumps a tensor's version). Under ``torch.compile`` the check is skipped while tracing
    (a compiled graph cannot branch on a version counter); the kernels' own range checks still hold there.
    """

    def __init__(self, owner: str):
        self.owner = owner
        self._tensors: list[tuple[str, Tensor, int]] = []

    def add(self, name: str, *tensors: Tensor) -> None:
        if torch.compiler.is_compiling():    # a layout built inside a compiled region is not sealed
            return
        for tensor in tensors:
            self._tensors.append((name, tensor, tensor._version))

    def __getstate__(self) -> dict:
        return {"owner": self.owner, "tensors": [(name, tensor) for name, tensor, _ in self._tensors]}

    def __setstate__(self, state: dict) -> None:
        # A tensor sent to another process (a loader's worker) arrives with a fresh version counter: the seal is
        # taken again on the tensors as they arrive.
        self.owner, self._tensors = state["owner"], []
        for name, tensor in state["tensors"]:
            self.add(name, tensor)

    def check(self) -> None:
        if torch.compiler.is_compiling():
            return
        for name, tensor, version in self._tensors:
            if tensor._version != version:
                raise IndexModifiedError(
                    f"{self.owner}: its {name} tensor was modified in place after it was validated (version "
                    f"{version}, now {tensor._version}); a {self.owner} is immutable: build a new one from the "
                    f"edited tensors"
                )


class CompressedIndex(NamedTuple):
    """A compressed sparse layout: rows ``ptr [R + 1]``, per-position column ``idx [E]`` and original
    edge number ``eid [E]`` (positions sorted by row, stably)."""

    ptr: Tensor
    idx: Tensor
    eid: Tensor


def _parse_num_nodes(num_nodes, edge_index: Tensor) -> tuple[int, int]:
    if num_nodes is None:
        if edge_index.numel() == 0:
            return 0, 0
        n = int(edge_index.max()) + 1
        return n, n
    if isinstance(num_nodes, (tuple, list)):
        if len(num_nodes) != 2:
            raise ValueError(
                f"num_nodes: expected an int or a pair (num_src, num_dst), got a sequence of "
                f"length {len(num_nodes)}: {num_nodes!r}"
            )
        sizes = tuple(num_nodes)
    else:
        sizes = (num_nodes, num_nodes)
    for name, value in zip(("num_src", "num_dst"), sizes):
        if not is_int(value):
            raise TypeError(f"num_nodes: expected int sizes, got {name}={value!r} ({type(value).__name__})")
        if value < 0:
            raise ValueError(f"num_nodes: sizes must be >= 0, got {name}={value}")
    return sizes[0], sizes[1]


def _validate_edge_index(edge_index) -> Tensor:
    if not isinstance(edge_index, Tensor):
        raise TypeError(f"edge_index: expected a torch.Tensor of shape [2, E], got {type(edge_index).__name__}")
    if edge_index.dtype not in (torch.int32, torch.int64, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"edge_index: expected an integer dtype (int32 or int64), got {edge_index.dtype}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index: expected shape [2, E], got {list(edge_index.shape)}")
    if edge_index.numel() and int(edge_index.min()) < 0:
        col = int((edge_index < 0).any(0).nonzero()[0])
        raise ValueError(
            f"edge_index: indices must be >= 0, got {edge_index[:, col].tolist()} at column {col}"
        )
    return edge_index


class SparseIndex:
    """Sparsity pattern of ``A [num_dst, num_src]`` from an ``edge_index [2, E]`` (row 0 source, row 1 target).

    Args:
        edge_index: integer tensor ``[2, E]``; column ``e`` is the edge ``edge_index[0, e] -> edge_index[1, e]``.
            Self loops and duplicate edges are kept as given (a duplicate counts twice in a sum).
        num_nodes: ``int`` for a graph on ``num_nodes`` nodes, ``(num_src, num_dst)`` for a bipartite
            graph, or ``None`` to take ``edge_index.max() + 1``.

    Raises:
        TypeError: ``edge_index`` is not an integer tensor, or ``num_nodes`` is not an int or a pair of ints.
        ValueError: ``edge_index`` is not ``[2, E]``, holds a negative index, or an index ``>= num_nodes``.

    Example::

        >>> index = SparseIndex(torch.tensor([[0, 1, 1], [1, 0, 2]]), num_nodes=3)
        >>> index.shape          # (num_dst, num_src)
        (3, 3)
        >>> index.in_degree()
        tensor([1, 1, 1])
    """

    def __init__(self, edge_index: Tensor, num_nodes: int | tuple[int, int] | None = None):
        edge_index = _validate_edge_index(edge_index)
        num_src, num_dst = _parse_num_nodes(num_nodes, edge_index)
        if edge_index.numel():
            for row, name, size in ((0, "source", num_src), (1, "target", num_dst)):
                bad = edge_index[row] >= size
                if bool(bad.any()):
                    col = int(bad.nonzero()[0])
                    raise ValueError(
                        f"edge_index: {name} index {int(edge_index[row, col])} at column {col} is out of "
                        f"range for num_nodes={num_nodes!r} ({name} nodes 0..{size - 1})"
                    )
        self._init_checked(edge_index, num_src, num_dst)

    def _init_checked(self, edge_index: Tensor, num_src: int, num_dst: int, owned: bool = False) -> None:
        """Keep ``edge_index`` (a private copy unless ``owned``: built by this package, referenced nowhere else)."""
        self.index_dtype = torch.int32 if max(num_src, num_dst) < _INT32_MAX else torch.int64       # node ids
        self.position_dtype = torch.int32 if edge_index.shape[1] < _INT32_MAX else torch.int64   # offsets, edge ids
        self._edge_index = edge_index.to(self.index_dtype, copy=not owned).contiguous()
        self.num_src = num_src
        self.num_dst = num_dst
        self._sealed = Sealed("SparseIndex")
        self._sealed.add("edge_index", self._edge_index)
        self._csr: CompressedIndex | None = None
        self._csc: CompressedIndex | None = None
        self._self_loops: tuple[SparseIndex, Tensor, Tensor] | None = None
        self._edge_keys: tuple[Tensor, Tensor] | None = None
        self._reverse: Tensor | None = None          # set by sparse.reverse_edges through cache_reverse()
        self._transpose: SparseIndex | None = None   # set by t()

    @classmethod
    def _trusted(cls, edge_index: Tensor, num_src: int, num_dst: int) -> "SparseIndex":
        """An index from an ``edge_index`` this package built itself from validated data and hands over (no
        checks, no copy: the caller keeps no reference to it)."""
        out = cls.__new__(cls)
        out._init_checked(edge_index, num_src, num_dst, owned=True)
        return out

    @classmethod
    def _trusted_csr(cls, ptr: Tensor, edge_index: Tensor, num_src: int, num_dst: int) -> "SparseIndex":
        """An index whose edges this package produced or read already grouped by target (a sampler's output, a
        graph store): ``edge_index [2, E]`` in CSR order with row starts ``ptr [num_dst + 1]``. Its CSR is those
        tensors as they are (the identity edge order), with no check, no sort and, in the index's dtype, no copy (a
        memory-mapped store stays mapped)."""
        out = cls._trusted(edge_index, num_src, num_dst)
        out._csr = CompressedIndex(ptr.to(out.position_dtype), out._edge_index[0],
                                   torch.arange(out.num_edges, dtype=out.position_dtype, device=out.device))
        out._sealed.add("compressed layout", *out._csr)
        return out

    def check_intact(self) -> None:
        """Raise :class:`IndexModifiedError` if a tensor of this index was modified in place since it was
        validated (every accessor and every sparse op calls this first)."""
        self._sealed.check()

    # ------------------------------------------------------------------ sizes
    @property
    def num_edges(self) -> int:
        return self._edge_index.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        """``(num_dst, num_src)``: the shape of the operator ``A`` that ``spmm`` applies."""
        return self.num_dst, self.num_src

    @property
    def device(self) -> torch.device:
        return self._edge_index.device

    @property
    def edge_index(self) -> Tensor:
        """The validated ``[2, E]`` edges (the index's own copy, in ``index_dtype``). Read it, do not edit it:
        an in-place edit makes every later use of the index raise :class:`IndexModifiedError`."""
        self.check_intact()
        return self._edge_index

    @property
    def src(self) -> Tensor:
        """Source of each edge, ``[E]``, in the original order."""
        return self.edge_index[0]

    @property
    def dst(self) -> Tensor:
        """Target of each edge, ``[E]``, in the original order."""
        return self.edge_index[1]

    def __repr__(self) -> str:
        return (
            f"SparseIndex(num_src={self.num_src}, num_dst={self.num_dst}, num_edges={self.num_edges}, "
            f"dtype={self.index_dtype}, device={self.device})"
        )

    # --------------------------------------------------------- compressed views
    def _compress(self, rows: Tensor, cols: Tensor, num_rows: int) -> CompressedIndex:
        # Static shapes only (argsort, then searchsorted for the row starts), so the layout can also be
        # built inside a torch.compile'd region.
        order = torch.argsort(rows, stable=True)
        boundaries = torch.arange(num_rows + 1, device=rows.device, dtype=rows.dtype)
        ptr = torch.searchsorted(rows[order], boundaries)
        layout = CompressedIndex(ptr.to(self.position_dtype), cols[order].to(self.index_dtype).contiguous(),
                                 order.to(self.position_dtype))
        self._sealed.add("compressed layout", *layout)
        return layout

    def csr(self) -> CompressedIndex:
        """Edges grouped by target (rows of ``A``): ``ptr [num_dst + 1]``, sources ``idx [E]``, edge ids ``eid [E]``."""
        self.check_intact()
        if self._csr is None:
            self._csr = self._compress(self._edge_index[1], self._edge_index[0], self.num_dst)
        return self._csr

    def csc(self) -> CompressedIndex:
        """Edges grouped by source (rows of ``A^T``): ``ptr [num_src + 1]``, targets ``idx [E]``, edge ids ``eid [E]``."""
        self.check_intact()
        if self._csc is None:
            self._csc = self._compress(self._edge_index[0], self._edge_index[1], self.num_src)
        return self._csc

    def in_degree(self) -> Tensor:
        """Number of edges into each target, ``[num_dst]`` (duplicates and self loops count)."""
        ptr = self.csr().ptr
        return (ptr[1:] - ptr[:-1]).to(torch.int64)

    def out_degree(self) -> Tensor:
        """Number of edges out of each source, ``[num_src]``."""
        ptr = self.csc().ptr
        return (ptr[1:] - ptr[:-1]).to(torch.int64)

    def sorted_edge_keys(self) -> "tuple[Tensor, Tensor]":
        """``(keys, order)``: the keys ``dst * num_src + src`` of all edges in ascending order (int64) and the
        edge ids in that order; computed once and cached. Equal neighbouring keys are duplicate edges.

        Raises:
            ValueError: ``num_src * num_dst`` exceeds ``2**63``, so the keys would overflow int64.
        """
        self.check_intact()
        if self._edge_keys is None:
            if self.num_src * self.num_dst > _INT64_MAX + 1:
                raise ValueError(
                    f"index: edge keys dst * num_src + src need num_src * num_dst <= 2**63, got num_src="
                    f"{self.num_src}, num_dst={self.num_dst}; renumber the nodes to a smaller range first"
                )
            keys = self._edge_index[1].long() * self.num_src + self._edge_index[0].long()
            order = torch.argsort(keys)
            self._edge_keys = (keys[order], order)
            self._sealed.add("sorted edge keys", *self._edge_keys)
        return self._edge_keys

    def find_edges(self, src: Tensor, dst: Tensor) -> "tuple[Tensor, Tensor]":
        """For each query pair ``src[q] -> dst[q]``: the id of such an edge (one of them when duplicated) and
        whether one exists, by binary search in :meth:`sorted_edge_keys`, ``O(Q log E)``.

        Args:
            src: integer source ids ``[Q]`` in ``0..num_src - 1``.
            dst: integer target ids ``[Q]`` in ``0..num_dst - 1``.

        Returns:
            ``(edge [Q], found [Q])``; ``edge`` is meaningless where ``found`` is false.

        Raises:
            TypeError, ValueError: ``src`` / ``dst`` are not integer tensors of one shape ``[Q]`` on the index's
                device, or hold an id outside the node range.
        """
        for name, ids, size in (("src", src, self.num_src), ("dst", dst, self.num_dst)):
            if not isinstance(ids, Tensor) or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
                raise TypeError(f"{name}: expected an integer tensor [Q] of node ids, got "
                                f"{ids.dtype if isinstance(ids, Tensor) else type(ids).__name__}")
            if ids.dim() != 1 or ids.shape != src.shape:
                raise ValueError(f"{name}: expected shape [Q] (one id per query, like src {list(src.shape)}), got "
                                 f"{list(ids.shape)}")
            if ids.device != self.device:
                raise ValueError(f"{name}: expected a tensor on the index's device {self.device}, got {ids.device}")
            if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= size):
                raise ValueError(f"{name}: expected node ids in 0..{size - 1}, got values in "
                                 f"{int(ids.min())}..{int(ids.max())}")
        keys, order = self.sorted_edge_keys()
        query = dst.long() * self.num_src + src.long()
        if keys.numel() == 0:
            return torch.zeros_like(query), torch.zeros_like(query, dtype=torch.bool)
        position = torch.searchsorted(keys, query).clamp(max=keys.numel() - 1)
        return order[position], keys[position] == query

    def with_self_loops(self) -> "tuple[SparseIndex, Tensor, Tensor]":
        """The graph with exactly one self loop per node: the edges that are not self loops and the loops
        ``i -> i``, sorted by target (stably, so each target's edges keep their order and its loop comes
        last); computed once and cached. On a bipartite graph the loops join the first
        ``min(num_src, num_dst)`` sources and targets (torch_geometric's convention in ``GATConv``).

        Sorting by target makes the new graph's CSR the identity permutation: every per-edge tensor of the
        looped graph (normalised weights, attention scores) is then read and written sequentially by the
        forward kernels.

        Returns:
            ``(index, kept, order)``: the new index (``E' = E - #loops + N`` edges); ``kept [E]`` (bool), true for
            the original edges carried over; ``order [E']``, the permutation that sorts. Per-edge values
            follow as ``cat([values[kept], loop_values])[order]``, where the old loops' values are
            ``values[~kept]`` at nodes ``src[~kept]``.
        """
        self.check_intact()
        if self._self_loops is None:
            kept = self._edge_index[0] != self._edge_index[1]
            loops = torch.arange(min(self.num_src, self.num_dst), device=self.device, dtype=self.index_dtype)
            edge_index = torch.cat([self._edge_index[:, kept], torch.stack([loops, loops])], dim=1)
            order = torch.argsort(edge_index[1], stable=True)
            looped = SparseIndex._trusted(edge_index[:, order], self.num_src, self.num_dst)
            identity = torch.arange(looped.num_edges, device=self.device)
            all_kept = torch.ones(looped.num_edges, dtype=torch.bool, device=self.device)
            looped._self_loops = (looped, all_kept, identity)
            looped._sealed.add("self-loop permutation", all_kept, identity)
            self._self_loops = (looped, kept, order)
            self._sealed.add("self-loop permutation", kept, order)
        return self._self_loops

    def cache_reverse(self, reverse: Tensor) -> None:
        """Keep ``reverse [E]`` (each edge's reverse, from :func:`geomlearn.sparse.reverse_edges`, which checked
        it) with the index, sealed like its layouts."""
        self._reverse = reverse
        self._sealed.add("reverse edges", reverse)

    def t(self) -> "SparseIndex":
        """The reversed graph (edges ``i -> j``), i.e. the pattern of ``A^T``; shares the layouts cached so far.
        Computed once and cached (``index.t().t() is index``), so layouts it builds later are kept too."""
        self.check_intact()
        if self._transpose is None:
            out = SparseIndex._trusted(self._edge_index.flip(0), self.num_dst, self.num_src)
            out._csr, out._csc = self._csc, self._csr
            for layout in (out._csr, out._csc):
                if layout is not None:
                    out._sealed.add("compressed layout", *layout)
            if self._reverse is not None:             # the reverse of e's transpose is rev[e]'s transpose
                out.cache_reverse(self._reverse)
            out._transpose, self._transpose = self, out
        return self._transpose

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "SparseIndex":
        """A copy on ``device`` (the cached layouts move with it). The signature of ``Tensor.to``'s device form, so a
        torch_geometric ``Data`` that holds an index (a mini-batch's blocks) moves it with ``data.to(device)``."""
        return self._copied(lambda t: t.to(device, non_blocking=non_blocking, copy=True))

    def pin_memory(self) -> "SparseIndex":
        """A copy in page-locked memory (for an asynchronous transfer to a GPU; ``Data.pin_memory`` calls it)."""
        return self._copied(lambda t: t.pin_memory())

    def share_memory_(self) -> "SparseIndex":
        """Move the index's tensors to shared memory, in place: worker processes that receive the index (a
        loader's sampler) then map the same pages instead of copying the graph."""
        self.check_intact()
        for tensor in (self._edge_index, *(self._csr or ()), *(self._csc or ())):
            tensor.share_memory_()
        return self

    def _copied(self, copy) -> "SparseIndex":
        self.check_intact()
        out = SparseIndex._trusted(copy(self._edge_index), self.num_src, self.num_dst)
        for name in ("_csr", "_csc"):
            layout = getattr(self, name)
            if layout is not None:
                moved = CompressedIndex(*(copy(t) for t in layout))
                out._sealed.add("compressed layout", *moved)
                setattr(out, name, moved)
        if self._reverse is not None:
            out.cache_reverse(copy(self._reverse))
        return out

    # ------------------------------------------------------------- constructors
    @classmethod
    def from_data(cls, data) -> "SparseIndex":
        """From a torch_geometric ``Data`` (its ``edge_index`` and ``num_nodes``)."""
        if getattr(data, "edge_index", None) is None:
            raise ValueError(f"data: expected a torch_geometric Data with an edge_index, got {data!r}")
        return cls(data.edge_index, num_nodes=int(data.num_nodes))

    @classmethod
    def from_targets(cls, index: Tensor, num_targets: Optional[int] = None) -> "SparseIndex":
        """The graph that sends position ``e`` to target ``index[e]``: per-edge values ``[E, ...]`` reduce into
        their targets through it (torch_geometric's ``scatter(src, index, dim_size=...)`` contract).

        Args:
            index: ``[E]`` target of every value.
            num_targets: the number of targets; ``index.max() + 1`` when ``None``.

        Raises:
            TypeError: ``index`` is not an integer tensor.
            ValueError: a target is out of range (named with its position).
        """
        if not isinstance(index, Tensor) or index.dim() != 1:
            shape = list(index.shape) if isinstance(index, Tensor) else type(index).__name__
            raise ValueError(f"index: expected a 1-D tensor of targets, got {shape}")
        if index.dtype not in (torch.int32, torch.int64):
            raise TypeError(f"index: expected an int32 or int64 tensor, got dtype {index.dtype}")
        if num_targets is None:
            num_targets = int(index.max()) + 1 if index.numel() else 0
        bad = ((index < 0) | (index >= num_targets)).nonzero()
        if bad.numel():
            position = int(bad[0])
            raise ValueError(f"index: target {int(index[position])} at position {position} is out of range for "
                             f"{num_targets} targets")
        positions = torch.arange(index.numel(), device=index.device, dtype=index.dtype)
        return cls(torch.stack([positions, index]), num_nodes=(index.numel(), num_targets))

    @classmethod
    def from_sorted(cls, edge_index: Tensor, num_nodes: int) -> "SparseIndex":
        """From an ``edge_index`` already grouped by target (row 1 non-decreasing; torch_geometric's ``is_sorted``
        contract, a :func:`geomlearn.datasets.load_graph` store): checked in one pass (ids in range, targets in
        order), its CSR read off with a binary search, and kept without sorting and, in ``index_dtype``, without a
        copy: a memory-mapped ``edge_index`` stays mapped. The index seals it like every other; an in-place edit
        afterwards raises :class:`IndexModifiedError`.

        Raises:
            TypeError, ValueError: as the constructor, and when the targets are not in non-decreasing order.
        """
        edge_index = _validate_edge_index(edge_index)
        if not is_int(num_nodes) or num_nodes < 0:
            raise ValueError(f"num_nodes: expected an int >= 0, got {num_nodes!r}")
        if edge_index.numel():
            if int(edge_index.max()) >= num_nodes:
                raise ValueError(f"edge_index: indices must be < num_nodes={num_nodes}, got {int(edge_index.max())}")
            falls = (edge_index[1, 1:] < edge_index[1, :-1]).nonzero()
            if falls.numel():
                col = int(falls[0]) + 1
                raise ValueError(f"edge_index: expected targets in non-decreasing order (sorted by row 1), got "
                                 f"{int(edge_index[1, col - 1])} then {int(edge_index[1, col])} at column {col}")
        targets = edge_index[1]
        ptr = torch.searchsorted(targets, torch.arange(num_nodes + 1, dtype=targets.dtype, device=targets.device))
        return cls._trusted_csr(ptr, edge_index, num_nodes, num_nodes)

    @classmethod
    def from_networkx(cls, graph) -> "SparseIndex":
        """From a networkx graph; nodes are numbered in ``graph.nodes`` order. An undirected edge
        ``{u, v}`` becomes the two edges ``u -> v`` and ``v -> u`` (a self loop becomes one edge)."""
        import networkx as nx

        if not isinstance(graph, nx.Graph):
            raise TypeError(f"graph: expected a networkx Graph or DiGraph, got {type(graph).__name__}")
        position = {node: k for k, node in enumerate(graph.nodes)}
        pairs = [(position[u], position[v]) for u, v in graph.edges()]
        if not graph.is_directed():
            pairs += [(v, u) for u, v in pairs if u != v]
        edge_index = torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2).t()
        return cls(edge_index, num_nodes=graph.number_of_nodes())

    @classmethod
    def from_scipy(cls, matrix) -> "tuple[SparseIndex, Tensor]":
        """From a scipy sparse matrix ``M [num_src, num_dst]`` whose entry ``M[j, i]`` is the edge ``j -> i``
        (the adjacency convention of ``torch_geometric.utils.from_scipy_sparse_matrix``).

        Returns ``(index, values)``, the values ``[E]`` in the index's edge order.
        """
        import scipy.sparse as sp

        if not sp.issparse(matrix):
            raise TypeError(f"matrix: expected a scipy sparse matrix, got {type(matrix).__name__}")
        coo = matrix.tocoo()
        edge_index = torch.stack([torch.from_numpy(coo.row).long(), torch.from_numpy(coo.col).long()])
        return cls(edge_index, num_nodes=(coo.shape[0], coo.shape[1])), torch.from_numpy(coo.data)

    @classmethod
    def from_dgl(cls, graph) -> "SparseIndex":
        """From a DGL graph (requires ``dgl``): its edges ``src -> dst`` in DGL's edge order."""
        try:
            import dgl  # noqa: F401
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("SparseIndex.from_dgl needs the optional package 'dgl'") from err
        src, dst = graph.edges()
        return cls(torch.stack([src, dst]), num_nodes=(graph.num_src_nodes(), graph.num_dst_nodes()))
