"""TaskManager: tasks, phases and deadlines, commit-reveal bound to the sender, scores, disputes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_abi import encode
from eth_utils import keccak

from node.chain.contracts import Phase, Role
from node.chain.deploy import Network
from tests.helpers import (
    TOKEN,
    advance,
    commit,
    create_task,
    pass_deadline,
    post,
    register,
    reverts,
    run_round_to_score,
    submission,
    task_config,
)


@pytest.fixture
def parties(net: Network, accounts: list[str]) -> dict[str, str]:
    p = {"owner": accounts[0], "aggregator": accounts[1], "t1": accounts[2], "t2": accounts[3], "t3": accounts[4],
         "outsider": accounts[9], "poor": accounts[8]}  # fmt: skip
    register(net, p["aggregator"], Role.AGGREGATOR)
    for t in ("t1", "t2", "t3"):
        register(net, p[t])
    register(net, p["poor"], Role.TRAINER, 10 * TOKEN)
    return p


def test_create_task_deposits_budget_and_opens_round_one(net: Network, parties: dict[str, str]) -> None:
    owner = parties["owner"]
    vault_before = net.token.balance_of(net.vault.address)
    task_id = create_task(net, owner, parties["aggregator"])
    task = net.tasks.get_task(task_id)
    assert (task.owner, task.current_round) == (owner, 1)
    assert task.config == task_config(parties["aggregator"])
    assert net.tasks.task_count() == task_id
    assert net.token.balance_of(net.vault.address) == vault_before + 200 * TOKEN
    assert net.vault.unallocated(task_id) == 200 * TOKEN
    rnd = net.tasks.get_round(task_id, 1)
    assert rnd.phase == Phase.COMMIT
    assert rnd.base_model_cid == task.config.model_cid
    assert rnd.seed != b"\x00" * 32


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("model_cid", b"", "modelCid"),
        ("data_cid", b"", "dataCid"),
        ("aggregator", "0x0000000000000000000000000000000000000000", "aggregator"),
        ("num_rounds", 0, "numRounds"),
        ("commit_duration", 0, "duration"),
        ("challenge_duration", 0, "duration"),
    ],
)
def test_create_task_invalid_config_reverts(net: Network, parties: dict[str, str], field: str, value: object, reason: str) -> None:
    config = replace(task_config(parties["aggregator"]), **{field: value})
    net.token.approve(parties["owner"], net.vault.address, 10**30)
    with reverts("TaskManagerInvalidConfig", reason=reason):
        net.tasks.create_task(parties["owner"], config)


def test_create_task_without_funds_reverts(net: Network, parties: dict[str, str]) -> None:
    with reverts("ERC20InsufficientAllowance", spender=net.vault.address, needed=200 * TOKEN):
        net.tasks.create_task(parties["owner"], task_config(parties["aggregator"]))


def test_unknown_task_reverts(net: Network, parties: dict[str, str]) -> None:
    with reverts("TaskManagerUnknownTask", taskId=7):
        net.tasks.get_task(7)
    with reverts("TaskManagerUnknownTask", taskId=0):
        net.tasks.advance(parties["outsider"], 0)


def test_commit_requires_eligible_trainer(net: Network, parties: dict[str, str]) -> None:
    task_id = create_task(net, parties["owner"], parties["aggregator"], min_stake=15 * TOKEN)
    values = submission(parties["outsider"])
    with reverts("TaskManagerNotEligible", account=parties["outsider"], role=1, minStake=15 * TOKEN):
        commit(net, task_id, 1, parties["outsider"], values)
    with reverts("TaskManagerNotEligible", account=parties["poor"]):
        commit(net, task_id, 1, parties["poor"], submission(parties["poor"]))
    with reverts("TaskManagerNotEligible", account=parties["aggregator"]):
        commit(net, task_id, 1, parties["aggregator"], submission(parties["aggregator"]))


def test_commit_rules(net: Network, parties: dict[str, str]) -> None:
    t1 = parties["t1"]
    task_id = create_task(net, parties["owner"], parties["aggregator"])
    with reverts("TaskManagerEmptyCommitment"):
        net.tasks.commit(t1, task_id, 1, b"\x00" * 32)
    with reverts("TaskManagerNotCurrentRound", taskId=task_id, round=2, currentRound=1):
        commit(net, task_id, 2, t1, submission(t1))
    commit(net, task_id, 1, t1, submission(t1))
    assert net.tasks.get_round(task_id, 1).commits == 1
    with reverts("TaskManagerAlreadyCommitted", taskId=task_id, round=1, trainer=t1):
        commit(net, task_id, 1, t1, submission(t1, 1))


def test_commit_after_deadline_reverts(net: Network, parties: dict[str, str]) -> None:
    task_id = create_task(net, parties["owner"], parties["aggregator"])
    pass_deadline(net, task_id)
    with reverts("TaskManagerDeadlinePassed", taskId=task_id, round=1):
        commit(net, task_id, 1, parties["t1"], submission(parties["t1"]))


def test_advance_before_deadline_reverts_and_anyone_may_advance_after(net: Network, parties: dict[str, str]) -> None:
    task_id = create_task(net, parties["owner"], parties["aggregator"])
    deadline = net.tasks.get_round(task_id, 1).deadline
    with reverts("TaskManagerDeadlineNotReached", taskId=task_id, round=1, deadline=deadline):
        net.tasks.advance(parties["outsider"], task_id)
    advance(net, task_id, parties["outsider"])  # not a participant
    assert net.tasks.get_round(task_id, 1).phase == Phase.REVEAL


def test_reveal_must_match_commitment(net: Network, parties: dict[str, str]) -> None:
    t1 = parties["t1"]
    task_id = create_task(net, parties["owner"], parties["aggregator"])
    values = submission(t1)
    committed = commit(net, task_id, 1, t1, values)
    with reverts("TaskManagerWrongPhase", taskId=task_id, round=1, expected=Phase.REVEAL, actual=Phase.COMMIT):
        net.tasks.reveal(t1, task_id, 1, *values)
    advance(net, task_id, t1)
    with reverts("TaskManagerWrongPhase", expected=Phase.COMMIT, actual=Phase.REVEAL):
        commit(net, task_id, 1, parties["t2"], submission(parties["t2"]))
    tampered = (values[0], values[1], b"\x99" * 32, values[3])
    with reverts("TaskManagerRevealMismatch", trainer=t1, committed=committed):
        net.tasks.reveal(t1, task_id, 1, *tampered)
    net.tasks.reveal(t1, task_id, 1, *values)
    sub = net.tasks.get_submission(task_id, 1, t1)
    assert (sub.revealed, sub.trace_root, sub.final_state_hash) == (True, *values[1:3])
    with reverts("TaskManagerAlreadyRevealed", trainer=t1):
        net.tasks.reveal(t1, task_id, 1, *values)


def test_reveal_without_commit_or_late_reverts(net: Network, parties: dict[str, str]) -> None:
    task_id = create_task(net, parties["owner"], parties["aggregator"])
    values = submission(parties["t1"])
    commit(net, task_id, 1, parties["t1"], values)
    advance(net, task_id, parties["t1"])
    with reverts("TaskManagerNotCommitted", taskId=task_id, round=1, trainer=parties["t2"]):
        net.tasks.reveal(parties["t2"], task_id, 1, *submission(parties["t2"]))
    pass_deadline(net, task_id)
    with reverts("TaskManagerDeadlinePassed", taskId=task_id, round=1):
        net.tasks.reveal(parties["t1"], task_id, 1, *values)


def test_copying_a_commitment_gains_nothing(net: Network, parties: dict[str, str]) -> None:
    """A copycat replays an honest commitment, then replays its reveal: both fail, and it is slashed."""
    honest, copycat = parties["t1"], parties["t2"]
    task_id = create_task(net, parties["owner"], parties["aggregator"])
    values = submission(honest)
    commitment = commit(net, task_id, 1, honest, values)
    net.tasks.commit(copycat, task_id, 1, commitment)  # replayed hash
    advance(net, task_id, honest)
    net.tasks.reveal(honest, task_id, 1, *values)
    with reverts("TaskManagerRevealMismatch", trainer=copycat, committed=commitment):
        net.tasks.reveal(copycat, task_id, 1, *values)  # replayed reveal
    advance(net, task_id, honest)
    stake = net.registry.stake_of(copycat)
    net.tasks.slash_no_reveal(parties["outsider"], task_id, 1, copycat)
    assert net.registry.stake_of(copycat) == stake - 5 * TOKEN
    assert net.registry.stake_of(honest) == 20 * TOKEN
    with reverts("TaskManagerNoRevealNotSlashable", trainer=honest):
        net.tasks.slash_no_reveal(parties["outsider"], task_id, 1, honest)
    with reverts("TaskManagerNoRevealNotSlashable", trainer=copycat):
        net.tasks.slash_no_reveal(parties["outsider"], task_id, 1, copycat)


def test_commitment_is_bound_to_task_and_round(net: Network, parties: dict[str, str]) -> None:
    t1 = parties["t1"]
    task_id = create_task(net, parties["owner"], parties["aggregator"])
    values = submission(t1)
    onchain = net.tasks.compute_commitment(*values, t1, task_id, 1)
    local = keccak(encode(["bytes", "bytes32", "bytes32", "bytes32", "address", "uint256", "uint32"], [*values, t1, task_id, 1]))
    assert onchain == local
    assert onchain != net.tasks.compute_commitment(*values, t1, task_id, 2)
    assert onchain != net.tasks.compute_commitment(*values, t1, task_id + 1, 1)
    assert onchain != net.tasks.compute_commitment(*values, parties["t2"], task_id, 1)


def test_slash_no_reveal_only_after_reveal_phase(net: Network, parties: dict[str, str]) -> None:
    t1 = parties["t1"]
    task_id = create_task(net, parties["owner"], parties["aggregator"])
    commit(net, task_id, 1, t1, submission(t1))
    advance(net, task_id, t1)
    with reverts("TaskManagerWrongPhase", expected=Phase.SCORE, actual=Phase.REVEAL):
        net.tasks.slash_no_reveal(parties["outsider"], task_id, 1, t1)


def test_post_scores_rules(net: Network, parties: dict[str, str]) -> None:
    agg = parties["aggregator"]
    task_id = create_task(net, parties["owner"], agg)
    trainers = [parties["t1"], parties["t2"]]
    entries = [(t, 10**17, 40 * TOKEN) for t in trainers]
    with reverts("TaskManagerWrongPhase", expected=Phase.SCORE, actual=Phase.COMMIT):
        post(net, task_id, 1, agg, entries)
    run_round_to_score(net, task_id, 1, trainers, parties["outsider"])
    with reverts("TaskManagerNotAggregator", taskId=task_id, caller=parties["t1"], aggregator=agg):
        post(net, task_id, 1, parties["t1"], entries)
    with reverts("TaskManagerRewardExceedsBudget", taskId=task_id, requested=101 * TOKEN, rewardPerRound=100 * TOKEN):
        post(net, task_id, 1, agg, entries, total=101 * TOKEN)
    for field, bad in (("new_model_cid", b""), ("scores_root", b"\x00" * 32)):
        args = {"new_model_cid": b"\x01", "scores_root": b"\x01" * 32, "trace_root": b"\x00" * 32,
                "scores_cid": b"", "total_reward": 0} | {field: bad}  # fmt: skip
        with reverts("TaskManagerInvalidConfig", reason={"new_model_cid": "newModelCid", "scores_root": "scoresRoot"}[field]):
            net.tasks.post_scores(agg, task_id, 1, **args)
    post(net, task_id, 1, agg, entries)
    rnd = net.tasks.get_round(task_id, 1)
    assert rnd.phase == Phase.CHALLENGE and rnd.total_reward == 80 * TOKEN and rnd.reveals == 2
    assert net.vault.unallocated(task_id) == 120 * TOKEN


def test_unstaked_aggregator_cannot_post(net: Network, parties: dict[str, str]) -> None:
    agg = parties["outsider"]  # named by the owner but never registered
    task_id = create_task(net, parties["owner"], agg)
    run_round_to_score(net, task_id, 1, [parties["t1"]], parties["t1"])
    with reverts("TaskManagerNotEligible", account=agg, role=2):
        post(net, task_id, 1, agg, [(parties["t1"], 1, TOKEN)])


def test_missed_score_deadline_fails_round_and_opens_next(net: Network, parties: dict[str, str]) -> None:
    task_id = create_task(net, parties["owner"], parties["aggregator"])
    run_round_to_score(net, task_id, 1, [parties["t1"]], parties["outsider"])
    advance(net, task_id, parties["outsider"])
    rnd = net.tasks.get_round(task_id, 1)
    assert rnd.phase == Phase.FINALIZED and rnd.failed
    assert not net.tasks.is_finalized(task_id, 1)
    task = net.tasks.get_task(task_id)
    assert task.current_round == 2 and task.current_model_cid == task.config.model_cid
    assert net.vault.unallocated(task_id) == 200 * TOKEN


def test_finalize_moves_model_on_and_task_completes(net: Network, parties: dict[str, str]) -> None:
    agg, outsider = parties["aggregator"], parties["outsider"]
    task_id = create_task(net, parties["owner"], agg)
    for round_ in (1, 2):
        run_round_to_score(net, task_id, round_, [parties["t1"]], outsider)
        post(net, task_id, round_, agg, [(parties["t1"], 1, TOKEN)])
        advance(net, task_id, outsider)
        assert net.tasks.is_finalized(task_id, round_)
    task = net.tasks.get_task(task_id)
    assert task.current_round == 2
    assert task.current_model_cid == net.tasks.get_round(task_id, 2).new_model_cid
    assert net.tasks.get_round(task_id, 2).base_model_cid == net.tasks.get_round(task_id, 1).new_model_cid
    assert net.tasks.is_complete(task_id)
    pass_deadline(net, task_id)
    with reverts("TaskManagerTaskComplete", taskId=task_id):
        net.tasks.advance(outsider, task_id)


def test_open_dispute_blocks_finalization(net: Network, parties: dict[str, str], accounts: list[str]) -> None:
    admin, game, agg, outsider = accounts[0], accounts[7], parties["aggregator"], parties["outsider"]
    task_id = create_task(net, parties["owner"], agg)
    role = net.tasks.contract.functions.DISPUTE_ROLE().call()
    with reverts("AccessControlUnauthorizedAccount", account=game, neededRole=role):
        net.tasks.open_dispute(game, task_id, 1)
    net.tasks.grant_dispute_role(admin, game)
    with reverts("TaskManagerWrongPhase", expected=Phase.CHALLENGE, actual=Phase.COMMIT):
        net.tasks.open_dispute(game, task_id, 1)
    run_round_to_score(net, task_id, 1, [parties["t1"]], outsider)
    post(net, task_id, 1, agg, [(parties["t1"], 1, TOKEN)])
    net.tasks.open_dispute(game, task_id, 1)
    pass_deadline(net, task_id)
    with reverts("TaskManagerDisputeOpen", taskId=task_id, round=1, openDisputes=1):
        net.tasks.advance(outsider, task_id)
    net.tasks.close_dispute(game, task_id, 1)
    with reverts("TaskManagerNoOpenDispute", taskId=task_id, round=1):
        net.tasks.close_dispute(game, task_id, 1)
    net.tasks.advance(outsider, task_id)
    assert net.tasks.is_finalized(task_id, 1)
