"""Typed clients for meritnet's contracts.

Each class wraps one deployed contract; reads return frozen dataclasses, writes take a
:data:`~node.chain.transactor.Sender` and return the receipt. Reverts surface as
:class:`node.errors.ContractRevert` with the Solidity error's name and arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import IntEnum, IntFlag
from typing import Any

from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from node.chain.transactor import Sender, Transactor

__all__ = [
    "Epoch",
    "MeritToken",
    "Phase",
    "Registry",
    "ReputationOracle",
    "RewardVault",
    "Role",
    "Round",
    "RoundRewards",
    "Submission",
    "Task",
    "TaskConfig",
    "TaskManager",
    "Unbond",
]


class Phase(IntEnum):
    """Round phases, as in ITaskManager.Phase."""

    NONE = 0
    COMMIT = 1
    REVEAL = 2
    SCORE = 3
    CHALLENGE = 4
    FINALIZED = 5


class Role(IntFlag):
    """Registry role bits."""

    TRAINER = 1
    AGGREGATOR = 2
    VERIFIER = 4
    REFEREE = 8


@dataclass(frozen=True)
class TaskConfig:
    """What a task owner fixes at creation (ITaskManager.TaskConfig)."""

    model_cid: bytes
    data_cid: bytes
    config_hash: bytes
    aggregator: str
    reward_per_round: int
    num_rounds: int
    commit_duration: int
    reveal_duration: int
    score_duration: int
    challenge_duration: int
    min_stake: int
    no_reveal_penalty: int
    steps_per_round: int = 0  # K of a verifiable task (0: not verifiable)
    ops_per_step: int = 0  # M, the RepOps operator calls of one step

    def as_tuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    @property
    def budget(self) -> int:
        return self.reward_per_round * self.num_rounds


@dataclass(frozen=True)
class Task:
    task_id: int
    owner: str
    current_round: int
    current_model_cid: bytes
    config: TaskConfig


@dataclass(frozen=True)
class Round:
    task_id: int
    round: int
    phase: Phase
    failed: bool
    deadline: int
    commits: int
    reveals: int
    open_disputes: int
    seed: bytes
    base_model_cid: bytes
    new_model_cid: bytes
    scores_root: bytes
    trace_root: bytes
    scores_cid: bytes
    total_reward: int


@dataclass(frozen=True)
class Submission:
    commitment: bytes
    revealed: bool
    penalized: bool
    released: bool  # the stake its commitment locked was released (round finalized)
    trace_root: bytes
    final_state_hash: bytes


@dataclass(frozen=True)
class RoundRewards:
    root: bytes
    total: int
    claimed: int
    claim_deadline: int = 0  # set when the round is finalized; claims close after it
    swept: bool = False


@dataclass(frozen=True)
class Unbond:
    amount: int
    release_at: int


class _Client:
    def __init__(self, contract: Contract, tx: Transactor) -> None:
        self.contract = contract
        self.tx = tx

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def _send(self, sender: Sender, name: str, *args: Any) -> TxReceipt:
        return self.tx.send(getattr(self.contract.functions, name)(*args), sender)

    def _call(self, name: str, *args: Any) -> Any:
        return self.tx.call(getattr(self.contract.functions, name)(*args))


class MeritToken(_Client):
    """The ERC20 used for stakes and rewards."""

    def balance_of(self, account: str) -> int:
        return int(self._call("balanceOf", account))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self._call("allowance", owner, spender))

    def total_supply(self) -> int:
        return int(self._call("totalSupply"))

    def mint(self, sender: Sender, to: str, amount: int) -> TxReceipt:
        return self._send(sender, "mint", to, amount)

    def is_minter(self, account: str) -> bool:
        return bool(self._call("hasRole", self._call("MINTER_ROLE"), account))

    def approve(self, sender: Sender, spender: str, amount: int) -> TxReceipt:
        return self._send(sender, "approve", spender, amount)

    def transfer(self, sender: Sender, to: str, amount: int) -> TxReceipt:
        return self._send(sender, "transfer", to, amount)

    def finish_minting(self, sender: Sender) -> TxReceipt:
        return self._send(sender, "finishMinting")

    def cap(self) -> int:
        return int(self._call("cap"))

    def total_minted(self) -> int:
        return int(self._call("totalMinted"))

    def minting_finished(self) -> bool:
        return bool(self._call("mintingFinished"))


class Registry(_Client):
    """Stakes, roles, unbonding and slashing."""

    def register(self, sender: Sender, roles: Role, stake: int) -> TxReceipt:
        return self._send(sender, "register", int(roles), stake)

    def set_roles(self, sender: Sender, roles: Role) -> TxReceipt:
        return self._send(sender, "setRoles", int(roles))

    def add_stake(self, sender: Sender, amount: int) -> TxReceipt:
        return self._send(sender, "addStake", amount)

    def request_unbond(self, sender: Sender, amount: int) -> TxReceipt:
        return self._send(sender, "requestUnbond", amount)

    def withdraw_unbonded(self, sender: Sender) -> TxReceipt:
        return self._send(sender, "withdrawUnbonded")

    def slash(self, sender: Sender, account: str, amount: int, beneficiary: str) -> TxReceipt:
        return self._send(sender, "slash", account, amount, beneficiary)

    def grant_slasher(self, sender: Sender, account: str) -> TxReceipt:
        return self._send(sender, "grantRole", self._call("SLASHER_ROLE"), account)

    def grant_locker(self, sender: Sender, account: str) -> TxReceipt:
        return self._send(sender, "grantRole", self._call("LOCKER_ROLE"), account)

    def lock(self, sender: Sender, account: str, amount: int) -> TxReceipt:
        """Lock ``amount`` more of ``account``'s stake (LOCKER_ROLE only; never past its slashable stake)."""
        return self._send(sender, "lock", account, amount)

    def locked_of(self, account: str) -> int:
        return int(self._call("lockedOf", account))

    def stake_of(self, account: str) -> int:
        return int(self._call("stakeOf", account))

    def slashable_of(self, account: str) -> int:
        return int(self._call("slashableOf", account))

    def free_stake_of(self, account: str) -> int:
        """Active stake not locked by any work: what makes ``account`` eligible for more."""
        return int(self._call("freeStakeOf", account))

    def roles_of(self, account: str) -> Role:
        return Role(self._call("rolesOf", account))

    def is_eligible(self, account: str, role: Role, min_stake: int) -> bool:
        return bool(self._call("isEligible", account, int(role), min_stake))

    def pending_unbonds(self, account: str) -> list[Unbond]:
        return [Unbond(int(a), int(t)) for a, t in self._call("pendingUnbonds", account)]

    def unbonding_delay(self) -> int:
        return int(self._call("unbondingDelay"))

    def max_pending_unbonds(self) -> int:
        return int(self._call("maxPendingUnbonds"))

    def min_stake(self) -> int:
        return int(self._call("minStake"))


class TaskManager(_Client):
    """Tasks, rounds, phases, commit-reveal and the aggregator's posting."""

    def create_task(self, sender: Sender, config: TaskConfig) -> tuple[int, TxReceipt]:
        receipt = self._send(sender, "createTask", config.as_tuple())
        (event,) = self.contract.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["taskId"]), receipt

    def commit(self, sender: Sender, task_id: int, round_: int, commitment: bytes) -> TxReceipt:
        return self._send(sender, "commit", task_id, round_, commitment)

    def reveal(
        self,
        sender: Sender,
        task_id: int,
        round_: int,
        delta_cid: bytes,
        trace_root: bytes,
        final_state_hash: bytes,
        salt: bytes,
    ) -> TxReceipt:
        return self._send(sender, "reveal", task_id, round_, delta_cid, trace_root, final_state_hash, salt)

    def post_scores(
        self,
        sender: Sender,
        task_id: int,
        round_: int,
        *,
        new_model_cid: bytes,
        scores_root: bytes,
        trace_root: bytes,
        scores_cid: bytes,
        total_reward: int,
    ) -> TxReceipt:
        return self._send(
            sender, "postScores", task_id, round_, new_model_cid, scores_root, trace_root, scores_cid, total_reward
        )

    def advance(self, sender: Sender, task_id: int) -> TxReceipt:
        return self._send(sender, "advance", task_id)

    def slash_no_reveal(self, sender: Sender, task_id: int, round_: int, trainer: str) -> TxReceipt:
        return self._send(sender, "slashNoReveal", task_id, round_, trainer)

    def release(self, sender: Sender, task_id: int, round_: int, trainer: str) -> TxReceipt:
        """Release the stake ``trainer``'s commitment locked (the round must be finalized)."""
        return self._send(sender, "release", task_id, round_, trainer)

    def open_dispute(self, sender: Sender, task_id: int, round_: int) -> TxReceipt:
        return self._send(sender, "openDispute", task_id, round_)

    def close_dispute(self, sender: Sender, task_id: int, round_: int) -> TxReceipt:
        return self._send(sender, "closeDispute", task_id, round_)

    def aggregator_of(self, task_id: int) -> str:
        return str(self._call("aggregatorOf", task_id))

    def disqualify(self, sender: Sender, task_id: int, round_: int, trainer: str) -> TxReceipt:
        return self._send(sender, "disqualify", task_id, round_, trainer)

    def is_disqualified(self, task_id: int, round_: int, trainer: str) -> bool:
        return bool(self._call("isDisqualified", task_id, round_, trainer))

    def grant_dispute_role(self, sender: Sender, account: str) -> TxReceipt:
        return self._send(sender, "grantRole", self._call("DISPUTE_ROLE"), account)

    def compute_commitment(
        self,
        delta_cid: bytes,
        trace_root: bytes,
        final_state_hash: bytes,
        salt: bytes,
        trainer: str,
        task_id: int,
        round_: int,
    ) -> bytes:
        return bytes(
            self._call("computeCommitment", delta_cid, trace_root, final_state_hash, salt, trainer, task_id, round_)
        )

    def task_count(self) -> int:
        return int(self._call("taskCount"))

    def get_task(self, task_id: int) -> Task:
        owner, current, model, cfg = self._call("getTask", task_id)
        return Task(task_id, owner, int(current), bytes(model), TaskConfig(*cfg))

    def get_round(self, task_id: int, round_: int) -> Round:
        raw = self._call("getRound", task_id, round_)
        phase, failed, deadline, commits, reveals, disputes, seed, base, new, root, trace, scores, total = raw
        return Round(
            task_id, round_, Phase(phase), bool(failed), int(deadline), int(commits), int(reveals), int(disputes),
            bytes(seed), bytes(base), bytes(new), bytes(root), bytes(trace), bytes(scores), int(total),
        )  # fmt: skip

    def get_submission(self, task_id: int, round_: int, trainer: str) -> Submission:
        c, revealed, penalized, released, trace, final = self._call("getSubmission", task_id, round_, trainer)
        return Submission(bytes(c), bool(revealed), bool(penalized), bool(released), bytes(trace), bytes(final))

    def is_finalized(self, task_id: int, round_: int) -> bool:
        return bool(self._call("isFinalized", task_id, round_))

    def is_complete(self, task_id: int) -> bool:
        return bool(self._call("isComplete", task_id))


class RewardVault(_Client):
    """Per-round reward budgets and pull-based Merkle claims."""

    def claim(self, sender: Sender, task_id: int, round_: int, score: int, amount: int, proof: Sequence[bytes]) -> TxReceipt:
        return self._send(sender, "claim", task_id, round_, score, amount, list(proof))

    def reclaim(self, sender: Sender, task_id: int) -> TxReceipt:
        return self._send(sender, "reclaim", task_id)

    def bind(self, sender: Sender, task_manager: str) -> TxReceipt:
        return self._send(sender, "bind", task_manager)

    def sweep(self, sender: Sender, task_id: int, round_: int) -> TxReceipt:
        """After the claim window: send the round's unclaimed allocation to the task owner."""
        return self._send(sender, "sweep", task_id, round_)

    def claim_window(self) -> int:
        return int(self._call("claimWindow"))

    def held_for(self, task_id: int) -> int:
        return int(self._call("heldFor", task_id))

    def round_rewards(self, task_id: int, round_: int) -> RoundRewards:
        root, total, claimed, deadline, swept = self._call("roundRewards", task_id, round_)
        return RoundRewards(bytes(root), int(total), int(claimed), int(deadline), bool(swept))

    def has_claimed(self, task_id: int, round_: int, account: str) -> bool:
        return bool(self._call("hasClaimed", task_id, round_, account))

    def unallocated(self, task_id: int) -> int:
        return int(self._call("unallocated", task_id))

    def verify_leaf(self, task_id: int, round_: int, account: str, score: int, amount: int, proof: Sequence[bytes]) -> bool:
        return bool(self._call("verifyLeaf", task_id, round_, account, score, amount, list(proof)))



@dataclass(frozen=True)
class Epoch:
    epoch: int
    seed: bytes
    snapshot_block: int
    ego: str
    root: bytes
    scores_cid: bytes
    post_deadline: int = 0

    @property
    def posted(self) -> bool:
        return self.root != b"\x00" * 32

    def expired(self, now: int) -> bool:
        """Whether the post window passed without a root (a new epoch may start)."""
        return not self.posted and now > self.post_deadline


class ReputationOracle(_Client):
    """MeritRank epoch roots."""

    def start_epoch(self, sender: Sender) -> tuple[int, TxReceipt]:
        receipt = self._send(sender, "startEpoch")
        (event,) = self.contract.events.EpochStarted().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["epoch"]), receipt

    def post_epoch(self, sender: Sender, epoch: int, ego: str, root: bytes, scores_cid: bytes = b"") -> TxReceipt:
        return self._send(sender, "postEpoch", epoch, ego, root, scores_cid)

    def grant_poster(self, sender: Sender, account: str) -> TxReceipt:
        return self._send(sender, "grantRole", self._call("POSTER_ROLE"), account)

    def is_poster(self, account: str) -> bool:
        return bool(self._call("hasRole", self._call("POSTER_ROLE"), account))

    def post_window(self) -> int:
        return int(self._call("postWindow"))

    def verify_score(self, epoch: int, account: str, score: int, proof: Sequence[bytes]) -> bool:
        return bool(self._call("verifyScore", epoch, account, score, list(proof)))

    def get_epoch(self, epoch: int) -> Epoch:
        seed, block, ego, root, cid, deadline = self._call("getEpoch", epoch)
        return Epoch(epoch, bytes(seed), int(block), ego, bytes(root), bytes(cid), int(deadline))

    def latest_epoch(self) -> int:
        return int(self._call("latestEpoch"))
