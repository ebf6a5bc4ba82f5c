"""MeritRank: Sybil-tolerant personalised reputation by random walks (pure logic, no I/O).

Semantics (``shared/design/MERITRANK.md``; Nasrulin, Ishmaev, Pouwelse 2022):

* ``W`` walks start at the ego. Before every step, the first too, a walk stops with
  probability ``alpha``; otherwise it follows an out-edge chosen with probability
  ``|w| / sum |w|``. Once a walk has taken a negative edge it follows positive edges only.
* Hits are counted per walk, not per visit: every node of the walk before its first negative
  edge gets one positive hit, every node from the node that edge reached on gets one negative
  hit. ``score(ego, t) = (pos[t] - neg[t]) / (sum pos + sum neg)``; the ego counts.
* Connectivity decay: with ``theta == 1`` a node whose every path from the ego passes through
  some other node (its immediate dominator is not the ego) has its score multiplied by
  ``1 - beta``; with ``theta < 1`` a node is decayed when some node is visited before it in at
  least a ``theta`` fraction of the walks that reach it.
* Incremental updates re-simulate only the walks an edge change affects, keeping every walk
  distributed exactly as in a fresh computation (see :meth:`MeritRank.set_edge`).

Randomness comes from ``random.Random(seed)`` (Mersenne Twister, specified bit for bit by
CPython), so with a seed the same graph and the same update sequence give the same scores in
any process.

Documented behaviour for odd input: weights must be finite (``ReputationError``); weight 0
deletes an edge; self-loops are allowed (they only lengthen walks: per-walk counting gives
them no effect on hits); asking for an ego that has never appeared in an edge raises
``ReputationError``; an ego without out-edges scores 1.0 for itself and nothing else.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from verifier.errors import ReputationError

__all__ = ["MeritRank", "EpochReputation"]

Node = Hashable
# (targets, cumulative |weights|, total, is-negative flags) of one node's eligible out-edges
_Table = tuple[list[Node], list[float], float, list[bool]]


@dataclass
class _Walks:
    """The walks of one ego and the counters derived from them."""

    paths: list[list[Node]] = field(default_factory=list)
    neg_at: list[int | None] = field(default_factory=list)  # index of the node a negative edge reached
    dead: list[bool] = field(default_factory=list)  # walk ended at a node without eligible edges
    visits: dict[Node, set[int]] = field(default_factory=dict)  # node -> ids of walks through it
    pos: Counter[Node] = field(default_factory=Counter)
    neg: Counter[Node] = field(default_factory=Counter)
    total: int = 0  # sum of pos and neg hits

    def add_hits(self, j: int) -> None:
        path, cut = self.paths[j], self.neg_at[j]
        positive = set(path if cut is None else path[:cut])
        negative = set() if cut is None else set(path[cut:])
        for node in positive:
            self.pos[node] += 1
        for node in negative:
            self.neg[node] += 1
        self.total += len(positive) + len(negative)
        for node in positive | negative:
            self.visits.setdefault(node, set()).add(j)

    def remove_hits(self, j: int) -> None:
        path, cut = self.paths[j], self.neg_at[j]
        positive = set(path if cut is None else path[:cut])
        negative = set() if cut is None else set(path[cut:])
        for node in positive:
            self.pos[node] -= 1
        for node in negative:
            self.neg[node] -= 1
        self.total -= len(positive) + len(negative)
        for node in positive | negative:
            self.visits[node].discard(j)


class MeritRank:
    """Personalised MeritRank scores with incremental edge updates.

    >>> mr = MeritRank([("ego", "a", 1.0), ("a", "b", 1.0)], walks=2000, seed=1)
    >>> round(mr.score("ego", "ego"), 1) > 0
    True
    """

    def __init__(
        self,
        edges: Iterable[tuple[Node, Node, float]] | None = None,
        *,
        alpha: float = 0.15,
        walks: int = 10_000,
        beta: float = 0.0,
        theta: float = 1.0,
        seed: int | None = None,
    ) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ReputationError(f"alpha must be in (0, 1], got {alpha}")
        if walks < 1:
            raise ReputationError(f"walks must be at least 1, got {walks}")
        if not 0.0 <= beta <= 1.0:
            raise ReputationError(f"beta must be in [0, 1], got {beta}")
        if not 0.0 < theta <= 1.0:
            raise ReputationError(f"theta must be in (0, 1], got {theta}")
        self.alpha, self.walks, self.beta, self.theta = alpha, walks, beta, theta
        self._c = 1.0 - alpha
        self._rng = random.Random(seed)
        self._out: dict[Node, dict[Node, float]] = {}
        self._nodes: set[Node] = set()
        self._tables: dict[tuple[Node, bool], _Table | None] = {}
        self._egos: dict[Node, _Walks] = {}
        for src, dst, weight in edges or ():
            self.set_edge(src, dst, weight)

    # -- graph -------------------------------------------------------------------------

    @property
    def nodes(self) -> frozenset[Node]:
        return frozenset(self._nodes)

    def edges(self) -> list[tuple[Node, Node, float]]:
        return [(s, d, w) for s, out in self._out.items() for d, w in out.items()]

    def edge(self, src: Node, dst: Node) -> float:
        return self._out.get(src, {}).get(dst, 0.0)

    def set_edge(self, src: Node, dst: Node, weight: float) -> None:
        """Add, change (``weight``) or delete (``weight == 0``) the edge ``src -> dst``.

        Cached walks are updated, not recomputed: deleting re-routes each walk that took
        ``src -> dst`` from ``src`` with one forced step among the remaining edges; adding
        redirects, at each step a walk took from ``src``, with probability
        ``|w| / (total eligible weight at src)``, that step through ``dst``. A walk that
        stopped at ``src`` for lack of edges takes the new edge with that probability too. A
        change is a deletion followed by an addition. Each walk stays distributed as in a
        fresh computation on the new graph.
        """
        weight = float(weight)
        if not math.isfinite(weight):
            raise ReputationError(f"edge {src!r} -> {dst!r}: weight must be finite, got {weight}")
        old = self.edge(src, dst)
        if old == weight:
            return
        self._nodes.update((src, dst))
        if old != 0.0:
            del self._out[src][dst]
            self._invalidate(src)
            for walks in self._egos.values():
                self._reroute_deleted(walks, src, dst)
        if weight != 0.0:
            self._out.setdefault(src, {})[dst] = weight
            self._invalidate(src)
            for walks in self._egos.values():
                self._redirect_added(walks, src, dst, weight)

    def _invalidate(self, node: Node) -> None:
        self._tables.pop((node, True), None)
        self._tables.pop((node, False), None)

    def _table(self, node: Node, positive_mode: bool) -> _Table | None:
        """Sampling table of ``node``'s eligible edges (all edges in positive mode, positive
        edges only once a walk has taken a negative one)."""
        key = (node, positive_mode)
        if key in self._tables:
            return self._tables[key]
        targets: list[Node] = []
        cumulative: list[float] = []
        negative: list[bool] = []
        total = 0.0
        # Canonical order, so that the same graph samples the same way however it was built.
        for dst, w in sorted(self._out.get(node, {}).items(), key=_order_key):
            if w < 0 and not positive_mode:
                continue
            total += abs(w)
            targets.append(dst)
            cumulative.append(total)
            negative.append(w < 0)
        table = (targets, cumulative, total, negative) if targets else None
        self._tables[key] = table
        return table

    # -- walks -------------------------------------------------------------------------

    def _extend(self, path: list[Node], neg_at: int | None, *, forced: bool) -> tuple[int | None, bool]:
        """Continue ``path`` from its last node; return (neg_at, ended at a dead end)."""
        rnd = self._rng.random
        c = self._c
        node = path[-1]
        check = not forced
        while True:
            if check and rnd() >= c:
                return neg_at, False
            check = True
            table = self._table(node, neg_at is None)
            if table is None:
                return neg_at, True
            targets, cumulative, total, negative = table
            i = bisect_right(cumulative, rnd() * total)
            if i == len(targets):  # rnd() * total rounded up to total
                i -= 1
            node = targets[i]
            path.append(node)
            if neg_at is None and negative[i]:
                neg_at = len(path) - 1

    def _simulate(self, ego: Node) -> _Walks:
        walks = _Walks()
        for j in range(self.walks):
            path = [ego]
            neg_at, dead = self._extend(path, None, forced=False)
            walks.paths.append(path)
            walks.neg_at.append(neg_at)
            walks.dead.append(dead)
            walks.add_hits(j)
        return walks

    def _rewrite(self, walks: _Walks, j: int, keep: int, step: tuple[Node, bool] | None) -> None:
        """Cut walk ``j`` after position ``keep``; take ``step`` (node, negative) if given,
        else one forced step; then continue normally."""
        walks.remove_hits(j)
        path = walks.paths[j][: keep + 1]
        neg_at = walks.neg_at[j]
        if neg_at is not None and neg_at > keep:
            neg_at = None
        if step is None:
            neg_at, dead = self._extend(path, neg_at, forced=True)
        else:
            node, negative = step
            path.append(node)
            if neg_at is None and negative:
                neg_at = len(path) - 1
            neg_at, dead = self._extend(path, neg_at, forced=False)
        walks.paths[j], walks.neg_at[j], walks.dead[j] = path, neg_at, dead
        walks.add_hits(j)

    def _reroute_deleted(self, walks: _Walks, src: Node, dst: Node) -> None:
        candidates = walks.visits.get(src, set()) & walks.visits.get(dst, set())
        for j in sorted(candidates):
            path = walks.paths[j]
            for i in range(len(path) - 1):
                if path[i] == src and path[i + 1] == dst:
                    self._rewrite(walks, j, i, None)
                    break

    def _redirect_added(self, walks: _Walks, src: Node, dst: Node, weight: float) -> None:
        rnd = self._rng.random
        for j in sorted(walks.visits.get(src, set())):
            path, neg_at, dead = walks.paths[j], walks.neg_at[j], walks.dead[j]
            last = len(path) - 1
            for i, node in enumerate(path):
                if node != src:
                    continue
                positive_mode = neg_at is None or i < neg_at
                if weight < 0 and not positive_mode:
                    continue
                if i == last and not dead:
                    continue  # the walk stopped here by its stop check: no step to redirect
                table = self._table(src, positive_mode)
                assert table is not None  # the new edge is eligible here
                if rnd() * table[2] < abs(weight):
                    self._rewrite(walks, j, i, (dst, weight < 0))
                    break

    # -- scores ------------------------------------------------------------------------

    def _walks_of(self, ego: Node) -> _Walks:
        if ego not in self._nodes:
            raise ReputationError(f"unknown ego {ego!r}: it appears in no edge")
        walks = self._egos.get(ego)
        if walks is None:
            walks = self._egos[ego] = self._simulate(ego)
        return walks

    def scores(self, ego: Node) -> dict[Node, float]:
        """Every node with a score for ``ego`` (nodes the walks reached), decay applied."""
        walks = self._walks_of(ego)
        total = walks.total
        raw = {n: (walks.pos[n] - walks.neg[n]) / total for n in set(walks.pos) | set(walks.neg) if walks.pos[n] or walks.neg[n]}
        if self.beta > 0.0:
            for node in self._decayed(ego, walks, raw):
                raw[node] *= 1.0 - self.beta
        return raw

    def drop(self, ego: Node) -> None:
        """Forget the cached walks of ``ego`` (the next query simulates them afresh)."""
        self._egos.pop(ego, None)

    def score(self, ego: Node, node: Node) -> float:
        """The score of ``node`` for ``ego``; 0.0 for nodes the walks never reach."""
        return self.scores(ego).get(node, 0.0)

    def _decayed(self, ego: Node, walks: _Walks, reached: dict[Node, float]) -> set[Node]:
        if self.theta >= 1.0:
            idom = _immediate_dominators(self._out, ego)
            return {n for n in reached if n != ego and idom.get(n, ego) != ego}
        before: dict[Node, Counter[Node]] = {}
        seen_in: Counter[Node] = Counter()
        for path in walks.paths:
            first: dict[Node, int] = {}
            for i, n in enumerate(path):
                first.setdefault(n, i)
            for t, ft in first.items():
                if t == ego:
                    continue
                seen_in[t] += 1
                counter = before.setdefault(t, Counter())
                for s in {n for n in path[:ft] if n != ego}:
                    counter[s] += 1
        return {t for t, counter in before.items() if counter and max(counter.values()) / seen_in[t] >= self.theta}


def _order_key(item: tuple[Node, float]) -> tuple[str, str]:
    return (type(item[0]).__name__, repr(item[0]))


def _immediate_dominators(out: dict[Node, dict[Node, float]], ego: Node) -> dict[Node, Node]:
    """Immediate dominators from ``ego`` over every nonzero edge (Cooper-Harvey-Kennedy)."""
    order: list[Node] = []
    seen = {ego}
    stack: list[tuple[Node, Iterable[Node]]] = [(ego, iter(out.get(ego, {})))]
    while stack:  # iterative DFS for the reverse postorder
        node, children = stack[-1]
        for child in children:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(out.get(child, {}))))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    index = {n: i for i, n in enumerate(order)}
    preds: dict[Node, list[Node]] = {n: [] for n in order}
    for src in order:
        for dst in out.get(src, {}):
            if dst in index:
                preds[dst].append(src)
    idom: dict[Node, Node] = {ego: ego}

    def intersect(a: Node, b: Node) -> Node:
        while a != b:
            while index[a] > index[b]:
                a = idom[a]
            while index[b] > index[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for node in order[1:]:
            new: Node | None = None
            for p in preds[node]:
                if p in idom:
                    new = p if new is None else intersect(p, new)
            if new is not None and idom.get(node) != new:
                idom[node] = new
                changed = True
    return idom


class EpochReputation:
    """Reputation over epochs with decay: ``R_e = (1 - gamma) * R_{e-1} + r_e``."""

    def __init__(self, gamma: float = 0.0) -> None:
        if not 0.0 <= gamma <= 1.0:
            raise ReputationError(f"gamma must be in [0, 1], got {gamma}")
        self.gamma = gamma
        self.epoch = 0
        self.current: dict[Node, float] = {}

    def advance(self, epoch_scores: dict[Node, float]) -> dict[Node, float]:
        """Fold one epoch's scores in; return the accumulated reputation."""
        keep = 1.0 - self.gamma
        merged = {n: keep * v for n, v in self.current.items()}
        for node, value in epoch_scores.items():
            merged[node] = merged.get(node, 0.0) + value
        self.current = merged
        self.epoch += 1
        return dict(merged)
