"""meritrank-ego and meritrank-update against the reference meritrank-python 0.2.10.

Same random graph (default 10k nodes, 100k edges) for both, in the same run; prints JSON.
Times are medians of several repetitions; speeds are reported as ratios to the reference.

    pip install meritrank-python==0.2.10     # the reference (optional extra: .[bench])
    python -m benchmarks.meritrank [--nodes 10000] [--edges 100000] [--walks 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from typing import Any

from benchmarks.timing import median_time
from verifier.reputation import MeritRank


def random_graph(nodes: int, edges: int, seed: int = 0) -> list[tuple[int, int, float]]:
    rng = random.Random(seed)
    out: dict[tuple[int, int], float] = {}
    while len(out) < edges:
        a, b = rng.randrange(nodes), rng.randrange(nodes)
        if a != b:
            out[(a, b)] = round(rng.uniform(0.1, 1.0), 3)
    return [(a, b, w) for (a, b), w in out.items()]


def run(nodes: int, n_edges: int, walks: int, reps: int, updates: int) -> list[dict[str, Any]]:
    edges = random_graph(nodes, n_edges)
    egos = list(range(10))
    rng = random.Random(1)
    new_edges = [(rng.randrange(nodes), rng.randrange(nodes), round(rng.uniform(0.1, 1.0), 3)) for _ in range(updates)]
    new_edges = [(a, b, w) for a, b, w in new_edges if a != b]
    results = []

    ours = MeritRank(edges, walks=walks, seed=0)
    ego_ours = median_time(lambda: (ours.drop(egos[0]), ours.scores(egos[0])), reps)
    for ego in egos:
        ours.scores(ego)
    upd_ours = []
    for a, b, w in new_edges:
        start = time.perf_counter()
        ours.set_edge(a, b, w)
        upd_ours.append(time.perf_counter() - start)

    ref_ego = ref_update = None
    try:
        import networkx as nx
        from meritrank_python.rank import IncrementalMeritRank
    except ImportError:
        reference = None
    else:
        graph = nx.DiGraph()
        graph.add_weighted_edges_from(edges)
        reference = IncrementalMeritRank(graph)
        ref_ego = median_time(lambda: reference.calculate(egos[0], num_walks=walks), reps)
        for ego in egos[1:]:
            reference.calculate(ego, num_walks=walks)
        times = []
        for a, b, w in new_edges:
            start = time.perf_counter()
            reference.add_edge(a, b, w)
            times.append(time.perf_counter() - start)
        ref_update = statistics.median(times)

    results.append({
        "benchmark": "meritrank-ego", "nodes": nodes, "edges": n_edges, "walks": walks, "reps": reps,
        "ours_s": round(ego_ours, 4), "reference_s": None if ref_ego is None else round(ref_ego, 4),
        "speedup_vs_reference": None if ref_ego is None else round(ref_ego / ego_ours, 2),
    })  # fmt: skip
    upd_med = statistics.median(upd_ours)
    results.append({
        "benchmark": "meritrank-update", "cached_egos": len(egos), "updates": len(new_edges),
        "ours_median_ms": round(upd_med * 1e3, 4), "ours_p90_ms": round(sorted(upd_ours)[int(0.9 * len(upd_ours))] * 1e3, 4),
        "reference_median_ms": None if ref_update is None else round(ref_update * 1e3, 4),
        "speedup_vs_reference": None if ref_update is None else round(ref_update / upd_med, 2),
    })  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--walks", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--updates", type=int, default=200)
    args = parser.parse_args(argv)
    for result in run(args.nodes, args.edges, args.walks, args.reps, args.updates):
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
