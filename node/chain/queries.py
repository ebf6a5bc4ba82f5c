"""Read meritnet's state into plain JSON-able dicts (for ``meritnet query`` and scripts).

Bytes are shown as ``0x`` hex, phases and roles by name, amounts in token units (integers).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from web3 import Web3

from node.chain.contracts import Role
from node.chain.deploy import Network
from node.errors import ConfigError
from verifier.merkle import RewardLeaf, SortedMerkleTree, reward_leaves

__all__ = ["jsonable", "deployment_info", "account_info", "task_info", "round_info", "rewards_info", "load_leaves"]


def jsonable(value: Any) -> Any:
    """Turn dataclasses, bytes and enums into JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Role):
        return [r.name.lower() for r in Role if r in value and r.name]
    if isinstance(value, Enum):
        return value.name.lower()
    return value


def deployment_info(net: Network) -> dict[str, Any]:
    d = net.deployment
    return {
        "chain_id": d.chain_id,
        "deployer": d.deployer,
        "contracts": {name: rec.address for name, rec in d.contracts.items()},
        "blocks": {name: rec.block for name, rec in d.contracts.items()},
        "abi_hashes": {name: rec.abi_hash for name, rec in d.contracts.items()},
    }


def _address(value: str) -> str:
    if not Web3.is_address(value):
        raise ConfigError(f"{value!r} is not an Ethereum address", hint="expected 0x followed by 40 hex digits")
    return Web3.to_checksum_address(value)


def account_info(net: Network, address: str) -> dict[str, Any]:
    address = _address(address)
    return jsonable({
        "address": address,
        "eth_balance": net.w3.eth.get_balance(address),
        "token_balance": net.token.balance_of(address),
        "roles": net.registry.roles_of(address),
        "stake": net.registry.stake_of(address),
        "slashable": net.registry.slashable_of(address),
        "pending_unbonds": net.registry.pending_unbonds(address),
    })  # fmt: skip


def _check_task(net: Network, task_id: int) -> None:
    count = net.tasks.task_count()
    if not 1 <= task_id <= count:
        raise ConfigError(f"task {task_id} does not exist", hint=f"tasks on this deployment: 1..{count}" if count else "no task created yet")


def task_info(net: Network, task_id: int) -> dict[str, Any]:
    _check_task(net, task_id)
    task = net.tasks.get_task(task_id)
    info = jsonable(task)
    info["budget"] = task.config.budget
    info["unallocated"] = net.vault.unallocated(task_id)
    info["complete"] = net.tasks.is_complete(task_id)
    return info


def round_info(net: Network, task_id: int, round_: int | None = None) -> dict[str, Any]:
    _check_task(net, task_id)
    current = net.tasks.get_task(task_id).current_round
    round_ = current if round_ is None else round_
    if not 1 <= round_ <= current:
        raise ConfigError(f"task {task_id} has no round {round_}", hint=f"rounds so far: 1..{current}")
    rnd = net.tasks.get_round(task_id, round_)
    info = jsonable(rnd)
    info["claimable"] = net.tasks.is_finalized(task_id, round_)
    rewards = net.vault.round_rewards(task_id, round_)
    info["claimed_total"] = rewards.claimed
    info["now"] = net.w3.eth.get_block("latest")["timestamp"]
    return info


def load_leaves(path: Path) -> list[RewardLeaf]:
    """A round's reward table from a JSON file: a ``StandardMerkleTree.dump()`` (leafEncoding
    ``["address", "int256", "uint256"]``), a scores table, or a list of {"account", "score", "amount"}."""
    try:
        return reward_leaves(json.loads(path.read_text()))
    except OSError as exc:
        raise ConfigError(f"cannot read the reward table {path}: {exc.strerror}") from exc
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ConfigError(f"{path} is not a reward table: {exc}",
                          hint='expected a StandardMerkleTree dump (format "standard-v1"), a scores table, or [{"account", "score", "amount"}, ...]') from exc  # fmt: skip


def rewards_info(net: Network, address: str, task_id: int, rounds: Sequence[int] | None = None, leaves: Sequence[RewardLeaf] | None = None) -> dict[str, Any]:
    """Per round: the allocation, whether ``address`` claimed, and (given the round's reward
    table) what it can claim, checked against the on-chain root."""
    address = _address(address)
    _check_task(net, task_id)
    current = net.tasks.get_task(task_id).current_round
    tree = SortedMerkleTree([leaf.hash() for leaf in leaves]) if leaves else None
    mine = next((leaf for leaf in leaves or [] if leaf.account == address), None)
    out = []
    for r in rounds or range(1, current + 1):
        rnd = net.tasks.get_round(task_id, r)
        entry: dict[str, Any] = {
            "round": r,
            "phase": rnd.phase.name.lower(),
            "finalized": net.tasks.is_finalized(task_id, r),
            "claimed": net.vault.has_claimed(task_id, r, address),
            "allocation": net.vault.round_rewards(task_id, r).total,
        }
        if tree is not None and mine is not None and rnd.scores_root == tree.root:
            proof = tree.proof(mine.hash())
            entry["amount"] = mine.amount
            entry["score"] = mine.score
            entry["proof"] = ["0x" + p.hex() for p in proof]
            entry["claimable"] = entry["finalized"] and not entry["claimed"]
        out.append(entry)
    return {"address": address, "task": task_id, "rounds": out}

