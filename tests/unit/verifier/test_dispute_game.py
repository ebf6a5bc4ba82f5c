"""The dispute game's rules (the off-chain reference of DisputeGame.sol) with real RepOps traces.

Every liar here really computed one operator wrongly and carried on; the honest party is the
same run without the fault. The referee decides from evidence checked against agreed hashes.
"""

from __future__ import annotations

import functools
import hashlib
import random

import pytest
import torch

from node.dispute_sim import truncating_compress
from node.roles.referee import NoValidEvidence, make_referee
from node.storage.unixfs import cid_of
from node.training.claims import cid_hash, delta_hash, program_for, step_batch, train_claim
from node.training.codec import encode_tensors
from node.training.data import Dataset, load_digits, split_shards
from node.training.loop import TrainConfig
from node.training.models import MODELS, ModelSpec, get_model
from node.training.ops import OpBackend
from verifier.dispute.claims import TraceClaim
from verifier.dispute.game import FINAL_DELTA, INITIAL_STATE, Adaptive, Player, Silent, expected_moves, play, play_delta
from verifier.dispute.referee import Evidence, EvidenceRejected, decide, decide_delta, final_delta
from verifier.repops.compress import compress, parse_compression

SHARD = split_shards(load_digits(), 3)[0][0]
BASE = get_model("mlp").init(0)
SEED = hashlib.sha256(b"dispute-tests").digest()
LOSS_OP = 5  # cross_entropy_sum: its output feeds nothing, so a fault there changes no state


def config(k: int) -> TrainConfig:
    return TrainConfig(steps=k, backend="repops")


PROGRAM = program_for(config(1), BASE)
M = len(PROGRAM)


@functools.lru_cache(maxsize=None)
def honest(k: int) -> TraceClaim:
    return train_claim(BASE, SHARD, config(k), SEED)[0]


@functools.lru_cache(maxsize=None)
def faulty(k: int, t: int, j: int) -> TraceClaim:
    return train_claim(BASE, SHARD, config(k), SEED, fault=(t, j))[0]


def referee(k: int):  # noqa: ANN201
    return make_referee(PROGRAM, BASE, lambda t: step_batch(SHARD, config(k), SEED, t))


def test_the_program_is_fully_resolved_and_ends_with_the_state_operator() -> None:
    assert M == 22 and PROGRAM[-1].name == "state" and PROGRAM[LOSS_OP].name == "cross_entropy_sum"
    assert all("?" not in op.sources for op in PROGRAM)
    assert expected_moves(1, M) == 5 and expected_moves(100, M) == 7 + 5


@pytest.mark.parametrize("k", [1, 2, 3, 7, 8, 100])
def test_a_lying_defender_is_located_exactly_and_loses(k: int) -> None:
    for t in sorted({0, k // 2, k - 1}):
        for j in (0, M // 2, M - 1):
            liar = faulty(k, t, j)
            assert liar.states[t] == honest(k).states[t] and liar.states[t + 1] != honest(k).states[t + 1]
            out = play(Player(liar), Player(honest(k)), M, referee(k), defender_final=liar.states[-1])
            assert (out.winner, out.loser, out.step, out.op) == ("challenger", "defender", t, j), (k, t, j, out)
            assert out.moves == expected_moves(k, M)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_a_false_accusation_loses_and_the_honest_defender_wins(k: int) -> None:
    t, j = k - 1, 3
    out = play(Player(honest(k)), Player(faulty(k, t, j)), M, referee(k), defender_final=honest(k).states[-1])
    assert (out.winner, out.loser, out.step, out.op) == ("defender", "challenger", t, j)


def test_an_adaptive_liar_answering_from_the_honest_trace_is_still_caught() -> None:
    k, t, j = 8, 2, 13
    out = play(Adaptive(faulty(k, t, j), honest(k)), Player(honest(k)), M, referee(k), defender_final=faulty(k, t, j).states[-1])
    assert (out.winner, out.loser, out.step) == ("challenger", "defender", t)
    assert out.rejected_answers > 0  # its borrowed answers failed their proofs in phase 1
    # In phase 2 it copied the honest chain, which only pushes the dispute to the state operator.
    assert out.op == M - 1


@pytest.mark.parametrize("side", ["defender", "challenger"])
def test_a_silent_party_loses(side: str) -> None:
    k = 8
    liar, good = faulty(k, 5, 2), honest(k)
    d, c = (Silent(liar, "ops"), Player(good)) if side == "defender" else (Player(liar), Silent(good, "steps"))
    out = play(d, c, M, referee(k), defender_final=liar.states[-1])
    assert out.loser == side and out.reason.startswith(f"{side} silent")


def test_disagreeing_on_s0_is_decided_by_the_committee() -> None:
    other_base = get_model("mlp").init(1)
    liar = train_claim(other_base, SHARD, config(3), SEED)[0]
    out = play(Player(liar), Player(honest(3)), M, referee(3), defender_final=liar.states[-1])
    assert (out.winner, out.op, out.moves) == ("challenger", INITIAL_STATE, 0)


def test_a_fault_that_changes_no_state_leaves_nothing_to_dispute() -> None:
    liar = faulty(4, 1, LOSS_OP)
    assert liar.states == honest(4).states
    with pytest.raises(ValueError, match="cannot open"):
        play(Player(honest(4)), Player(liar), M, referee(4), defender_final=honest(4).states[-1])


def test_200_randomized_trials_the_honest_party_never_loses() -> None:
    rng = random.Random(2026)
    for trial in range(200):
        k = rng.randint(1, 12)
        t = rng.randrange(k)
        j = rng.choice([i for i in range(M) if i != LOSS_OP])
        liar_side = rng.choice(["defender", "challenger"])
        liar = faulty(k, t, j)
        liar_player = Adaptive(liar, honest(k)) if rng.random() < 0.25 else Player(liar)
        d, c = (liar_player, Player(honest(k))) if liar_side == "defender" else (Player(honest(k)), liar_player)
        out = play(d, c, M, referee(k), defender_final=d.claim.states[-1])
        assert out.loser == liar_side and out.winner != liar_side, (trial, k, t, j, liar_side, out)
        assert out.step == t and out.moves == expected_moves(k, M)
        if not isinstance(liar_player, Adaptive):
            assert out.op == j


# -- the referee's checks ------------------------------------------------------------------


def _located(k: int, t: int, j: int) -> tuple[bytes, bytes]:
    chain = honest(k).chain(t)
    return honest(k).states[t], chain[j]


def test_the_referee_recomputes_the_honest_output_hash() -> None:
    k, t = 3, 1
    chain = honest(k).chain(t)
    tape = honest(k).tape(t)
    for j in range(M):
        start, agreed = _located(k, t, j)
        correct = decide(PROGRAM, t, j, start, agreed, honest(k).evidence(t, j), lambda: step_batch(SHARD, config(k), SEED, t))
        assert correct == tape.entries[j].output_hash
        assert hashlib.sha256(chain[j] + correct).digest() == chain[j + 1]


def test_the_referee_rejects_tampered_inputs_wrong_prefixes_and_a_fake_start_state() -> None:
    k, t = 3, 1
    batch = lambda: step_batch(SHARD, config(k), SEED, t)  # noqa: E731
    j = next(i for i, op in enumerate(PROGRAM) if op.name == "matmul" and op.sources[0].startswith("op:"))
    start, agreed = _located(k, t, j)
    good = honest(k).evidence(t, j)
    flipped = good.inputs[0].clone()
    flipped.view(-1).view(torch.int32)[0] ^= 1  # one bit
    with pytest.raises(EvidenceRejected, match="does not match its agreed hash"):
        decide(PROGRAM, t, j, start, agreed, Evidence(good.prefix, [flipped, *good.inputs[1:]]), batch)
    with pytest.raises(EvidenceRejected, match="do not chain"):
        decide(PROGRAM, t, j, start, agreed, Evidence([b"\x00" * 32, *good.prefix[1:]], good.inputs), batch)
    p = next(i for i, op in enumerate(PROGRAM) if any(s.startswith("ext:param.") for s in op.sources))
    start, agreed = _located(k, t, p)
    ev = honest(k).evidence(t, p)
    fake_state = {name: v.clone() + 1 if v.is_floating_point() else v for name, v in ev.start_state.items()}  # type: ignore[union-attr]
    fake_inputs = [fake_state[s.removeprefix("ext:param.")] if s.startswith("ext:param.") else x for s, x in zip(PROGRAM[p].sources, ev.inputs, strict=True)]
    with pytest.raises(EvidenceRejected, match="start state"):
        decide(PROGRAM, t, p, start, agreed, Evidence(ev.prefix, fake_inputs, fake_state), batch)
    # A batch input that is not the batch the task's data and seed define:
    b = next(i for i, op in enumerate(PROGRAM) if any(s.startswith("ext:batch.") for s in op.sources))
    start, agreed = _located(k, t, b)
    ev = honest(k).evidence(t, b)
    wrong_batch = [x + 1 if s.startswith("ext:batch.") else x for s, x in zip(PROGRAM[b].sources, ev.inputs, strict=True)]
    with pytest.raises(EvidenceRejected, match="batch"):
        decide(PROGRAM, t, b, start, agreed, Evidence(ev.prefix, wrong_batch, ev.start_state), batch)


def test_with_no_valid_evidence_the_referee_refuses_to_decide() -> None:
    k, t, j = 3, 1, 4
    start, agreed = _located(k, t, j)
    liar_ev = faulty(k, 0, 2).evidence(t, j)  # a run that went wrong before this step
    with pytest.raises(NoValidEvidence):
        referee(k)(t, j, start, agreed, [liar_ev, None])


ADAM = TrainConfig(steps=4, backend="repops", optimizer="adam", lr=0.01)


@pytest.mark.parametrize("j", [11, 13, 14])  # a weight gradient, Adam's moments, Adam's parameter update
def test_an_adam_task_is_disputable_like_an_sgd_one(j: int) -> None:
    program = program_for(ADAM, BASE)
    assert {"adam_moments", "adam_param"} <= {op.name for op in program} and all("?" not in op.sources for op in program)
    honest_claim = train_claim(BASE, SHARD, ADAM, SEED)[0]
    liar = train_claim(BASE, SHARD, ADAM, SEED, fault=(2, j))[0]
    adam_referee = make_referee(program, BASE, lambda t: step_batch(SHARD, ADAM, SEED, t))
    out = play(Player(liar), Player(honest_claim), len(program), adam_referee, defender_final=liar.states[-1])
    assert (out.winner, out.step, out.op) == ("challenger", 2, j)
    # S_0 of an Adam task has zero moments of shape 2 x param: a claim from another base is refuted by the committee.
    stranger = train_claim(get_model("mlp").init(1), SHARD, ADAM, SEED)[0]
    out = play(Player(stranger), Player(honest_claim), len(program), adam_referee, defender_final=stranger.states[-1])
    assert (out.winner, out.op) == ("challenger", INITIAL_STATE)


# -- a reveal is bound to its own trace (issue 13, item 3) ------------------------------------


@functools.lru_cache(maxsize=None)
def honest_delta(k: int) -> bytes:
    """sha256 of the CID of the delta an honest run of k steps publishes."""
    return delta_hash(train_claim(BASE, SHARD, config(k), SEED)[1].delta)


def test_an_honest_trace_revealed_with_another_final_state_loses_and_the_challenger_wins() -> None:
    k = 4
    # The defender's trace is the honest one, but it revealed another S_K: the challenger (the
    # same honest run) disputes its revealed final state and must not lose.
    out = play(Player(honest(k)), Player(honest(k)), M, referee(k), defender_final=hashlib.sha256(b"another final state").digest())
    assert (out.winner, out.loser, out.moves) == ("challenger", "defender", 0)
    assert "revealed final state" in out.reason


def test_the_honest_delta_is_the_final_operator_of_the_honest_run() -> None:
    k = 3
    claim, result = train_claim(BASE, SHARD, config(k), SEED)
    delta = final_delta(BASE, claim.final_state())
    assert all(torch.equal(delta[n], result.delta[n]) for n in BASE)  # the same bits as the training loop's
    correct = decide_delta(BASE, claim.states[-1], claim.evidence(k, FINAL_DELTA), delta_hash)
    assert correct == honest_delta(k)
    with pytest.raises(EvidenceRejected, match="revealed S_K"):
        decide_delta(BASE, honest(k).states[-2], claim.evidence(k, FINAL_DELTA), delta_hash)


def test_a_delta_that_is_not_the_traces_loses_and_the_challenger_keeps_its_bond() -> None:
    k = 3
    boosted = delta_hash({n: v * 10 for n, v in train_claim(BASE, SHARD, config(k), SEED)[1].delta.items()})
    assert boosted != honest_delta(k)
    for defender in (Player(honest(k)), Silent(honest(k), "verdict")):  # with or without its own evidence
        out = play_delta(defender, Player(honest(k)), referee(k), final=honest(k).states[-1], published=boosted, claimed=honest_delta(k))
        assert (out.winner, out.loser, out.op) == ("challenger", "defender", FINAL_DELTA)


def test_an_honest_delta_never_loses_a_delta_dispute() -> None:
    k = 3
    for claimed in (hashlib.sha256(b"a made-up delta").digest(), delta_hash({n: torch.zeros_like(v) for n, v in BASE.items()})):
        for challenger in (Player(honest(k)), Player(faulty(k, 1, 4)), Silent(honest(k), "verdict")):
            out = play_delta(Player(honest(k)), challenger, referee(k), final=honest(k).states[-1], published=honest_delta(k), claimed=claimed)
            assert (out.winner, out.loser) == ("defender", "challenger")
    with pytest.raises(ValueError, match="agree"):
        play_delta(Player(honest(k)), Player(honest(k)), referee(k), final=honest(k).states[-1], published=honest_delta(k), claimed=honest_delta(k))


# -- a compressed delta is the output of the round's last operator (issue 17, item 5) --------

COMPRESSION = "topk:0.1,int8"


def _lying_compressions(delta: dict[str, torch.Tensor]) -> dict[str, bytes]:
    """The honest run's delta compressed by rules other than the task's: each is a lie told
    only in the compression (the trace and S_K are the honest ones)."""
    c = parse_compression(COMPRESSION)
    truncated = truncating_compress(delta, COMPRESSION)  # int8 rounding toward zero instead of half to even
    by_sign = compress({n: v.clamp(min=0) for n, v in delta.items()}, c)  # top-k by signed value, not magnitude: negatives never kept
    return {"truncated": cid_hash(bytes(cid_of(encode_tensors(truncated)))), "by value": cid_hash(bytes(cid_of(encode_tensors(by_sign))))}


def test_a_trainer_lying_only_in_the_compression_is_located_at_the_final_operator_and_loses() -> None:
    k = 3
    cfg = TrainConfig(steps=k, backend="repops", compression=COMPRESSION)
    assert program_for(cfg, BASE) == PROGRAM  # the step program is the same; compression ends the round
    claim, result = train_claim(BASE, SHARD, cfg, SEED)
    assert claim.states == honest(k).states  # compression changes no state: the trace cannot tell the lie
    honest_published = delta_hash(result.delta, COMPRESSION)
    assert honest_published != delta_hash(result.delta)  # the published bytes are the compressed ones
    ref = make_referee(PROGRAM, BASE, lambda t: step_batch(SHARD, cfg, SEED, t), COMPRESSION)
    lies = _lying_compressions(result.delta)
    assert len(set(lies.values()) | {honest_published}) == 3
    for lie, published in lies.items():
        out = play_delta(Player(claim), Player(claim), ref, final=claim.states[-1], published=published, claimed=honest_published)
        assert (out.winner, out.loser, out.op) == ("challenger", "defender", FINAL_DELTA), lie
        # and a challenger claiming the lie against an honest trainer loses
        out = play_delta(Player(claim), Player(claim), ref, final=claim.states[-1], published=honest_published, claimed=published)
        assert (out.winner, out.loser, out.op) == ("defender", "challenger", FINAL_DELTA), lie
    # a referee that ignored the task's recipe would side with an uncompressed delta: it does not
    out = play_delta(Player(claim), Player(claim), ref, final=claim.states[-1], published=delta_hash(result.delta), claimed=honest_published)
    assert out.winner == "challenger"


# -- any model built from the RepOps modules is disputable ---------------------------------


def _dispute_every_kind(model: str, shard: Dataset, base: dict[str, torch.Tensor], cfg: TrainConfig, features: int, classes: int) -> set[str]:
    """Plant a fault at the first operator of every kind (step 1 of 2) and play the dispute;
    return the kinds located. The loss value feeds nothing (no state changes): skipped."""
    program = program_for(cfg, base, features, classes)
    assert all("?" not in op.sources for op in program), [op for op in program if "?" in op.sources]
    good = train_claim(base, shard, cfg, SEED)[0]
    ref = make_referee(program, base, lambda t: step_batch(shard, cfg, SEED, t))
    firsts = {op.name: j for j, op in reversed(list(enumerate(program))) if op.name != "cross_entropy_sum"}
    located = set()
    for kind, j in sorted(firsts.items()):
        liar = train_claim(base, shard, cfg, SEED, fault=(1, j))[0]
        out = play(Player(liar), Player(good), len(program), ref, defender_final=liar.states[-1])
        assert (out.winner, out.loser, out.step, out.op) == ("challenger", "defender", 1, j), (model, kind, j, out)
        located.add(kind)
    return located


def test_the_cnn_is_disputable_at_every_operator_kind() -> None:
    cfg = TrainConfig(model="cnn", steps=2, batch_size=8, backend="repops")
    kinds = _dispute_every_kind("cnn", SHARD, get_model("cnn").init(0), cfg, 64, 10)
    assert {"im2col", "col2im", "reshape", "permute", "matmul", "state"} <= kinds


def _patchwork_init(gen: torch.Generator, features: int, classes: int) -> dict[str, torch.Tensor]:
    w = lambda *s: torch.rand(s, generator=gen) * 0.2 - 0.1  # noqa: E731
    return {"wte": w(classes, 8), "wpe": w(features, 8), "ln.weight": torch.ones(8), "ln.bias": torch.zeros(8),
            "qkv.weight": w(24, 8), "qkv.bias": torch.zeros(24), "mix.weight": w(features * classes, features * 8),
            "mix.bias": torch.zeros(features * classes)}  # fmt: skip


def _patchwork_forward(p: dict[str, torch.Tensor], x: torch.Tensor, ops: OpBackend) -> torch.Tensor:
    """A model no referee code knows: an embedding, a residual attention block with one head, a
    reshape to one row per sequence, a GELU and a linear layer mixing all positions."""
    batch, seq = x.shape
    h = ops.embed(x, p["wte"], p["wpe"])
    branch, skip = ops.fork(h)
    h = ops.add(skip, ops.attention(ops.linear(ops.layer_norm(branch, p["ln.weight"], p["ln.bias"]), p["qkv.weight"], p["qkv.bias"]), 1, seq))
    rows = ops.gelu(ops.reshape(h, (batch, seq * 8)))
    return ops.reshape(ops.linear(rows, p["mix.weight"], p["mix.bias"]), (batch * seq, p["wte"].shape[0]))


def test_a_new_model_from_the_modules_is_disputable_at_every_operator_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MODELS, "patchwork", ModelSpec("patchwork", _patchwork_init, _patchwork_forward, tokens=True, context=4))
    text = Dataset(torch.arange(64 * 5).reshape(64, 5)[:, :4] % 7, torch.arange(64 * 5).reshape(64, 5)[:, 1:] % 7)
    cfg = TrainConfig(model="patchwork", steps=2, batch_size=8, backend="repops", optimizer="adam", lr=0.01, weight_decay=0.1,
                      clip_norm=0.5, warmup=1, schedule="cosine")  # fmt: skip
    kinds = _dispute_every_kind("patchwork", text, get_model("patchwork").init(0, 4, 7), cfg, 4, 7)
    assert {"embed", "embed_grad", "layer_norm", "layer_norm_grad", "layer_norm_grad_w", "bmm", "causal_softmax", "causal_softmax_grad",
            "narrow", "cat", "permute", "reshape", "add", "gelu", "gelu_grad", "global_norm", "clip", "adam_param", "state"} <= kinds  # fmt: skip


def test_the_gpt_is_disputable_at_every_operator_kind() -> None:
    from node.training.data import dataset_for

    shard = split_shards(dataset_for("gpt-mini"), 3)[0][0]
    cfg = TrainConfig.for_model("gpt-mini", steps=2, backend="repops")
    kinds = _dispute_every_kind("gpt-mini", shard, get_model("gpt-mini").init(0, 16, 128), cfg, 16, 128)
    assert len(kinds) >= 24


@pytest.mark.parametrize("model", sorted(MODELS))
def test_program_of_resolves_for_every_shipped_model(model: str) -> None:
    from node.training.data import dataset_for

    data = dataset_for(model)
    features, classes = int(data.x[0].numel()), data.num_classes
    cfg = TrainConfig.for_model(model, steps=1, backend="repops", **({"batch_size": 2} if model == "gpt" else {}))
    program = program_for(cfg, get_model(model).init(0, features, classes), features, classes)
    assert program[-1].name == "state" and all("?" not in op.sources for op in program)
