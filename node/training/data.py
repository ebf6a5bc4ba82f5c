"""Data sets, shards, the data manifest, and shard assignment.

The default data set is scikit-learn's digits (1,797 8x8 images, shipped with the package);
users give their own as an ``.npz`` file with arrays ``X`` (samples x features, or
samples x channels x height x width) and ``y`` (integer labels). A task splits the data into
shards and a validation shard, stores each as canonical safetensors content, and records
the manifest's CID on chain. Each round, a trainer's shard follows from the round seed, the
task, the round and its address, so anyone can check which shard it had to use.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from node.errors import ConfigError
from node.training.codec import decode_tensors, encode_tensors

__all__ = ["Dataset", "DataManifest", "dataset_for", "load_digits", "load_npz", "split_shards", "assign_shard", "trainer_seed", "encode_dataset", "decode_dataset"]


@dataclass(frozen=True)
class Dataset:
    x: torch.Tensor  # float32, (n, features) or (n, c, h, w); int64 (n, seq) tokens for a language model
    y: torch.Tensor  # int64, (n,); (n, seq) next tokens for a language model
    classes: int | None = None  # the number of classes (vocabulary) when fixed; else max(y) + 1

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def num_classes(self) -> int:
        if self.classes is not None:
            return self.classes
        return int(self.y.max().item()) + 1 if len(self) else 0


@dataclass(frozen=True)
class DataManifest:
    """What a task's dataCid points to."""

    name: str
    input_shape: list[int]
    num_classes: int
    shards: list[str]  # CIDs
    validation: str  # CID
    samples: int

    @property
    def input_shape_features(self) -> int:
        return int(np.prod(self.input_shape))

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> DataManifest:
        try:
            return cls(**json.loads(data))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ConfigError(f"not a data manifest: {exc}") from None


def _check(x: np.ndarray, y: np.ndarray, source: str) -> Dataset:
    if x.ndim < 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ConfigError(f"{source}: X must be (samples, ...) and y (samples,), got {x.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ConfigError(f"{source}: y must hold non-negative integer labels")
    x32 = x.astype(np.float32)
    if not np.isfinite(x32).all():
        raise ConfigError(f"{source}: X contains NaN or Inf")
    return Dataset(torch.from_numpy(np.ascontiguousarray(x32)), torch.from_numpy(y.astype(np.int64)))


def load_digits(image: bool = False) -> Dataset:
    """scikit-learn's digits, scaled to [0, 1]; as (n, 64) or, with ``image``, (n, 1, 8, 8)."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = bunch.data.astype(np.float32) / 16.0
    if image:
        x = x.reshape(-1, 1, 8, 8)
    return _check(x, bunch.target, "digits")


def load_npz(path: Path) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "X" not in arrays or "y" not in arrays:
                raise ConfigError(f"{path}: an .npz data set needs arrays 'X' and 'y' (has {sorted(arrays.files)})")
            return _check(arrays["X"], arrays["y"], str(path))
    except OSError as exc:
        raise ConfigError(f"cannot read data set {path}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not a valid .npz file: {exc}") from None


def split_shards(data: Dataset, shards: int, *, validation_fraction: float = 0.2, seed: int = 0) -> tuple[list[Dataset], Dataset]:
    """A seeded permutation, the first ``validation_fraction`` for validation, the rest in
    ``shards`` near-equal shards."""
    if shards < 1:
        raise ConfigError("a task needs at least one shard")
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(len(data) * validation_fraction))
    if len(data) - n_val < shards:
        raise ConfigError(f"{len(data)} samples are too few for {shards} shards and a validation set")
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    pieces = torch.tensor_split(train_idx, shards)
    return [Dataset(data.x[p], data.y[p], data.classes) for p in pieces], Dataset(data.x[val_idx], data.y[val_idx], data.classes)


def dataset_for(model: str) -> Dataset:
    """The built-in data set of a model: the text corpus for token models, digits otherwise."""
    from node.training.models import get_model

    spec = get_model(model)
    if spec.tokens:
        from node.training.text import load_text

        return load_text(spec.context or 128)
    return load_digits()


def assign_shard(seed: bytes, task_id: int, round_: int, trainer: str, shards: int) -> int:
    """The shard a trainer must use in a round: sha256(seed, task, round, address) mod shards."""
    digest = hashlib.sha256(seed + task_id.to_bytes(32, "big") + round_.to_bytes(32, "big") + bytes.fromhex(trainer[2:].lower())).digest()
    return int.from_bytes(digest, "big") % shards


def trainer_seed(seed: bytes, task_id: int, round_: int, trainer: str) -> bytes:
    """The seed of a trainer's batch choice in a round (anyone re-executing derives it too)."""
    return hashlib.sha256(b"batches" + seed + task_id.to_bytes(32, "big") + round_.to_bytes(32, "big") + bytes.fromhex(trainer[2:].lower())).digest()


def encode_dataset(data: Dataset) -> bytes:
    return encode_tensors({"x": data.x, "y": data.y})


def decode_dataset(blob: bytes) -> Dataset:
    tensors = decode_tensors(blob)
    if set(tensors) != {"x", "y"}:
        raise ConfigError("a data shard holds exactly the tensors 'x' and 'y'")
    return Dataset(tensors["x"], tensors["y"])
