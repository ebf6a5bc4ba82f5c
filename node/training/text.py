"""The GPT task's text: Python's own standard-library source, as byte tokens.

Every machine that runs meritnet has a Python, and with it the source of its standard
library, so the corpus needs no download: the files ``CORPUS_MODULES`` (pure-Python modules
with long docstrings) read from ``sysconfig``'s ``stdlib`` folder, concatenated in that order,
cut to ``CORPUS_BYTES`` bytes, bytes above 127 replaced by ``?``. Tokens are the bytes (a
vocabulary of 128). Sequence ``i`` is bytes ``[i*T, (i+1)*T)`` and its targets the same bytes
shifted by one. Another Python minor version ships other source and so gives another corpus:
:func:`corpus_digest` names it (``meritnet trace`` reports it), and a task owner stores the
shards in the content store, so trainers never read the corpus themselves.
"""

from __future__ import annotations

import hashlib
import sysconfig
from pathlib import Path

import torch

from node.errors import ConfigError
from node.training.data import Dataset

__all__ = ["CORPUS_MODULES", "CORPUS_BYTES", "VOCAB", "corpus", "corpus_digest", "load_text"]

CORPUS_MODULES = ("textwrap", "string", "heapq", "bisect", "difflib", "fractions", "statistics", "calendar", "shlex", "pprint")
CORPUS_BYTES = 262_144
VOCAB = 128


def corpus() -> bytes:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    try:
        text = b"".join((stdlib / f"{name}.py").read_bytes() for name in CORPUS_MODULES)
    except OSError as exc:
        raise ConfigError(f"the text corpus needs Python's standard-library source: {exc}", hint="install the full Python (not a stripped one)") from None
    return bytes(b if b < VOCAB else ord("?") for b in text[:CORPUS_BYTES])


def corpus_digest() -> str:
    return hashlib.sha256(corpus()).hexdigest()


def load_text(context: int) -> Dataset:
    """Non-overlapping sequences of ``context`` byte tokens and their next-byte targets."""
    if context < 1:
        raise ConfigError("the context must be at least 1 token")
    data = torch.frombuffer(bytearray(corpus()), dtype=torch.uint8).to(torch.int64)
    n = (data.numel() - 1) // context
    x = data[: n * context].reshape(n, context).clone()
    y = data[1 : n * context + 1].reshape(n, context).clone()
    return Dataset(x, y, classes=VOCAB)
