"""e2e-round: wall time of one round on the embedded default against the pure training time.

Runs N trainers and the aggregator in one process on the in-process chain and the embedded
store (every protocol step of a round: train, store, commit, reveal, fetch + validate + score
+ aggregate, post, finalize, claim) and reports the round's wall time, the time spent
training, and the overhead (everything but training) as a fraction of the round.

    python -m benchmarks.e2e_round [--trainers 3] [--model cnn] [--steps 300] [--rounds 2] [--rpc URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from node.chain.deploy import DeployParams, deploy
from node.chain.provider import connect
from node.roles.aggregator import Aggregator
from node.roles.clock import DevnetClock
from node.roles.owner import TaskSetup, publish_task
from node.roles.trainer import Trainer
from node.storage import EmbeddedStore
from node.training.data import load_digits
from node.training.loop import TrainConfig

TOKEN = 10**18


def run(trainers: int, model: str, steps: int, rounds: int, rpc: str | None = None) -> dict[str, Any]:
    w3 = connect(rpc or f"eth-tester://?accounts={trainers + 2}")
    accounts = w3.eth.accounts
    net = deploy(w3, accounts[0], DeployParams(min_stake=TOKEN))
    for a in accounts:
        net.token.mint(accounts[0], a, 1000 * TOKEN)
    tmp = Path(tempfile.mkdtemp(prefix="meritnet-e2e-"))
    store = EmbeddedStore(tmp / "store")
    task = publish_task(net, store, accounts[0], load_digits(), TrainConfig(model=model, steps=steps, checkpoint_every=max(1, steps // 10)),
                        TaskSetup(aggregator=accounts[1], reward_per_round=100 * TOKEN, rounds=rounds, shards=trainers, min_stake=TOKEN))  # fmt: skip
    train_seconds: dict[int, float] = {}
    first_seen: dict[int, float] = {}
    last_claim: dict[int, float] = {}

    def on_event(e: dict[str, Any]) -> None:
        if "round" in e:
            first_seen.setdefault(e["round"], time.perf_counter())
        if e["event"] == "trained":
            train_seconds[e["round"]] = train_seconds.get(e["round"], 0.0) + e["seconds"]
        if e["event"] in ("claimed", "no-reward"):
            last_claim[e["round"]] = time.perf_counter()

    agg = Aggregator(net, store, accounts[1], task, on_event=on_event)
    agg.ensure_registered()
    nodes = [Trainer(net, store, a, task, journal_dir=tmp / "journal", device="cpu", on_event=on_event) for a in accounts[2 : 2 + trainers]]
    for n in nodes:
        n.ensure_registered()
        n.data.manifest  # noqa: B018 - fetch the task inputs before timing, as a running node has them
    clock = DevnetClock(net, task, trainers=trainers, grace=60)
    busy = True
    while busy:
        busy = any([n.step() for n in nodes] + [agg.step()])
        clock.tick()
    # One process runs every participant in turn, so rounds overlap (a trainer starts round
    # r+1 while another still claims round r): measure the whole run, from the first training
    # to the last claim, and divide by the number of rounds.
    done_rounds = sorted(last_claim)
    wall = (max(last_claim.values()) - min(first_seen[r] for r in done_rounds)) / len(done_rounds)
    training = sum(train_seconds[r] for r in done_rounds) / len(done_rounds)
    per_round = done_rounds
    return {
        "benchmark": "e2e-round", "backend": f"{rpc or 'eth-tester'} + embedded store, one process", "trainers": trainers,
        "model": model, "steps": steps, "rounds": len(per_round), "round_wall_s": round(wall, 3), "training_s": round(training, 3),
        "overhead_s": round(wall - training, 3), "overhead_fraction": round((wall - training) / wall, 3),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainers", type=int, default=3)
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rpc", default=None, help="a devnet URL (default: the in-process chain)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.trainers, args.model, args.steps, args.rounds, args.rpc)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
