"""The training loop: learns, hashes every state, is deterministic, picks devices clearly."""

from __future__ import annotations

import json

import pytest
import torch

from node.errors import ConfigError
from node.training.data import load_digits, split_shards
from node.training.loop import TrainConfig, apply_delta, evaluate, resolve_device, train
from node.training.models import get_model
from verifier.merkle import TraceTree, verify_trace_proof

SHARDS, VALIDATION = split_shards(load_digits(), 3)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_training_learns_and_the_delta_moves_the_base_to_the_result(model: str) -> None:
    cfg = TrainConfig(model=model, steps=40)
    base = get_model(model).init(0)
    result = train(base, SHARDS[0], cfg, seed=b"s")
    before, _ = evaluate(model, base, VALIDATION)
    after, acc = evaluate(model, result.params, VALIDATION)
    assert after < before * 0.7 and acc > 0.6
    moved = apply_delta(base, result.delta)
    assert all(torch.allclose(moved[k], result.params[k]) for k in base)


def test_state_hashes_trace_and_determinism() -> None:
    cfg = TrainConfig(steps=7, checkpoint_every=3)
    base = get_model("mlp").init(1)
    a = train(base, SHARDS[1], cfg, seed=b"x")
    b = train(base, SHARDS[1], cfg, seed=b"x")
    c = train(base, SHARDS[1], cfg, seed=b"y")
    assert len(a.state_hashes) == 8 and len(set(a.state_hashes)) == 8
    assert a.state_hashes == b.state_hashes and a.trace_root == b.trace_root
    assert a.state_hashes[0] == c.state_hashes[0] and a.final_state_hash != c.final_state_hash  # same S_0, other batches
    assert sorted(a.checkpoints) == [0, 3, 6, 7]
    tree = TraceTree(a.state_hashes)
    assert tree.root == a.trace_root
    for i, h in enumerate(a.state_hashes):
        assert verify_trace_proof(h, i, tree.proof(i), tree.root)
    assert not verify_trace_proof(a.state_hashes[2], 3, tree.proof(3), tree.root)


def test_device_selection() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu")


def test_bad_configs_are_rejected() -> None:
    with pytest.raises(ConfigError):
        TrainConfig(steps=0)
    with pytest.raises(ConfigError, match="unknown model"):
        TrainConfig(model="transformer-xl")
    with pytest.raises(ConfigError):
        TrainConfig(lr=-1)
    with pytest.raises(ConfigError, match="unknown optimizer"):
        TrainConfig(optimizer="lbfgs")
    cfg = TrainConfig(steps=3)
    assert TrainConfig.from_bytes(cfg.to_bytes()) == cfg
    # A config stored before the optimizer field existed still loads, as SGD.
    legacy = {k: v for k, v in json.loads(cfg.to_bytes()).items() if k != "optimizer"}
    assert TrainConfig.from_bytes(json.dumps(legacy).encode()).optimizer == "sgd"
    # Fields added later stay out of the canonical JSON at their defaults: old configHashes hold.
    assert b"clip_norm" not in cfg.to_bytes() and b"schedule" not in cfg.to_bytes()
    gpt = TrainConfig.for_model("gpt-mini", steps=3)
    assert gpt.optimizer == "adam" and gpt.schedule == "cosine" and TrainConfig.from_bytes(gpt.to_bytes()) == gpt
    with pytest.raises(ConfigError, match="adam"):
        TrainConfig(weight_decay=0.1)
    with pytest.raises(ConfigError, match="unknown schedule"):
        TrainConfig(optimizer="adam", schedule="step")


def test_adam_state_holds_both_moments() -> None:
    shard = split_shards(load_digits(), 3)[0][0]
    result = train(get_model("mlp").init(0), shard, TrainConfig(steps=3, optimizer="adam", lr=0.01), seed=b"adam")
    state = result.checkpoints[3]
    assert state["opt.momentum.fc1.weight"].shape == (2, *result.params["fc1.weight"].shape)
    assert state["opt.momentum.fc1.weight"][1].min() >= 0  # second moments are squares
    assert result.state_hashes[0] != train(get_model("mlp").init(0), shard, TrainConfig(steps=3), seed=b"adam").state_hashes[0]


def test_the_gpt_learns_the_stdlib_text_and_its_state_is_reproducible() -> None:
    from node.training.data import dataset_for

    data = dataset_for("gpt-mini")
    assert data.x.dtype == torch.int64 and data.x.shape[1] == 16 and data.num_classes == 128
    assert torch.equal(data.x[:, 1:], data.y[:, :-1])
    shards, val = split_shards(data, 3)
    base = get_model("gpt-mini").init(0, 16, 128)
    cfg = TrainConfig.for_model("gpt-mini", steps=6, backend="repops")
    first = train(base, shards[0], cfg, seed=b"gpt")
    again = train(base, shards[0], cfg, seed=b"gpt", microbatch=4)
    assert first.state_hashes == again.state_hashes, "micro-batches of a power-of-two batch give the same bits"
    before, after = evaluate("gpt-mini", base, val)[0], evaluate("gpt-mini", first.params, val)[0]
    assert after < before
