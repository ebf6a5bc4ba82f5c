"""The tensor codec: canonical bytes, and every way a delta can be rejected."""

from __future__ import annotations

import pytest
import torch

from node.errors import InvalidTensors
from node.training.codec import decode_tensors, encode_tensors, spec_of

TENSORS = {"b": torch.arange(6, dtype=torch.float32).reshape(2, 3), "a": torch.ones(4), "c": torch.tensor([1, 2], dtype=torch.int64)}


def test_round_trip_and_canonical_bytes() -> None:
    blob = encode_tensors(TENSORS)
    assert blob == encode_tensors(dict(reversed(list(TENSORS.items()))))  # insertion order does not matter
    back = decode_tensors(blob, spec_of(TENSORS))
    assert set(back) == set(TENSORS) and all(torch.equal(back[k], TENSORS[k]) for k in TENSORS)


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        ({**TENSORS, "a": torch.ones(5)}, "shape"),
        ({**TENSORS, "a": torch.ones(4, dtype=torch.float64)}, "dtype"),
        ({k: v for k, v in TENSORS.items() if k != "c"}, "missing"),
        ({**TENSORS, "extra": torch.ones(1)}, "unexpected"),
        ({**TENSORS, "a": torch.tensor([1.0, float("nan"), 0, 0])}, "NaN or Inf"),
        ({**TENSORS, "a": torch.tensor([1.0, float("inf"), 0, 0])}, "NaN or Inf"),
    ],
)
def test_deltas_that_do_not_fit_the_model_are_rejected(tensors: dict[str, torch.Tensor], message: str) -> None:
    with pytest.raises(InvalidTensors, match=message):
        decode_tensors(encode_tensors(tensors), spec_of(TENSORS))


def test_garbage_and_oversized_input_are_rejected() -> None:
    with pytest.raises(InvalidTensors, match="not a safetensors file"):
        decode_tensors(b"\x00\x01garbage", spec_of(TENSORS))
    blob = encode_tensors(TENSORS)
    with pytest.raises(InvalidTensors, match="exceeds the limit"):
        decode_tensors(blob, spec_of(TENSORS), max_bytes=len(blob) - 1)
    with pytest.raises(ValueError):  # InvalidTensors is a ValueError for callers that expect one
        decode_tensors(b"", None)
