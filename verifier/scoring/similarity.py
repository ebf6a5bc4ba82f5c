"""FoolsGold-style weights: identities whose update histories point the same way share, not
multiply, their weight (pure function; Fung, Yoon, Beschastnikh 2020, simplified).

For each trainer, the cosine similarity of its summed update history with every other's; a
trainer's weight is ``1 - max similarity`` (clipped to [0, 1]), rescaled so the most
distinct trainer has weight 1. Near-duplicates get weights near 0; honest trainers with
distinct data keep weights near 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["foolsgold_weights"]


def foolsgold_weights(histories: Sequence[torch.Tensor], eps: float = 1e-12) -> list[float]:
    """``histories[i]``: trainer i's summed updates, flattened (float64 recommended)."""
    n = len(histories)
    if n == 0:
        return []
    if n == 1:
        return [1.0]
    x = torch.stack([h.to(torch.float64).reshape(-1) for h in histories])
    norms = x.norm(dim=1).clamp_min(eps)
    cos = (x @ x.t()) / (norms.unsqueeze(0) * norms.unsqueeze(1))
    cos.fill_diagonal_(-1.0)
    raw = (1.0 - cos.max(dim=1).values).clamp(0.0, 1.0)
    top = float(raw.max())
    if top <= eps:
        return [0.0] * n
    return [float(w) / top for w in raw]
