"""Hostile safetensors headers are refused before anything is allocated; the codec never
raises anything but InvalidTensors on arbitrary bytes (property tests)."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.errors import InvalidTensors
from node.training import codec
from node.training.codec import decode_tensors, encode_tensors, spec_of
from node.training.limits import check_header, expected_bytes

MODEL = {"w": torch.ones(3, 4), "b": torch.zeros(4, dtype=torch.float64)}
SPEC = spec_of(MODEL)


def _file(header: dict[str, object], data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def test_expected_bytes_is_what_the_model_holds() -> None:
    assert expected_bytes(SPEC) == 12 * 4 + 4 * 8


def test_header_claiming_terabytes_is_refused_before_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    terabyte = 2**40
    blob = _file({"w": {"dtype": "F32", "shape": [terabyte // 4], "data_offsets": [0, terabyte]}}, b"\x00" * 64)
    monkeypatch.setattr(codec, "st_load", lambda _b: pytest.fail("the decoder was reached"))

    with pytest.raises(InvalidTensors, match="claims bytes up to 1099511627776"):
        decode_tensors(blob, SPEC)


def test_header_length_beyond_the_file_is_refused() -> None:
    blob = struct.pack("<Q", 2**63) + b"{}"

    with pytest.raises(InvalidTensors, match="the header claims 9223372036854775808 bytes"):
        check_header(blob)


def test_declared_sizes_over_the_models_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    big = encode_tensors({"w": torch.ones(3, 400), "b": torch.zeros(4, dtype=torch.float64)})
    monkeypatch.setattr(codec, "st_load", lambda _b: pytest.fail("the decoder was reached"))

    with pytest.raises(InvalidTensors, match="limit for this model"):
        check_header(big, max_data_bytes=expected_bytes(SPEC))
    with pytest.raises(InvalidTensors, match=r"w: shape \(3, 400\) differs from the model's \(3, 4\)"):
        decode_tensors(big, SPEC)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, "say otherwise"),
        ({"dtype": "Q7", "shape": [1], "data_offsets": [0, 1]}, "unknown dtype"),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "non-negative"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}, "say otherwise"),
        ({"dtype": "F32", "shape": [1], "data_offsets": "0-4"}, "pair of integers"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}, "malformed header entry"),
    ],
)
def test_inconsistent_header_entries_are_refused(entry: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidTensors, match=message):
        check_header(_file({"x": entry}, b"\x00" * 8))


def test_well_formed_deltas_pass_the_header_check() -> None:
    header = check_header(encode_tensors(MODEL), max_data_bytes=expected_bytes(SPEC))
    assert set(header) - {"__metadata__"} == {"w", "b"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_decode_arbitrary_bytes_raises_only_invalid_tensors(blob: bytes) -> None:
    try:
        decode_tensors(blob, SPEC)
    except InvalidTensors:
        pass


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_decode_mutated_delta_is_the_model_or_invalid(data: st.DataObject) -> None:
    blob = bytearray(encode_tensors(MODEL))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    try:
        out = decode_tensors(bytes(blob[:cut]) if data.draw(st.booleans()) else bytes(blob), SPEC)
    except InvalidTensors:
        return
    assert spec_of(out) == SPEC


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32, torch.uint8, torch.bool, torch.float64])
def test_header_check_accepts_every_dtype_the_codec_writes(dtype: torch.dtype) -> None:
    tensors = {"t": torch.zeros(2, 3, dtype=dtype)}

    out = decode_tensors(encode_tensors(tensors), spec_of(tensors))

    assert out["t"].dtype == dtype
