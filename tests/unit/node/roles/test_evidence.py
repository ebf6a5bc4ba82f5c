"""Dispute evidence survives its trip through the content store, for every operator position."""

from __future__ import annotations

import hashlib

import pytest
import torch

from node.roles.dispute import decode_evidence, encode_evidence
from verifier.dispute.referee import Evidence


@pytest.mark.parametrize("prefix_len", [0, 1, 21])  # operator 0 has no prefix; the state operator of the MLP has 21
def test_evidence_round_trips(prefix_len: int) -> None:
    prefix = [hashlib.sha256(bytes([i])).digest() for i in range(prefix_len)]
    inputs = [torch.randn(4, 3), torch.arange(5), torch.tensor([-0.0, float("nan")])]
    state = {"fc1.weight": torch.randn(2, 2), "__step__": torch.tensor([3])}
    for start_state in (None, state):
        back = decode_evidence(encode_evidence(Evidence(prefix, inputs, start_state)))
        assert back.prefix == prefix
        assert all(torch.equal(a.view(torch.uint8), b.view(torch.uint8)) for a, b in zip(back.inputs, inputs, strict=True))
        assert (back.start_state is None) == (start_state is None)
        if start_state is not None:
            assert back.start_state is not None and all(torch.equal(back.start_state[k], v) for k, v in start_state.items())
