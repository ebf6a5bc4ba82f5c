"""Dispute evidence survives its trip through the content store, for every operator position."""

from __future__ import annotations

import hashlib

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from node.errors import InvalidTensors
from node.roles.dispute import decode_evidence, encode_evidence
from node.training.codec import encode_tensors
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


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        ({"in0": torch.ones(2)}, "prefix must be uint8"),
        ({"prefix": torch.zeros(1, 32), "in0": torch.ones(2)}, "prefix must be uint8"),
        ({"prefix": torch.zeros(32, dtype=torch.uint8)}, "prefix must be uint8"),
        ({"prefix": torch.zeros(1, 31, dtype=torch.uint8)}, "prefix must be uint8"),
        ({"prefix": torch.zeros(0, 32, dtype=torch.uint8), "in0": torch.ones(1), "in2": torch.ones(1)}, "named in0..in1"),
        ({"prefix": torch.zeros(0, 32, dtype=torch.uint8), "weights": torch.ones(1)}, "unexpected evidence tensors"),
    ],
)
def test_malformed_evidence_is_invalid_tensors(tensors: dict[str, torch.Tensor], message: str) -> None:
    with pytest.raises(InvalidTensors, match=message):
        decode_evidence(encode_tensors(tensors))


_SHAPES = st.lists(st.integers(0, 3), max_size=3).map(tuple)
_NAMES = st.sampled_from(["prefix", "in0", "in1", "in3", "state/w", "x"])
_DTYPES = st.sampled_from([torch.uint8, torch.float32, torch.int64])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_NAMES, st.tuples(_SHAPES, _DTYPES), max_size=5))
def test_any_tensors_decode_to_evidence_or_invalid_tensors(spec: dict[str, tuple[tuple[int, ...], torch.dtype]]) -> None:
    blob = encode_tensors({name: torch.zeros(shape, dtype=dtype) for name, (shape, dtype) in spec.items()})
    try:
        evidence = decode_evidence(blob)
    except InvalidTensors:
        return
    assert all(len(p) == 32 for p in evidence.prefix)
