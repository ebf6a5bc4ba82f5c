"""Data sets: digits, user .npz files, shards, the manifest and shard assignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from node.errors import ConfigError
from node.training.data import DataManifest, assign_shard, decode_dataset, encode_dataset, load_digits, load_npz, split_shards, trainer_seed

ADDRESSES = [f"0x{i:040x}" for i in range(1, 200)]


def test_digits_are_real_and_scaled() -> None:
    data = load_digits()
    assert len(data) == 1797 and data.x.shape == (1797, 64) and data.num_classes == 10
    assert float(data.x.min()) >= 0 and float(data.x.max()) <= 1
    assert load_digits(image=True).x.shape == (1797, 1, 8, 8)


def test_user_npz_round_trip_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, X=np.random.default_rng(0).random((30, 5)), y=np.arange(30) % 3)
    data = load_npz(good)
    assert data.x.dtype == torch.float32 and data.num_classes == 3
    bad = tmp_path / "bad.npz"
    np.savez(bad, features=np.zeros((3, 2)))
    with pytest.raises(ConfigError, match="needs arrays 'X' and 'y'"):
        load_npz(bad)
    np.savez(bad, X=np.zeros((3, 2)), y=np.zeros(4, dtype=int))
    with pytest.raises(ConfigError, match="must be"):
        load_npz(bad)
    np.savez(bad, X=np.full((3, 2), np.nan), y=np.zeros(3, dtype=int))
    with pytest.raises(ConfigError, match="NaN"):
        load_npz(bad)
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ConfigError):
        load_npz(tmp_path / "text.npz")
    with pytest.raises(ConfigError, match="cannot read"):
        load_npz(tmp_path / "missing.npz")


def test_shards_partition_the_training_data_deterministically() -> None:
    data = load_digits()
    shards, val = split_shards(data, 4, seed=3)
    again, val_again = split_shards(data, 4, seed=3)
    assert sum(len(s) for s in shards) + len(val) == len(data)
    assert all(torch.equal(a.x, b.x) for a, b in zip(shards, again, strict=True)) and torch.equal(val.y, val_again.y)
    with pytest.raises(ConfigError):
        split_shards(data, 0)


def test_shard_codec_is_canonical() -> None:
    shard = split_shards(load_digits(), 3)[0][0]
    blob = encode_dataset(shard)
    assert blob == encode_dataset(shard) and torch.equal(decode_dataset(blob).y, shard.y)


def test_shard_assignment_is_deterministic_spread_and_bound_to_the_round() -> None:
    seed = b"\x07" * 32
    picks = [assign_shard(seed, 1, 1, a, 4) for a in ADDRESSES]
    assert picks == [assign_shard(seed, 1, 1, a, 4) for a in ADDRESSES]
    assert set(picks) == {0, 1, 2, 3}
    assert picks != [assign_shard(seed, 1, 2, a, 4) for a in ADDRESSES]
    assert trainer_seed(seed, 1, 1, ADDRESSES[0]) != trainer_seed(seed, 1, 1, ADDRESSES[1])


def test_manifest_round_trip() -> None:
    m = DataManifest("digits", [64], 10, ["bafkreia"], "bafkreib", 1797)
    assert DataManifest.from_bytes(m.to_bytes()) == m and m.input_shape_features == 64
    with pytest.raises(ConfigError):
        DataManifest.from_bytes(b"{}")
