"""Training runs as dispute claims: a run's state hashes and, on demand, one step's tape.

A party in a dispute answers from its own run. :func:`train_claim` trains (optionally with a
planted fault: operator ``j`` of step ``t`` computed wrongly and carried on from), and the
claim re-runs the training up to a step to record that step's operator tape when the game
asks for it (steps are milliseconds; a trainer with checkpoints could resume from the nearest
one instead). :func:`program_for` gives the referee the task's step program, and
:func:`step_batch` the batch a step draws, from public data alone. :func:`delta_hash` is the
output of the program's last operator, ``FINAL_DELTA``: sha256 of the CID the delta is
published under (canonical safetensors bytes, CIDv1 as ``ipfs add --cid-version=1``), the
value the contract compares with the revealed ``deltaCid``. Under a task's compression recipe
the published bytes are the compressed delta's, so the compression is part of that last
operator and a referee recomputes it bit for bit.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping

import torch

from node.storage.unixfs import cid_of
from node.training.codec import encode_delta
from node.training.data import Dataset
from node.training.loop import TrainConfig, TrainResult, batch_indices, train
from node.training.models import get_model
from verifier.dispute.claims import TraceClaim
from verifier.dispute.referee import ProgramOp, program_of
from verifier.repops.ops import RepOps
from verifier.repops.tape import Tape

__all__ = ["record_step", "train_claim", "program_for", "step_batch", "delta_hash", "cid_hash"]

Params = dict[str, torch.Tensor]


def _verifiable(config: TrainConfig) -> TrainConfig:
    return config if config.backend == "repops" else TrainConfig(**{**config.__dict__, "backend": "repops"})


def record_step(base: Params, shard: Dataset, config: TrainConfig, seed: bytes, step: int, fault: tuple[int, int] | None = None) -> Tape:
    """Train up to step ``step`` (0-based) and return that step's operator tape."""
    config = _verifiable(config)
    if not 0 <= step < config.steps:
        raise ValueError(f"step {step} is outside 0..{config.steps - 1}")
    ops = RepOps(fault=fault)
    box: dict[str, Tape] = {}

    def on_step(loop_step: int, when: str) -> None:
        if loop_step == step + 1 and when == "start":
            box["tape"] = ops.start_tape()
        elif loop_step == step + 1:
            ops.stop_tape()

    train(base, shard, config, seed=seed, ops=ops, on_step=on_step, until=step + 1)
    return box["tape"]


def train_claim(base: Params, shard: Dataset, config: TrainConfig, seed: bytes, fault: tuple[int, int] | None = None) -> tuple[TraceClaim, TrainResult]:
    """A full run (faulty at ``fault`` if given) and its claim."""
    config = _verifiable(config)
    result = train(base, shard, config, seed=seed, ops=RepOps(fault=fault))
    final = result.checkpoints[config.steps]  # the full state S_K
    claim = TraceClaim(result.state_hashes, lambda t: record_step(base, shard, config, seed, t, fault), lambda: final)
    return claim, result


def cid_hash(cid: bytes) -> bytes:
    """sha256 of a binary CID: how the dispute game compares delta CIDs."""
    return hashlib.sha256(bytes(cid)).digest()


def delta_hash(delta: Mapping[str, torch.Tensor], compression: str = "") -> bytes:
    """sha256 of the CID ``delta`` is published under, compressed by the task's recipe (what
    ``FINAL_DELTA`` outputs)."""
    return cid_hash(bytes(cid_of(encode_delta(delta, compression))))


@functools.lru_cache(maxsize=16)
def _program(config: TrainConfig, shapes: tuple[tuple[str, tuple[int, ...]], ...], features: int, classes: int) -> tuple[ProgramOp, ...]:
    base = {name: torch.zeros(shape) for name, shape in shapes}
    n = config.batch_size
    if get_model(config.model).tokens:  # (n, seq) tokens and next tokens
        tokens = torch.arange(n * features).reshape(n, features) % classes
        dummy = Dataset(tokens, tokens)
    else:
        dummy = Dataset(torch.zeros(n, features), torch.arange(n) % classes)
    return tuple(program_of(record_step(base, dummy, config, b"program", 0)))


def program_for(config: TrainConfig, base: Params, features: int = 64, classes: int = 10) -> list[ProgramOp]:
    """The task's step program (one step on zeros, cached per config and shapes); ``features``
    is a token model's sequence length and ``classes`` its vocabulary."""
    shapes = tuple(sorted((k, tuple(v.shape)) for k, v in base.items()))
    return list(_program(_verifiable(config), shapes, features, classes))


def step_batch(shard: Dataset, config: TrainConfig, seed: bytes, step: int) -> dict[str, torch.Tensor]:
    """The batch step ``step`` (0-based) draws, named as the program's batch inputs."""
    idx = batch_indices(seed, step + 1, len(shard), config.batch_size)
    return {"batch.0.x": shard.x[idx], "batch.0.y": shard.y[idx]}
