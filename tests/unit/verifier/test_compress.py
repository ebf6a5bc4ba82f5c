"""Delta compression: the fixed selection and rounding rules, and an exact codec round trip."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from node.errors import ConfigError, InvalidTensors
from node.training.codec import decode_delta, encode_delta, encode_tensors, spec_of
from node.training.loop import TrainConfig
from verifier.repops.compress import Compression, CompressionError, compress, compressed_spec, decompress, kept_count, parse_compression

RECIPES = ["topk:0.1", "int8", "topk:0.1,int8", "topk:1,int8", "topk:0.37"]


def test_parse_compression_reads_each_recipe_and_says_the_fix_for_a_bad_one() -> None:
    assert parse_compression(None) == parse_compression("none") == Compression()
    assert parse_compression(" TopK:0.10 , int8") == Compression(Fraction(1, 10), True)
    assert str(parse_compression("int8,topk:0.25")) == "topk:0.25,int8"
    for bad in ("topk:0", "topk:1.5", "topk:x", "int4", "int8,int8", "topk:0.1,topk:0.2"):
        with pytest.raises(CompressionError, match="topk|unknown"):
            parse_compression(bad)


def test_train_config_without_compression_keeps_its_config_hash_and_loads_old_bytes() -> None:
    old = b'{"aggregation":"multi_krum","backend":"stock","batch_size":32,"checkpoint_every":5,"ema_alpha":0.5,"init_seed":0,"lr":0.1,"model":"mlp","momentum":0.9,"optimizer":"sgd","reward_cap_bps":5000,"shapley_every":1,"steps":20}'
    loaded = TrainConfig.from_bytes(old)
    assert loaded.compression == "" and loaded.to_bytes() == old
    compressed = TrainConfig(compression="TOPK:0.10,int8")
    assert compressed.compression == "topk:0.1,int8" and b'"compression":"topk:0.1,int8"' in compressed.to_bytes()
    assert TrainConfig.from_bytes(compressed.to_bytes()) == compressed
    with pytest.raises(ConfigError, match="unknown or repeated compression part .zip.") as info:
        TrainConfig(compression="zip")
    assert "--compression" in (info.value.hint or "")


def test_top_k_keeps_the_largest_magnitudes_and_breaks_ties_by_the_lower_index() -> None:
    t = torch.tensor([0.5, -2.0, 1.0, -1.0, 1.0, 2.0, 0.0, -1.0], dtype=torch.float32)
    c = parse_compression("topk:0.5")  # keep 4 of 8: the two 2.0s, then the first two of the four |1.0|s
    dense = decompress(compress({"w": t}, c), {"w": ((8,), torch.float32)}, c)["w"]
    assert dense.tolist() == [0.0, -2.0, 1.0, -1.0, 0.0, 2.0, 0.0, 0.0]
    assert kept_count(8, c) == 4 and kept_count(3, parse_compression("topk:0.1")) == 1 and kept_count(30, parse_compression("topk:0.1")) == 3


def test_int8_rounds_half_to_even_with_one_scale_per_tensor() -> None:
    t = torch.tensor([127.0, 0.5, 1.5, -2.5, -127.0, 0.0], dtype=torch.float32)  # scale is exactly 1
    c = parse_compression("int8")
    out = compress({"w": t}, c)
    assert out["w.scale"].item() == 1.0
    assert out["w.values"].tolist() == [127, 0, 2, -2, -127, 0]
    zeros = compress({"w": torch.zeros(3)}, c)
    assert zeros["w.scale"].item() == 0.0 and zeros["w.values"].tolist() == [0, 0, 0]
    assert decompress(zeros, {"w": ((3,), torch.float32)}, c)["w"].tolist() == [0.0, 0.0, 0.0]


def test_the_quantisation_error_is_at_most_half_a_step() -> None:
    t = torch.randn(1000, generator=torch.Generator().manual_seed(3))
    c = parse_compression("int8")
    out = compress({"w": t}, c)
    back = decompress(out, {"w": ((1000,), torch.float32)}, c)["w"]
    assert float((back - t).abs().max()) <= float(out["w.scale"]) * 0.5 * (1 + 1e-6)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32)
shapes = st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), recipe=st.sampled_from(RECIPES))
def test_the_codec_round_trips_exactly(data: st.DataObject, recipe: str) -> None:
    spec_shapes = data.draw(st.dictionaries(st.sampled_from(["a", "b.w", "c"]), shapes, min_size=1, max_size=3))
    delta = {n: torch.tensor(data.draw(st.lists(finite, min_size=math.prod(s), max_size=math.prod(s))), dtype=torch.float32).reshape(s)
             for n, s in spec_shapes.items()}  # fmt: skip
    c = parse_compression(recipe)
    spec = spec_of(delta)
    packed = compress(delta, c)
    blob = encode_delta(delta, c)
    assert blob == encode_tensors(packed) == encode_delta(delta, recipe)  # canonical: the recipe's text or object, the same bytes
    dense = decode_delta(blob, spec, recipe)
    expected = decompress(packed, spec, c)
    assert set(dense) == set(delta)
    for n in delta:
        assert dense[n].dtype == torch.float32 and torch.equal(dense[n], expected[n])
    assert {k: (tuple(v.shape), v.dtype) for k, v in packed.items()} == compressed_spec(spec, c)


def test_no_compression_is_the_plain_codec() -> None:
    delta = {"w": torch.randn(4, 3)}
    assert encode_delta(delta, "") == encode_delta(delta, None) == encode_tensors(delta)
    assert torch.equal(decode_delta(encode_tensors(delta), spec_of(delta), "")["w"], delta["w"])


def test_decode_delta_rejects_bytes_that_do_not_fit_the_recipe() -> None:
    delta = {"w": torch.randn(40)}
    spec = spec_of(delta)
    with pytest.raises(InvalidTensors, match="differ"):
        decode_delta(encode_delta(delta, "topk:0.1,int8"), spec, "int8")
    with pytest.raises(InvalidTensors, match="differ"):
        decode_delta(encode_tensors(delta), spec, "topk:0.1")
    forged = compress(delta, parse_compression("topk:0.1"))
    forged["w.mask"] = torch.full_like(forged["w.mask"], 255)  # keeps 40 entries, but 4 values
    with pytest.raises(InvalidTensors, match="mask keeps 40"):
        decode_delta(encode_tensors(forged), spec, "topk:0.1")


def test_a_compressed_delta_is_smaller() -> None:
    delta = {"w": torch.randn(64, 64), "b": torch.randn(64)}
    plain = len(encode_tensors(delta))
    assert len(encode_delta(delta, "int8")) < plain / 3
    assert len(encode_delta(delta, "topk:0.1,int8")) < plain / 10
