"""The root of meritnet's exception tree, and the verifier's branch of it.

``MeritnetError`` lives here, in the lowest layer, so that both packages share one root;
``node.errors`` adds the chain, compiler and devnet branches::

    MeritnetError
    ├── VerifierError
    │   └── ReputationError(ValueError)   bad graph input: NaN weights, unknown ego, bad parameters
    └── (node.errors) ConfigError, ChainError, CompilerError, DevnetError
"""

from __future__ import annotations

__all__ = ["MeritnetError", "VerifierError", "ReputationError"]


class MeritnetError(Exception):
    """Root of every error meritnet raises on purpose.

    ``hint`` says how to fix it; the CLI prints ``message`` and ``hint`` on one line.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def one_line(self) -> str:
        text = str(self)
        return f"{text} ({self.hint})" if self.hint else text


class VerifierError(MeritnetError):
    """A failure in the verifier's pure logic (bad input to an algorithm)."""


class ReputationError(VerifierError, ValueError):
    """Bad input to MeritRank: a weight that is not finite, an unknown ego, bad parameters."""
