"""DisputeGame and RefereeCommittee on a real EVM: complete disputes with real training traces,
every way to cheat in them, and every way to attack the committee's verdict."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from py_ecc import optimized_bn128 as bn

from node.chain.disputes import Party, Stage
from node.chain.provider import advance_time, connect
from node.dispute_sim import Arena, SimulationSpec
from tests.helpers import create_task, post, register, reverts, run_round_to_score
from verifier.dispute.bls import (
    KeyPair,
    aggregate_g1,
    aggregate_g2,
    g1_to_sol,
    g2_to_sol,
    signer_bitmap,
    verdict_message,
)
from verifier.dispute.game import Player, expected_moves, play

TOKEN = 10**18


@pytest.fixture(scope="module", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.devnet)])
def arena(request: pytest.FixtureRequest) -> Arena:
    w3 = connect("eth-tester://") if request.param == "eth-tester" else connect(request.getfixturevalue("anvil_url"))
    return Arena(w3)


def _reference(arena: Arena, spec: SimulationSpec):  # noqa: ANN202
    case = arena.prepare(spec)
    d, c = case.claims["defender"], case.claims["challenger"]
    return play(Player(d), Player(c), case.ops, case.referee, defender_final=d.states[-1])


@pytest.mark.parametrize(("k", "t", "j"), [(3, 1, 13), (1, 0, 0), (8, 7, 21), (7, 0, 12)])
def test_a_cheating_trainer_is_located_slashed_and_the_verifier_paid(arena: Arena, k: int, t: int, j: int) -> None:
    out = arena.dispute(SimulationSpec(steps=k, fault_step=t, fault_op=j, liar="defender"))
    assert (out["winner"], out["loser"]) == ("challenger", "defender")
    assert out["located"] == {"step": t, "op": j} and out["moves"] == out["expected_moves"] == expected_moves(k, 22)
    stake = out["stake"]["defender"]
    assert out["slashed"] == stake["before"] // 2 and stake["after"] == stake["before"] - out["slashed"]
    assert out["balance_change"]["challenger"] == out["slashed"] // 2  # its share of the slash; the bond came back
    assert out["stake"]["challenger"]["after"] == out["stake"]["challenger"]["before"]
    ref = _reference(arena, SimulationSpec(steps=k, fault_step=t, fault_op=j, liar="defender"))
    assert (ref.step, ref.op, ref.moves) == (t, j, out["moves"])  # the contract plays by the reference rules


def test_a_false_accusation_costs_the_challenger_its_bond_and_never_the_honest_trainer(arena: Arena) -> None:
    out = arena.dispute(SimulationSpec(steps=2, fault_step=1, fault_op=3, liar="challenger"))
    bond = arena.net.disputes.params().bond
    assert (out["winner"], out["loser"], out["slashed"]) == ("defender", "challenger", 0)
    assert out["stake"]["defender"]["after"] == out["stake"]["defender"]["before"]
    assert out["balance_change"] == {"defender": bond // 2, "challenger": -bond}


def test_an_adaptive_liar_fails_its_borrowed_proofs_and_is_still_caught(arena: Arena) -> None:
    out = arena.dispute(SimulationSpec(steps=8, fault_step=2, fault_op=13, liar="defender", adaptive=True))
    assert out["winner"] == "challenger" and out["located"]["step"] == 2
    assert out["rejected_answers"] > 0


@pytest.mark.parametrize("silent", ["defender", "challenger"])
def test_a_silent_party_loses_at_its_deadline(arena: Arena, silent: str) -> None:
    liar = "challenger" if silent == "defender" else "defender"
    out = arena.dispute(SimulationSpec(steps=8, liar=liar, silent=silent))  # type: ignore[arg-type]
    assert out["loser"] == silent and out["gas"]["timeout"] > 0 and out["gas"]["verdict"] == 0
    if silent == "defender":  # the silent one was honest here; silence still loses
        assert out["slashed"] > 0


def test_two_honest_runs_leave_nothing_to_dispute(arena: Arena) -> None:
    out = arena.dispute(SimulationSpec(steps=3, liar="none"))
    assert out["opened"] is False


# -- a reveal is bound to its own trace (issue 13, item 3) ------------------------------------


def test_an_honest_trace_revealed_with_another_final_state_loses_and_the_challenger_keeps_its_bond(arena: Arena) -> None:
    out = arena.dispute(SimulationSpec(steps=3, liar="none", reveal="other-final"))
    assert (out["winner"], out["loser"], out["moves"]) == ("challenger", "defender", 0)
    stake = out["stake"]["defender"]
    assert out["slashed"] == stake["before"] // 2 and stake["after"] == stake["before"] - out["slashed"]
    assert out["balance_change"]["challenger"] == out["slashed"] // 2  # the bond came back, with its share of the slash


def test_a_delta_that_is_not_the_traces_loses_and_the_challenger_keeps_its_bond(arena: Arena) -> None:
    out = arena.dispute(SimulationSpec(steps=3, liar="none", reveal="other-delta", kind="delta"))
    assert (out["winner"], out["loser"], out["moves"]) == ("challenger", "defender", 0)
    assert out["located"] == {"step": 3, "op": "delta"}
    stake = out["stake"]["defender"]
    assert out["slashed"] == stake["before"] // 2 and stake["after"] == stake["before"] - out["slashed"]
    assert out["balance_change"]["challenger"] == out["slashed"] // 2
    assert out["stake"]["challenger"]["after"] == out["stake"]["challenger"]["before"]


@pytest.mark.slow
def test_a_delta_compressed_by_another_rounding_rule_loses_at_the_final_operator(arena: Arena) -> None:
    out = arena.dispute(SimulationSpec(steps=3, liar="none", reveal="other-compression", kind="delta", compression="topk:0.1,int8"))
    assert (out["winner"], out["loser"], out["moves"]) == ("challenger", "defender", 0)
    assert out["located"] == {"step": 3, "op": "delta"}
    assert out["stake"]["defender"]["after"] < out["stake"]["defender"]["before"]


def test_an_honest_delta_never_loses_a_delta_dispute(arena: Arena) -> None:
    out = arena.dispute(SimulationSpec(steps=3, fault_step=1, fault_op=4, liar="challenger", kind="delta"))
    bond = arena.net.disputes.params().bond
    assert (out["winner"], out["loser"], out["slashed"]) == ("defender", "challenger", 0)
    assert out["stake"]["defender"]["after"] == out["stake"]["defender"]["before"]
    assert out["balance_change"] == {"defender": bond // 2, "challenger": -bond}


def test_a_consistent_reveal_leaves_no_delta_to_dispute(arena: Arena) -> None:
    case = arena.prepare(SimulationSpec(steps=2, liar="none"))
    published = hashlib.sha256(case.revealed[0]).digest()
    arena.net.token.approve(arena.verifier, arena.net.disputes.address, arena.net.disputes.params().bond)
    delta_cid, _, _, salt = case.revealed
    with reverts("DisputeGameNoDisagreement"):
        arena.net.disputes.open_delta(arena.verifier, case.task_id, 1, arena.trainer, delta_cid, salt, published)
    # A CID (or salt) other than the revealed one is refused against the stored commitment.
    with reverts("DisputeGameNotRevealedDelta"):
        arena.net.disputes.open_delta(arena.verifier, case.task_id, 1, arena.trainer, delta_cid + b"\x00", salt, published)


def test_moves_are_checked_and_a_dispute_blocks_finalization(arena: Arena) -> None:
    net, games = arena.net, arena.net.disputes
    case = arena.prepare(SimulationSpec(steps=4, fault_step=2, fault_op=4, liar="defender"))
    liar, honest = case.claims["defender"], case.claims["challenger"]
    net.token.approve(arena.verifier, games.address, 10 * games.params().bond)
    with reverts("DisputeGameInvalidProof"):
        games.open(arena.verifier, case.task_id, 1, arena.trainer, honest.root, *honest.state(0), honest.states[4], honest.state(3)[1])
    with reverts("DisputeGameNotChallenger"):
        games.open(arena.outsider, case.task_id, 1, arena.trainer, honest.root, *honest.state(0), *honest.state(4))
    with reverts("DisputeGameNotRevealed"):
        games.open(arena.verifier, case.task_id, 1, arena.outsider, honest.root, *honest.state(0), *honest.state(4))
    with reverts("DisputeGameNoDisagreement"):
        games.open(arena.verifier, case.task_id, 1, arena.trainer, liar.root, *liar.state(0), *liar.state(4))
    dispute_id, _ = arena.open(case)
    with reverts("DisputeGameWrongStage"):
        games.post_state(arena.trainer, dispute_id, *liar.state(2))
    with reverts("DisputeGameNotParty"):
        games.respond(arena.verifier, dispute_id, *liar.state(0), *liar.state(4))
    with reverts("DisputeGameInvalidProof"):
        games.respond(arena.trainer, dispute_id, *honest.state(0), *honest.state(4))  # not its committed trace
    games.respond(arena.trainer, dispute_id, *liar.state(0), *liar.state(4))
    assert games.get(dispute_id).stage == Stage.STEPS and games.query(dispute_id) == 2
    games.post_state(arena.trainer, dispute_id, *liar.state(2))
    with reverts("DisputeGameAlreadyPosted"):
        games.post_state(arena.trainer, dispute_id, *liar.state(2))
    with reverts("DisputeGameDeadlineNotReached"):
        games.timeout(arena.keeper, dispute_id)
    # The round cannot finalize while the dispute is open.
    post(net, case.task_id, 1, arena.owner, [(arena.trainer, 1, TOKEN)])  # Score -> Challenge
    with reverts("TaskManagerDisputeOpen", openDisputes=1):
        arena_advance(arena, case.task_id)
    # The challenger misses its move's deadline: late moves revert, and it loses.
    advance_time(arena.w3, games.get(dispute_id).deadline - _now(arena) + 1)
    with reverts("DisputeGameDeadlinePassed"):
        games.post_state(arena.verifier, dispute_id, *honest.state(2))
    games.timeout(arena.keeper, dispute_id)
    d = games.get(dispute_id)
    assert (d.stage, d.winner) == (Stage.RESOLVED, Party.DEFENDER)
    arena_advance(arena, case.task_id)  # now it finalizes
    assert net.tasks.is_finalized(case.task_id, 1)


def _now(arena: Arena) -> int:
    return int(arena.w3.eth.get_block("latest")["timestamp"])


def arena_advance(arena: Arena, task_id: int) -> None:
    rnd = arena.net.tasks.get_round(task_id, arena.net.tasks.get_task(task_id).current_round)
    advance_time(arena.w3, max(1, rnd.deadline - _now(arena) + 1))
    arena.net.tasks.advance(arena.keeper, task_id)


def test_tasks_without_a_program_cannot_be_disputed(arena: Arena) -> None:
    task_id = create_task(arena.net, arena.owner, arena.owner)
    run_round_to_score(arena.net, task_id, 1, [arena.trainer], arena.keeper)
    sub = arena.net.tasks.get_submission(task_id, 1, arena.trainer)
    with reverts("DisputeGameNotVerifiable", taskId=task_id):
        arena.net.disputes.open(arena.verifier, task_id, 1, arena.trainer, sub.trace_root, b"\x00" * 32, [], b"\x01" * 32, [])


# -- the committee -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def located(arena: Arena) -> tuple[int, bytes]:
    """A dispute waiting for its verdict, and the correct output hash."""
    case = arena.prepare(SimulationSpec(steps=2, fault_step=1, fault_op=13, liar="defender"))
    dispute_id, _ = arena.open(case)
    runner = arena.runner(case, dispute_id)
    d = arena.net.disputes.get(dispute_id)
    while d.stage != Stage.AWAIT_VERDICT:
        runner._advance(d)
        d = arena.net.disputes.get(dispute_id)
    correct = case.honest.tape(d.step).entries[d.op].output_hash
    return dispute_id, correct


def _sign(arena: Arena, members: list[int], dispute_id: int, output_hash: bytes, *, chain_id: int | None = None, other_party: bool = False,
          op: int | None = None) -> tuple[int, tuple, tuple]:  # fmt: skip
    d = arena.net.disputes.get(dispute_id)
    if other_party:  # the same operator, for a dispute between other parties
        d = dataclasses.replace(d, defender=d.challenger)
    if op is not None:
        d = dataclasses.replace(d, op=op)
    message = verdict_message(chain_id or arena.w3.eth.chain_id, arena.net.disputes.address, d.vote_key, output_hash)
    keys = [arena.committee.members[i].key for i in members]
    sigma = aggregate_g1(k.sign(message) for k in keys)
    return signer_bitmap(members), g2_to_sol(aggregate_g2(k.pk2 for k in keys)), g1_to_sol(sigma)


def test_verdict_attacks_are_rejected_and_a_threshold_verdict_settles(arena: Arena, located: tuple[int, bytes]) -> None:
    dispute_id, correct = located
    games = arena.net.disputes
    weight = arena.net.committee.member(0).weight
    total = arena.net.committee.total_weight_at(games.snapshot_of(dispute_id))
    assert total == 3 * weight  # three referees with the same stake
    with reverts("RefereeCommitteeBelowThreshold", signed=weight, total=total):
        games.submit_verdict(arena.keeper, dispute_id, correct, *_sign(arena, [0], dispute_id, correct))
    # Exactly two thirds of the weight is not more than two thirds.
    with reverts("RefereeCommitteeBelowThreshold", signed=2 * weight, total=total):
        games.submit_verdict(arena.keeper, dispute_id, correct, *_sign(arena, [0, 2], dispute_id, correct))
    with reverts("RefereeCommitteeUnknownSigner", index=5):
        bitmap, apk2, sigma = _sign(arena, [0, 1, 2], dispute_id, correct)
        games.submit_verdict(arena.keeper, dispute_id, correct, bitmap | (1 << 5), apk2, sigma)
    for bad in (
        _sign(arena, [0, 1, 2], dispute_id, correct, chain_id=999),  # replayed from another chain
        _sign(arena, [0, 1, 2], dispute_id, correct, other_party=True),  # signed for another dispute
        _sign(arena, [0, 1, 2], dispute_id, correct, op=0),  # for another operator
    ):
        with reverts("DisputeGameInvalidVerdict", disputeId=dispute_id):
            games.submit_verdict(arena.keeper, dispute_id, correct, *bad)
    # A rogue aggregate: members 0 and 1 are claimed, but the G2 key and signature are an
    # attacker's (it knows no member's secret), not the twins of the summed G1 keys.
    attacker = KeyPair.from_seed(b"attacker")
    d = games.get(dispute_id)
    message = verdict_message(arena.w3.eth.chain_id, games.address, d.vote_key, b"\x66" * 32)
    with reverts("DisputeGameInvalidVerdict"):
        games.submit_verdict(arena.keeper, dispute_id, b"\x66" * 32, signer_bitmap([0, 1, 2]), g2_to_sol(attacker.pk2), g1_to_sol(attacker.sign(message)))
    games.submit_verdict(arena.keeper, dispute_id, correct, *_sign(arena, [0, 1, 2], dispute_id, correct))
    d = games.get(dispute_id)
    assert (d.stage, d.winner) == (Stage.RESOLVED, Party.CHALLENGER)


def test_referee_registration_needs_the_role_and_a_proof_of_possession(arena: Arena) -> None:
    committee = arena.net.committee
    key = KeyPair.from_seed(b"newcomer")
    chain_id, at = int(arena.w3.eth.chain_id), committee.address
    pop = g1_to_sol(key.proof_of_possession(arena.outsider, chain_id, at))
    with reverts("RefereeCommitteeNotReferee"):
        committee.register_key(arena.outsider, g1_to_sol(key.pk1), g2_to_sol(key.pk2), pop)
    register(arena.net, arena.outsider, roles=8, stake=committee.stake_floor())  # type: ignore[arg-type]
    victim = arena.committee.members[0].key
    # Rogue key: pk = attacker - victim, which the attacker cannot sign for.
    rogue1 = bn.add(key.pk1, bn.neg(victim.pk1))
    rogue2 = bn.add(key.pk2, bn.neg(victim.pk2))
    with reverts("RefereeCommitteeInvalidProofOfPossession"):
        committee.register_key(arena.outsider, g1_to_sol(rogue1), g2_to_sol(rogue2), g1_to_sol(key.proof_of_possession(arena.outsider, chain_id, at)))
    # Someone else's valid proof does not transfer to another address.
    with reverts("RefereeCommitteeInvalidProofOfPossession"):
        committee.register_key(arena.outsider, g1_to_sol(victim.pk1), g2_to_sol(victim.pk2), g1_to_sol(victim.proof_of_possession(arena.referees[0], chain_id, at)))
    # A proof made for another chain or another committee does not verify here.
    for other in (key.proof_of_possession(arena.outsider, chain_id + 1, at), key.proof_of_possession(arena.outsider, chain_id, arena.outsider)):
        with reverts("RefereeCommitteeInvalidProofOfPossession"):
            committee.register_key(arena.outsider, g1_to_sol(key.pk1), g2_to_sol(key.pk2), g1_to_sol(other))
    index, _ = committee.register_key(arena.outsider, g1_to_sol(key.pk1), g2_to_sol(key.pk2), pop)
    assert index == 3 and committee.size() == 4 and committee.index_of(arena.outsider) == 3
    with reverts("RefereeCommitteeAlreadyMember"):
        committee.register_key(arena.outsider, g1_to_sol(key.pk1), g2_to_sol(key.pk2), pop)
