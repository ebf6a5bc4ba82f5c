"""``meritnet dispute simulate``: one complete dispute on the in-process chain.

Real pieces throughout: the contracts on an eth-tester EVM, real RepOps training runs of a
task (digits and the MLP by default; ``model`` picks the CNN or the GPT on its text), a fault planted by the lying party at (step T, operator J) of its
own run (it really computed that operator wrongly and carried on), three referees with BLS
keys on BN254 and a verdict threshold of more than 2/3 of the stake. Prints who won, how many bisection moves it took, where
the fault was located, gas per move / in total / for the verdict, and the referee's time
against one training step's.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from web3 import Web3
from web3.types import TxReceipt

from node.chain.contracts import Role, TaskConfig
from node.chain.deploy import DeployParams, Network, deploy
from node.chain.disputes import FINAL_DELTA, INITIAL_STATE, Party
from node.chain.provider import advance_time, connect
from node.chain.transactor import Sender
from node.errors import ConfigError, ContractRevert
from node.roles.common import ensure_role
from node.roles.dispute import DisputeRunner, GasLog
from node.roles.referee import Committee, Member, make_referee
from node.storage.unixfs import cid_of
from node.training.claims import cid_hash, program_for, step_batch, train_claim
from node.training.codec import encode_delta, encode_tensors
from node.training.data import dataset_for, split_shards
from node.training.loop import TrainConfig
from node.training.models import get_model
from verifier.dispute.bls import KeyPair
from verifier.dispute.claims import TraceClaim
from verifier.dispute.game import Adaptive, Player, Referee, Silent, expected_moves
from verifier.repops.compress import Compression, compress, parse_compression

__all__ = ["SimulationSpec", "Case", "Arena", "simulate", "truncating_compress"]

TOKEN = 10**18
Role_ = Literal["defender", "challenger"]


@dataclass(frozen=True)
class SimulationSpec:
    steps: int = 8
    fault_step: int | None = None  # default: the middle step
    fault_op: int | None = None  # default: the middle operator
    liar: Literal["defender", "challenger", "none"] = "defender"
    silent: Role_ | None = None
    adaptive: bool = False
    model: str = "mlp"
    seed: int = 0
    # What the defender reveals: its run's own values, or an honest trace with another final
    # state, or its trace and final state with a delta that is not the trace's (x10).
    reveal: Literal["consistent", "other-final", "other-delta", "other-compression"] = "consistent"
    # What the challenger disputes: the trace (bisection) or the published delta (openDelta).
    kind: Literal["trace", "delta"] = "trace"
    compression: str = ""  # the task's delta compression recipe ("other-compression" needs int8 in it)


def _check(spec: SimulationSpec, ops: int) -> tuple[int, int]:
    if spec.steps < 1:
        raise ConfigError("--steps must be at least 1")
    t = spec.steps // 2 if spec.fault_step is None else spec.fault_step
    j = ops // 2 if spec.fault_op is None else spec.fault_op
    if not 0 <= t < spec.steps:
        raise ConfigError(f"--fault-step must be in 0..{spec.steps - 1}")
    if not 0 <= j < ops:
        raise ConfigError(f"--fault-op must be in 0..{ops - 1} (a step of this model has {ops} operators)")
    return t, j


@dataclass
class Case:
    """One disputed round: both runs, the task, and what the referee needs."""

    spec: SimulationSpec
    task_id: int
    claims: dict[str, TraceClaim]
    honest: TraceClaim
    referee: Referee
    fault: tuple[int, int]
    ops: int
    step_seconds: float
    delta_cids: dict[str, bytes]  # the CID each side's run publishes its delta under
    revealed: tuple[bytes, bytes, bytes, bytes]  # the defender's (deltaCid, traceRoot, finalStateHash, salt)


class Arena:
    """A chain with meritnet deployed, a trainer, a verifier and a three-referee committee (equal stakes);
    each :meth:`dispute` runs one complete dispute in a fresh task. ``w3`` defaults to a new
    in-process chain; any devnet with 8 unlocked accounts works (anvil), and ``net`` may be an
    existing deployment made by its first account."""

    def __init__(self, w3: Web3 | None = None, net: Network | None = None) -> None:
        self.w3 = w3 or connect("eth-tester://")
        accounts = list(self.w3.eth.accounts)
        self.owner, self.trainer, self.verifier, self.keeper = accounts[:4]
        self.referees = accounts[4:7]
        self.outsider = accounts[7]
        self.net = net or deploy(self.w3, self.owner, DeployParams(min_stake=TOKEN, dispute_bond=5 * TOKEN))
        for account in accounts[:8]:
            self.net.token.mint(self.owner, account, 10_000 * TOKEN)
        ensure_role(self.net, self.trainer, Role.TRAINER, 1_000 * TOKEN)
        ensure_role(self.net, self.verifier, Role.VERIFIER, 1_000 * TOKEN)
        ensure_role(self.net, self.owner, Role.AGGREGATOR, TOKEN)
        self.committee = Committee([Member(a, KeyPair.from_seed(f"referee-{i}".encode())) for i, a in enumerate(self.referees)])
        self.committee.register(self.net, 10 * TOKEN)

    def prepare(self, spec: SimulationSpec) -> Case:
        """Train both runs; create a verifiable task whose round 1 has the defender's submission
        revealed and is in its Score phase."""
        config = TrainConfig.for_model(spec.model, steps=spec.steps, backend="repops", compression=spec.compression)
        ensure_role(self.net, self.trainer, Role.TRAINER, 100 * TOKEN)  # buys back in after earlier disputes' slashes
        data = dataset_for(spec.model)
        shard = split_shards(data, 3, seed=spec.seed)[0][0]
        features, classes = int(data.x[0].numel()), data.num_classes
        base = get_model(spec.model).init(spec.seed, features, classes)
        program = program_for(config, base, features, classes)
        fault = _check(spec, len(program))
        seed = hashlib.sha256(f"simulate-{spec.seed}".encode()).digest()
        began = time.perf_counter()
        honest, honest_run = train_claim(base, shard, config, seed)
        step_seconds = (time.perf_counter() - began) / spec.steps
        liar, liar_run = train_claim(base, shard, config, seed, fault=fault) if spec.liar != "none" else (honest, honest_run)
        claims = {side: liar if spec.liar == side else honest for side in ("defender", "challenger")}
        runs = {side: liar_run if spec.liar == side else honest_run for side in ("defender", "challenger")}
        delta_cids = {side: bytes(cid_of(encode_delta(run.delta, config.compression))) for side, run in runs.items()}

        net, trainer = self.net, self.trainer
        task_id = _create_task(net, self.owner, config, len(program))
        defender = claims["defender"]
        delta_cid, final = delta_cids["defender"], defender.states[-1]
        if spec.reveal == "other-final":
            final = hashlib.sha256(b"not this trace's final state").digest()
        elif spec.reveal == "other-delta":
            delta_cid = bytes(cid_of(encode_delta({k: v * 10 for k, v in runs["defender"].delta.items()}, config.compression)))
        elif spec.reveal == "other-compression":
            delta_cid = bytes(cid_of(encode_tensors(truncating_compress(runs["defender"].delta, config.compression))))
        values = (delta_cid, defender.root, final, os.urandom(32))
        net.tasks.commit(trainer, task_id, 1, net.tasks.compute_commitment(*values, trainer, task_id, 1))
        _advance(net, task_id, self.keeper)
        net.tasks.reveal(trainer, task_id, 1, *values)
        _advance(net, task_id, self.keeper)
        referee = make_referee(program, base, lambda t: step_batch(shard, config, seed, t), config.compression)
        return Case(spec, task_id, claims, honest, referee, fault, len(program), step_seconds, delta_cids, values)

    def open(self, case: Case) -> tuple[int, TxReceipt]:
        challenger = case.claims["challenger"]
        self.net.token.approve(self.verifier, self.net.disputes.address, self.net.disputes.params().bond)
        k = case.spec.steps
        if case.spec.kind == "delta":  # the challenger claims the delta its own run implies
            delta_cid, salt = case.revealed[0], case.revealed[3]
            return self.net.disputes.open_delta(self.verifier, case.task_id, 1, self.trainer, delta_cid, salt, cid_hash(case.delta_cids["challenger"]))
        return self.net.disputes.open(self.verifier, case.task_id, 1, self.trainer, challenger.root, *challenger.state(0), *challenger.state(k))

    def players(self, case: Case) -> dict[Party, tuple[Sender, Player]]:
        spec = case.spec

        def player(side: str) -> Player:
            if spec.silent == side:
                return Silent(case.claims[side], "steps")
            if spec.adaptive and spec.liar == side:
                return Adaptive(case.claims[side], case.honest)
            return Player(case.claims[side])

        return {Party.DEFENDER: (self.trainer, player("defender")), Party.CHALLENGER: (self.verifier, player("challenger"))}

    def runner(self, case: Case, dispute_id: int, gas: GasLog | None = None) -> DisputeRunner:
        return DisputeRunner(self.net, dispute_id, self.players(case), self.committee, case.referee, keeper=self.keeper,
                             pass_time=lambda s: advance_time(self.w3, s), gas=gas)  # fmt: skip

    def dispute(self, spec: SimulationSpec) -> dict[str, Any]:
        """Prepare, open and play one dispute to its end; the report ``meritnet dispute simulate`` prints."""
        case = self.prepare(spec)
        net = self.net
        sides = (("defender", self.trainer), ("challenger", self.verifier))
        stakes_before = {p: net.registry.slashable_of(a) for p, a in sides}
        balances_before = {p: net.token.balance_of(a) for p, a in sides}
        gas = GasLog()
        try:
            dispute_id, receipt = self.open(case)
        except ContractRevert as exc:
            if exc.name != "DisputeGameNoDisagreement":
                raise
            return {"opened": False, "reason": "both runs end in the same state: nothing to dispute", "winner": None, "loser": None,
                    "moves": 0, "located": None, "gas": None, "referee_seconds": None, "step_seconds": case.step_seconds}  # fmt: skip
        gas.open = int(receipt["gasUsed"])
        runner = self.runner(case, dispute_id, gas)
        d = runner.run()
        winner = None if d.winner == Party.NONE else d.winner.name.lower()
        loser = {"defender": "challenger", "challenger": "defender"}.get(winner or "", None if d.cancelled else "defender")
        return {
            "opened": True,
            "dispute_id": dispute_id,
            "winner": winner,
            "loser": loser,
            "moves": d.moves,
            "expected_moves": expected_moves(spec.steps, case.ops),
            "located": {"step": d.step, "op": None if d.op == INITIAL_STATE else "delta" if d.op == FINAL_DELTA else d.op} if gas.verdict else None,
            "planted": {"step": case.fault[0], "op": case.fault[1], "by": spec.liar},
            "ops_per_step": case.ops,
            "slashed": d.slashed,
            "stake": {p: {"before": stakes_before[p], "after": net.registry.slashable_of(a)} for p, a in sides},
            "balance_change": {p: net.token.balance_of(a) - balances_before[p] for p, a in sides},
            "rejected_answers": runner.rejected,
            "gas": {"per_move": gas.moves, "open": gas.open, "respond": gas.respond, "chain_end": gas.chain_end, "verdict": gas.verdict,
                    "timeout": gas.timeout, "total": gas.total},  # fmt: skip
            "referee_seconds": gas.referee_seconds if gas.verdict else None,
            "step_seconds": case.step_seconds,
        }


def simulate(spec: SimulationSpec) -> dict[str, Any]:
    """One dispute in a fresh arena."""
    return Arena().dispute(spec)


def truncating_compress(delta: Mapping[str, torch.Tensor], recipe: str) -> dict[str, torch.Tensor]:
    """``delta`` compressed by ``recipe`` except that int8 rounds toward zero instead of half to
    even: a lie told only in the compression operator."""
    c = parse_compression(recipe)
    if not c.int8:
        raise ConfigError(f"a truncating compression needs an int8 recipe, not {recipe!r}", hint="e.g. compression topk:0.1,int8")
    kept, out = compress(delta, Compression(c.topk, False)), compress(delta, c)
    for name in delta:
        out[f"{name}.values"] = torch.trunc(kept[f"{name}.values"] / out[f"{name}.scale"]).to(torch.int8)
    return out


def _create_task(net: Network, owner: str, config: TrainConfig, ops: int) -> int:
    task = TaskConfig(
        model_cid=b"\x01\x55\x12\x20" + b"\x11" * 32, data_cid=b"\x01\x55\x12\x20" + b"\x22" * 32, config_hash=config.config_hash,
        aggregator=owner, reward_per_round=10 * TOKEN, num_rounds=1, commit_duration=600, reveal_duration=600, score_duration=600,
        challenge_duration=600, min_stake=TOKEN, no_reveal_penalty=TOKEN, steps_per_round=config.steps, ops_per_step=ops,
    )  # fmt: skip
    net.token.approve(owner, net.vault.address, task.budget)
    task_id, _ = net.tasks.create_task(owner, task)
    return task_id


def _advance(net: Network, task_id: int, caller: str) -> None:
    rnd = net.tasks.get_round(task_id, net.tasks.get_task(task_id).current_round)
    now = int(net.w3.eth.get_block("latest")["timestamp"])
    advance_time(net.w3, max(1, rnd.deadline - now + 1))
    net.tasks.advance(caller, task_id)
