"""A party's side of a dispute: its committed trace and, on demand, one step's operator tape.

A :class:`TraceClaim` answers every question the game asks — ``S_m`` with its Merkle proof,
``c_m`` of a step's prefix chain — and builds the referee's evidence for one operator. The
values come from a real (possibly faulty) training run: a cheating trainer is one whose run
really computed something wrong, and it cannot answer with another trace without failing a
proof (phase 1) or the referee's check (phase 2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from verifier.dispute.referee import FINAL_DELTA, Evidence
from verifier.merkle import TraceTree
from verifier.repops.tape import Tape

__all__ = ["TraceClaim", "start_state_of"]


class TraceClaim:
    """``state_hashes`` is ``[S_0 .. S_K]``; ``step_tape(t)`` records step t (S_t -> S_t+1);
    ``final_state()`` gives the full state ``S_K`` (the evidence of a delta dispute)."""

    def __init__(self, state_hashes: Sequence[bytes], step_tape: Callable[[int], Tape],
                 final_state: Callable[[], Mapping[str, torch.Tensor]] | None = None) -> None:  # fmt: skip
        self.states = list(state_hashes)
        self.tree = TraceTree(self.states)
        self._step_tape = step_tape
        self._final_state = final_state
        self._tapes: dict[int, Tape] = {}

    @property
    def steps(self) -> int:
        return len(self.states) - 1

    @property
    def root(self) -> bytes:
        return self.tree.root

    def state(self, index: int) -> tuple[bytes, list[bytes]]:
        return self.states[index], self.tree.proof(index)

    def tape(self, step: int) -> Tape:
        if step not in self._tapes:
            self._tapes[step] = self._step_tape(step)
        return self._tapes[step]

    def chain(self, step: int) -> list[bytes]:
        """``[c_0 = S_t, ..., c_M]`` of step ``t``."""
        return self.tape(step).chain(self.states[step])

    def final_state(self) -> Mapping[str, torch.Tensor]:
        if self._final_state is None:
            raise ValueError("this claim keeps no final state: build it with final_state= to answer a delta dispute")
        return self._final_state()

    def evidence(self, step: int, op: int) -> Evidence:
        if op == FINAL_DELTA:
            return Evidence(prefix=[], inputs=[], start_state=self.final_state())
        tape = self.tape(step)
        entry = tape.entries[op]
        needs_state = any(s.startswith(("ext:param.", "ext:buffer.")) for s in entry.sources)
        return Evidence(
            prefix=[e.output_hash for e in tape.entries[:op]],
            inputs=list(entry.inputs),
            start_state=start_state_of(tape, step) if needs_state else None,
        )


def start_state_of(tape: Tape, step: int) -> dict[str, torch.Tensor]:
    """The full state ``S_t`` a step started from, read off its tape: every param and every
    optimizer buffer is an input of its optimizer's operators (``sgd_*`` or ``adam_*``)."""
    state: dict[str, torch.Tensor] = {}
    for entry in tape.entries:
        for source, tensor in zip(entry.sources, entry.inputs, strict=False):
            kind, _, name = source.partition(":")
            if kind == "ext" and name.startswith("param."):
                state[name.removeprefix("param.")] = tensor
            elif kind == "ext" and name.startswith("buffer."):
                state[f"opt.momentum.{name.removeprefix('buffer.')}"] = tensor
    state["__step__"] = torch.tensor([step], dtype=torch.int64)
    state["__rng__"] = torch.tensor([step], dtype=torch.int64)
    return state
