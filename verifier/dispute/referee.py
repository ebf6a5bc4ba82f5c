"""The referee's check: recompute one disputed operator from inputs proven against agreed hashes.

After both bisection phases, step ``t`` and operator ``j`` are located: the parties agree on
``S_t`` and on ``c_j`` of the step's prefix chain and disagree on ``c_(j+1)``. The referee

1. takes the operator's name, attributes and input sources from the task's *program* (the
   structure of one step, the same for every step and every value; never from a party);
2. accepts a party's list of earlier output hashes ``h_0 .. h_(j-1)`` only if it chains from
   ``S_t`` to the agreed ``c_j`` (so the list is the agreed one);
3. checks each supplied input against its agreed hash: ``op:k`` inputs against ``h_k``,
   ``param.*`` / ``buffer.*`` inputs against the step's start state (whose state hash must be
   ``S_t``), batch inputs against the batch the task's data and seed define;
4. recomputes the one operator with RepOps and returns its output hash.

One more operator ends every round's program: ``FINAL_DELTA``, ``delta = params(S_K) - base``.
Its inputs are the revealed final state ``S_K`` and the round's base model, agreed from the
start, so a dispute over it needs no bisection (``IDisputeGame.openDelta``): :func:`decide_delta`
checks a party's full state against ``S_K``, subtracts the base and returns the hash the
network publishes the delta under (the caller supplies it: the delta CID's sha256, of the
delta compressed by the task's recipe when it has one, ``verifier.repops.compress``).

Evidence from a lying party fails one of these checks (:class:`EvidenceRejected` says which);
the honest party's evidence always passes. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from verifier.errors import MeritnetError
from verifier.repops.canonical import full_state, state_hash, tensor_hash, zero_buffers
from verifier.repops.tape import Tape, prefix_chain, replay_hash

__all__ = ["FINAL_DELTA", "ProgramOp", "Evidence", "EvidenceRejected", "program_of", "decide", "decide_delta", "final_delta",
           "initial_state_hash", "optimizer_of"]  # fmt: skip

FINAL_DELTA = 2**32 - 2
"""Operator index of ``delta = params(S_K) - base`` (``IDisputeGame.FINAL_DELTA``)."""


class EvidenceRejected(MeritnetError):
    """A party's evidence for the disputed operator does not check out."""


@dataclass(frozen=True)
class ProgramOp:
    """One operator of a step's program: what it computes and where its inputs come from."""

    name: str
    attrs: dict[str, Any]
    sources: tuple[str, ...]


def program_of(tape: Tape) -> list[ProgramOp]:
    """The program of a step, from any recorded step of the same task (values do not matter)."""
    ops = [ProgramOp(e.name, _step_free(e.name, e.attrs), tuple(e.sources)) for e in tape.entries]
    unresolved = [i for i, op in enumerate(ops) if "?" in op.sources]
    if unresolved:
        raise ValueError(f"operators {unresolved} take inputs no operator or state produced: the model is not disputable")
    return ops


STEP_ATTR_OPS = ("state", "adam_param")
"""Operators whose ``step`` attribute is the step's own number (1-based: ``S_t+1``'s counter,
Adam's bias-correction step): the program leaves it out and the referee fills it in."""


def _step_free(name: str, attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if not (name in STEP_ATTR_OPS and k == "step")}


@dataclass
class Evidence:
    """What a party hands the referee for operator ``j`` of step ``t``."""

    prefix: Sequence[bytes]  # h_0 .. h_(j-1)
    inputs: Sequence[torch.Tensor]
    start_state: Mapping[str, torch.Tensor] | None = field(default=None, repr=False)  # full state S_t, if an input needs it


def decide(program: Sequence[ProgramOp], step: int, op: int, start_hash: bytes, agreed: bytes, evidence: Evidence,
           batch: Callable[[], Mapping[str, torch.Tensor]]) -> bytes:  # fmt: skip
    """The correct output hash of operator ``op`` of step ``step`` (0-based: S_step -> S_step+1).

    ``batch()`` gives the step's batch from public data; it is called only when the operator
    reads the batch."""
    if not 0 <= op < len(program):
        raise EvidenceRejected(f"operator {op} is outside the program of {len(program)} operators")
    spec = program[op]
    if len(evidence.prefix) != op or prefix_chain(start_hash, evidence.prefix)[-1] != agreed:
        raise EvidenceRejected("the earlier output hashes do not chain to the agreed value")
    if len(evidence.inputs) != len(spec.sources):
        raise EvidenceRejected(f"{spec.name} takes {len(spec.sources)} inputs, got {len(evidence.inputs)}")
    checked: dict[str, bool] = {}
    for i, (source, tensor) in enumerate(zip(spec.sources, evidence.inputs, strict=True)):
        if tensor_hash(tensor) != _expected_hash(source, evidence, start_hash, batch, checked):
            raise EvidenceRejected(f"input {i} of {spec.name} ({source}) does not match its agreed hash")
    attrs = dict(spec.attrs, step=step + 1) if spec.name in STEP_ATTR_OPS else spec.attrs
    return replay_hash(spec.name, [t.detach().cpu() for t in evidence.inputs], attrs)


def _expected_hash(source: str, evidence: Evidence, start_hash: bytes, batch: Callable[[], Mapping[str, torch.Tensor]],
                   checked: dict[str, bool]) -> bytes:  # fmt: skip
    kind, _, name = source.partition(":")
    if kind == "op":
        return evidence.prefix[int(name)]
    if name.startswith("batch."):
        return tensor_hash(batch()[name])
    state = evidence.start_state
    if "state" not in checked:
        checked["state"] = state is not None and state_hash(state) == start_hash
    if not checked["state"] or state is None:
        raise EvidenceRejected("the start state is missing or does not hash to the agreed S_t")
    group, _, key = name.partition(".")
    return tensor_hash(state[key if group == "param" else f"opt.momentum.{key}"])


def final_delta(base: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``params(S_K) - base``: the delta a run with final state ``state`` must publish (the
    same subtraction the training loop does, so the same bits)."""
    missing = sorted(set(base) - set(state))
    if missing:
        raise EvidenceRejected(f"the final state lacks the params {missing}")
    for name, value in base.items():
        if tuple(state[name].shape) != tuple(value.shape) or state[name].dtype != value.dtype:
            raise EvidenceRejected(f"{name}: the final state's tensor does not match the base model's shape and dtype")
    return {name: state[name].detach().cpu() - value.detach().cpu() for name, value in base.items()}


def decide_delta(base: Mapping[str, torch.Tensor], final_hash: bytes, evidence: Evidence,
                 published_hash: Callable[[Mapping[str, torch.Tensor]], bytes]) -> bytes:  # fmt: skip
    """The correct output of ``FINAL_DELTA``: ``published_hash(params(S_K) - base)``, from a
    party's full state ``S_K`` checked against the revealed ``final_hash``."""
    state = evidence.start_state
    if state is None or state_hash(state) != final_hash:
        raise EvidenceRejected("the final state is missing or does not hash to the revealed S_K")
    return published_hash(final_delta(base, state))


def initial_state_hash(base: Mapping[str, torch.Tensor], optimizer: str = "sgd") -> bytes:
    """S_0 of a round: the base model, zero optimizer state, step 0 (what the committee decides
    when the parties disagree on S_0 itself)."""
    return state_hash(full_state(dict(base), zero_buffers(base, optimizer), 0))


def optimizer_of(program: Sequence[ProgramOp]) -> str:
    """The optimizer a step program updates with (its update kernels say it)."""
    return "adam" if any(op.name == "adam_param" for op in program) else "sgd"
