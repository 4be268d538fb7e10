"""Neighbour sampling on the CPU: numba loops over the nodes of a frontier, in parallel, with a counter-based random
number generator, so a sample depends on its seed and never on the number of threads.

Each frontier node ``v`` owns the random stream ``splitmix64(seed, hop, v, t)``, ``t = 0, 1, ...``: the draws of
one node do not depend on which thread runs it or on the other nodes. The sampler reads the graph's CSR (edges
grouped by target), so it draws in-edges: a node's sources are what a message-passing layer aggregates into it.

* uniform, without replacement: Floyd's algorithm, ``c`` distinct positions among ``deg`` in ``O(c^2)``;
* uniform, with replacement: ``c`` independent positions;
* weighted, without replacement: Efraimidis and Spirakis' keys ``log(u) / w`` (the ``c`` largest), so each draw
  takes an edge with probability proportional to its weight among those left; edges of weight 0 are never drawn;
* weighted, with replacement: ``c`` draws by inverse transform over the node's weights.

The positions of a node are written in increasing order (uniform, without replacement) or in draw order, at the
node's offset in the hop's output, together with the edge's source, its id and its target's local id: the hop's
edges come out grouped by target, in the frontier's order, which is what makes the sampled subgraph's CSR.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_JIT = dict(parallel=True, nogil=True, cache=True)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_HOP = np.uint64(0xD1B54A32D192ED03)
_DRAW = np.uint64(0xAEF17502108EF2D9)


@njit(nogil=True, inline="always")
def _mix(x):  # pragma: no cover - compiled
    """splitmix64's finaliser: a bijection of uint64 whose outputs look independent for consecutive inputs."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(nogil=True, inline="always")
def _bits(seed, hop, node, t):  # pragma: no cover - compiled
    return _mix(seed + np.uint64(node) * _GOLDEN + np.uint64(hop) * _HOP + np.uint64(t) * _DRAW)


@njit(nogil=True, inline="always")
def _uniform(seed, hop, node, t):  # pragma: no cover - compiled
    """A float in (0, 1): 53 random bits, never 0 (its log is finite)."""
    return ((_bits(seed, hop, node, t) >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740993.0)


@njit(**_JIT)
def sample_counts(ptr, frontier, fanout, replace, weight, eid, weighted, counts):  # pragma: no cover - compiled
    """``counts[i]``: how many in-edges frontier node ``i`` keeps: all of them with ``fanout < 0``; else ``fanout``
    with replacement (none for a node without a positive weight), ``min(fanout, candidates)`` without, the
    candidates being the in-edges (of positive weight, when weighted). Returns how many row bounds or (weighted)
    edge ids lie outside the layout: nothing is read through them, and the caller raises before sampling."""
    bad = 0
    for i in prange(frontier.shape[0]):
        v = frontier[i]
        start, end = ptr[v], ptr[v + 1]
        if start < 0 or end < start or end > eid.shape[0]:
            counts[i] = 0
            bad += 1
            continue
        candidates = end - start
        if weighted:
            candidates = 0
            for p in range(start, end):
                e = eid[p]
                if e < 0 or e >= weight.shape[0]:       # the edge id the weight is read at: checked first
                    bad += 1
                elif weight[e] > 0:
                    candidates += 1
        if fanout < 0:
            counts[i] = candidates
        elif replace:
            counts[i] = fanout if candidates > 0 else 0
        else:
            counts[i] = min(fanout, candidates)
    return bad


@njit(**_JIT)
def sample_edges(ptr, idx, eid, frontier, first_local, fanout, replace, weight, weighted, seed, hop, offsets,
                 src, edges, dst):  # pragma: no cover - compiled
    """Fill ``src`` / ``edges`` / ``dst`` at ``offsets[i]:offsets[i + 1]`` with the sources, edge ids and the local
    id ``first_local + i`` of frontier node ``i``'s sampled in-edges. Returns how many sampled positions hold a
    source or an edge id outside ``0..num_nodes - 1`` / ``0..weight rows - 1`` (written as 0, never read through)."""
    num_nodes = ptr.shape[0] - 1
    bad = 0
    for i in prange(frontier.shape[0]):
        v = frontier[i]
        start, end = ptr[v], ptr[v + 1]
        deg = end - start
        o, c = offsets[i], offsets[i + 1] - offsets[i]
        if c == 0:
            continue
        if fanout < 0 and not weighted:
            for t in range(c):
                src[o + t] = start + t
        elif fanout < 0:                                # weighted, all of them: every edge of positive weight
            t = 0
            for p in range(start, end):
                if weight[eid[p]] > 0:
                    src[o + t] = p
                    t += 1
        elif not weighted and not replace:
            if c == deg:
                for t in range(c):
                    src[o + t] = start + t
            else:                                       # Floyd: c distinct offsets among deg
                for m, j in enumerate(range(deg - c, deg)):
                    pick = np.int64(_bits(seed, hop, v, m) % np.uint64(j + 1))
                    for q in range(m):
                        if src[o + q] == pick:
                            pick = j
                            break
                    src[o + m] = pick
                for m in range(1, c):                   # increasing order: insertion sort of c entries
                    value, q = src[o + m], m - 1
                    while q >= 0 and src[o + q] > value:
                        src[o + q + 1] = src[o + q]
                        q -= 1
                    src[o + q + 1] = value
                for t in range(c):
                    src[o + t] += start
        elif not weighted:                              # uniform, with replacement
            for t in range(c):
                src[o + t] = start + np.int64(_bits(seed, hop, v, t) % np.uint64(deg))
        elif not replace:                               # weighted, without: the c largest log(u) / w
            keys = np.empty(c, dtype=np.float64)
            kept = 0
            for p in range(start, end):
                w = weight[eid[p]]
                if w <= 0:
                    continue
                key = np.log(_uniform(seed, hop, v, p - start)) / w
                if kept < c:
                    q = kept
                    kept += 1
                elif key > keys[c - 1]:
                    q = c - 1
                else:
                    continue
                while q > 0 and keys[q - 1] < key:      # keys kept in decreasing order
                    keys[q] = keys[q - 1]
                    src[o + q] = src[o + q - 1]
                    q -= 1
                keys[q] = key
                src[o + q] = p
        else:                                           # weighted, with replacement: inverse transform
            total = 0.0
            for p in range(start, end):
                w = weight[eid[p]]
                if w > 0:
                    total += w
            for t in range(c):
                target = _uniform(seed, hop, v, t) * total
                chosen, running = end - 1, 0.0
                for p in range(start, end):
                    w = weight[eid[p]]
                    if w > 0:
                        running += w
                        chosen = p
                        if running >= target:
                            break
                src[o + t] = chosen
        for t in range(c):                              # positions -> source, edge id, local target
            p = src[o + t]
            g, e = idx[p], eid[p]
            if g < 0 or g >= num_nodes or e < 0 or e >= eid.shape[0]:
                g, e = 0, 0
                bad += 1
            src[o + t] = g
            edges[o + t] = e
            dst[o + t] = first_local + i
    return bad


@njit(nogil=True, cache=True)
def relabel(sources, node_map, nodes, count, local):  # pragma: no cover - compiled
    """Local ids for global ``sources``, in order of first appearance: ``node_map[g]`` is ``g``'s local id or -1;
    a new node gets ``count`` (then ``count + 1``, ...) and is appended to ``nodes``. Returns the new count."""
    for k in range(sources.shape[0]):
        g = sources[k]
        m = node_map[g]
        if m < 0:
            m = count
            node_map[g] = m
            nodes[count] = g
            count += 1
        local[k] = m
    return count


@njit(nogil=True, cache=True)
def forget(node_map, nodes, count):  # pragma: no cover - compiled
    """Reset the map entries of ``nodes[:count]`` to -1: the map is reused by the next sample, at ``O(count)``."""
    for k in range(count):
        node_map[nodes[k]] = -1
