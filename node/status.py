"""What a trainer node is doing and waiting for, from its journal and the chain.

:func:`node_status` reads (never writes) a node's journal and the contracts and returns a
plain dict for ``meritnet status``: identity, stake, the task and round, the phase and its
deadline, the next action, steps journaled as started but not confirmed on chain (pending
transactions), open disputes and unclaimed rewards. :func:`next_action` is the pure decision
behind "next", mirroring :meth:`node.roles.trainer.Trainer.step`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from node.chain.contracts import Phase, Role, Submission
from node.chain.deploy import Network
from node.chain.disputes import Stage
from node.errors import MeritnetError
from node.roles.common import scores_table
from node.roles.journal import read_journal
from node.storage import ContentStore

__all__ = ["journal_path", "next_action", "node_status"]

_EMPTY = b"\x00" * 32


def journal_path(journal_dir: Path, task_id: int, address: str) -> Path:
    """Where a trainer keeps its journal (as :class:`~node.roles.trainer.Trainer` names it)."""
    return journal_dir / f"task{task_id}-{address}.json"


def next_action(*, registered: bool, complete: bool, phase: Phase, submission: Submission, entry: dict[str, Any], unclaimed: int) -> str:
    """The trainer's next step, in words, from what the chain and its journal say."""
    committed = submission.commitment != _EMPTY
    if not registered:
        return "register with a stake"
    if complete:
        return "claim the unclaimed rewards" if unclaimed else "nothing: the task is complete"
    if phase == Phase.COMMIT:
        if committed:
            return "wait for the reveal phase"
        if "delta_cid" in entry:
            return "commit the journaled delta"
        return "train on its shard, store the delta and commit"
    if phase == Phase.REVEAL:
        if not committed:
            return "wait for the next round (no commitment this round)"
        if submission.revealed:
            return "wait for the aggregator's scores"
        if "salt" not in entry:
            return "cannot reveal: the journal holds no salt for this round"
        if entry.get("commitment") and bytes.fromhex(entry["commitment"]) != submission.commitment:
            return "cannot reveal: the journal's commitment differs from the chain's"
        return "reveal the committed delta"
    if phase == Phase.SCORE:
        return "wait for the aggregator's scores"
    if phase == Phase.CHALLENGE:
        return "wait for the challenge window to close"
    if phase == Phase.FINALIZED or unclaimed:
        return "claim the round's reward" if unclaimed else "wait for the next round"
    return "wait for the task to start"


def _pending(entry: dict[str, Any], submission: Submission) -> list[str]:
    """Steps journaled as begun whose effect the chain does not show yet (the journal records a
    commitment before sending it; a restarted node re-sends it if the chain never saw it)."""
    out = []
    if entry.get("commitment") and not entry.get("committed") and submission.commitment == _EMPTY:
        out.append("commit (journaled, not on chain)")
    return out


def node_status(net: Network, store: ContentStore | None, task_id: int, address: str, journal: Path) -> dict[str, Any]:
    """Everything ``meritnet status`` shows for ``address`` on ``task_id`` (journal read only)."""
    rounds = {int(k): v for k, v in read_journal(journal).items()}
    registry, tasks = net.registry, net.tasks
    roles = registry.roles_of(address)
    stake, locked = registry.stake_of(address), registry.locked_of(address)
    task = tasks.get_task(task_id)
    current = task.current_round
    rnd = tasks.get_round(task_id, current)
    sub = tasks.get_submission(task_id, current, address)
    now = int(net.w3.eth.get_block("latest")["timestamp"])
    complete = tasks.is_complete(task_id)
    entry = rounds.get(current, {})

    unclaimed: list[dict[str, Any]] = []
    for past in range(1, current + 1):
        if not tasks.is_finalized(task_id, past) or net.vault.has_claimed(task_id, past, address):
            continue
        if not tasks.get_submission(task_id, past, address).revealed:
            continue
        row: dict[str, Any] = {"round": past, "amount": None}
        if store is not None:
            try:
                leaves = scores_table(net, store, task_id, past, attempts=1) or []
                row["amount"] = next((leaf.amount for leaf in leaves if leaf.account.lower() == address.lower()), 0)
            except MeritnetError as exc:
                row["error"] = exc.one_line()
        if row["amount"] != 0:
            unclaimed.append(row)

    disputes = [
        {"dispute": d.dispute_id, "round": d.round, "stage": d.stage.name.lower(), "as": "defender" if d.defender.lower() == address.lower() else "challenger",
         "deadline": d.deadline}
        for d in net.disputes.all(task_id)
        if d.stage != Stage.RESOLVED and address.lower() in (d.defender.lower(), d.challenger.lower())
    ]  # fmt: skip
    return {
        "address": address,
        "roles": [r.name.lower() for r in Role if r in roles and r.name],
        "stake": stake,
        "locked": locked,
        "free": max(0, stake - locked),
        "task": task_id,
        "round": current,
        "rounds": task.config.num_rounds,
        "complete": complete,
        "phase": rnd.phase.name.lower(),
        "deadline": rnd.deadline,
        "seconds_left": max(0, rnd.deadline - now),
        "committed": sub.commitment != _EMPTY,
        "revealed": sub.revealed,
        "journal": str(journal),
        "journaled": sorted(k for k in entry if k in ("delta_cid", "salt", "commitment", "committed", "revealed", "claimed")),
        "next": next_action(registered=bool(roles & Role.TRAINER), complete=complete, phase=rnd.phase, submission=sub, entry=entry, unclaimed=len(unclaimed)),
        "pending": _pending(entry, sub),
        "disputes": disputes,
        "unclaimed": unclaimed,
    }
