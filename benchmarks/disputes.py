"""dispute-moves, referee-cost and dispute-gas (BENCHMARKS.md).

dispute-moves: bisection moves to localize a fault planted at the first, middle and last step
and operator, for K in {1, 2, 3, 7, 8, 1000}, by the reference rules with real RepOps traces
(all nine positions) and on the in-process EVM (the middle position), against
ceil(log2 K) + ceil(log2 M).
referee-cost: the referee's time to decide (check the evidence against the agreed hashes,
recompute one operator) for every operator of a step, against one full verifiable training
step of the same task, in the same run (median of --reps).
dispute-gas: gas per bisection move, per dispute and for the verdict transaction, and the gas
of the committee's stake-weighted signature check alone (a transaction calling
RefereeCommittee.verify with three signers; the 21,000 intrinsic gas included).

    python -m benchmarks.disputes [--ks 1 2 3 7 8 1000] [--reps 200]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
from typing import Any

from benchmarks.timing import median_time
from node.dispute_sim import Arena, SimulationSpec
from node.roles.referee import make_referee
from node.training.claims import program_for, step_batch, train_claim
from node.training.data import load_digits, split_shards
from node.training.loop import TrainConfig, train
from node.training.models import get_model
from verifier.dispute.bls import aggregate_g1, aggregate_g2, g1_to_sol, g2_to_sol, signer_bitmap
from verifier.dispute.game import Player, expected_moves, play
from verifier.dispute.referee import decide
from verifier.repops.ops import RepOps

SEED = hashlib.sha256(b"bench-disputes").digest()


def dispute_moves(ks: list[int], arena: Arena) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    shard = split_shards(load_digits(), 3)[0][0]
    base = get_model("mlp").init(0)
    rows, chain_runs = [], []
    for k in ks:
        config = TrainConfig(steps=k, backend="repops")
        program = program_for(config, base)
        m = len(program)
        referee = make_referee(program, base, lambda t, c=config: step_batch(shard, c, SEED, t))
        honest = train_claim(base, shard, config, SEED)[0]
        located, moves = [], []
        for t in sorted({0, k // 2, k - 1}):
            for j in (0, m // 2, m - 1):
                liar = train_claim(base, shard, config, SEED, fault=(t, j))[0]
                out = play(Player(liar), Player(honest), m, referee, defender_final=liar.states[-1])
                located.append(out.step == t and out.op == j and out.loser == "defender")
                moves.append(out.moves)
        on_chain = arena.dispute(SimulationSpec(steps=k, liar="defender"))
        chain_runs.append(on_chain)
        rows.append({"K": k, "M": m, "expected": expected_moves(k, m), "moves": sorted(set(moves)), "all_located": all(located),
                     "positions": len(moves), "on_chain_moves": on_chain["moves"], "on_chain_located": on_chain["located"] == {
                         "step": on_chain["planted"]["step"], "op": on_chain["planted"]["op"]}})  # fmt: skip
    return rows, chain_runs


def referee_cost(reps: int) -> dict[str, Any]:
    shard = split_shards(load_digits(), 3)[0][0]
    base = get_model("mlp").init(0)
    k, t = 8, 4
    config = TrainConfig(steps=k, backend="repops")
    program = program_for(config, base)
    honest = train_claim(base, shard, config, SEED)[0]
    chain = honest.chain(t)
    step = median_time(lambda: train(base, shard, TrainConfig(steps=k, backend="repops"), seed=SEED, ops=RepOps()), max(5, reps // 20)) / k
    per_op = []
    for j, op in enumerate(program):
        evidence = honest.evidence(t, j)
        batch = step_batch(shard, config, SEED, t)
        per_op.append((op.name, median_time(lambda e=evidence, j=j: decide(program, t, j, honest.states[t], chain[j], e, lambda: batch), reps)))
    ratios = [s / step for _, s in per_op]
    return {"benchmark": "referee-cost", "model": "mlp", "ops_per_step": len(program), "step_seconds": step,
            "referee_seconds_mean": statistics.mean(s for _, s in per_op), "ratio_mean": statistics.mean(ratios), "ratio_max": max(ratios),
            "slowest_op": max(per_op, key=lambda p: p[1])[0], "target": "< 0.05"}  # fmt: skip


def verify_gas(arena: Arena) -> int:
    """The stake-weighted check for the arena's three equal referees (more than 2/3 of the
    stake: all three sign)."""
    keys = [m.key for m in arena.committee.members[:3]]
    message = b"benchmark verdict"
    sigma = aggregate_g1(k.sign(message) for k in keys)
    fn = arena.net.committee.contract.functions.verify(message, signer_bitmap([0, 1, 2]), g2_to_sol(aggregate_g2(k.pk2 for k in keys)), g1_to_sol(sigma))
    return int(arena.net.tx.send(fn, arena.keeper)["gasUsed"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 3, 7, 8, 1000])
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args(argv)
    arena = Arena()
    rows, runs = dispute_moves(args.ks, arena)
    print(json.dumps({"benchmark": "dispute-moves", "rows": rows,
                      "pass": all(r["all_located"] and r["moves"] == [r["expected"]] and r["on_chain_moves"] == r["expected"] for r in rows)}))  # fmt: skip
    print(json.dumps(referee_cost(args.reps)))
    moves = [g for r in runs for g in r["gas"]["per_move"] if g]
    print(json.dumps({"benchmark": "dispute-gas", "per_move_median": statistics.median(moves), "per_move_max": max(moves),
                      "open": statistics.median(r["gas"]["open"] for r in runs), "respond": statistics.median(r["gas"]["respond"] for r in runs),
                      "verdict_tx_median": statistics.median(r["gas"]["verdict"] for r in runs),
                      "total_by_K": {r["K"]: run["gas"]["total"] for r, run in zip(rows, runs, strict=True)},
                      "verdict_check": verify_gas(arena), "target_verdict_check": 200_000}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
