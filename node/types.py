"""Typed ids and amounts shared across meritnet."""

from __future__ import annotations

from typing import NewType

__all__ = ["Address", "TaskId", "RoundId", "TokenAmount"]

Address = NewType("Address", str)  # EIP-55 checksummed
TaskId = NewType("TaskId", int)
RoundId = NewType("RoundId", int)
TokenAmount = NewType("TokenAmount", int)  # smallest token unit (1e-18 MERIT)
