"""Robust aggregation rules over model deltas (pure functions, fixed orders).

Deltas are dicts of tensors with the same names and shapes; rules work on their flattened
concatenation (names in sorted order). A rule either combines the deltas (coordinate median,
trimmed mean) or selects the ones to keep (Multi-Krum); a rejected delta scores 0 and is
left out of the aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

__all__ = ["flatten", "unflatten", "coordinate_median", "trimmed_mean", "krum_scores", "multi_krum"]

Delta = Mapping[str, torch.Tensor]


def flatten(delta: Delta) -> torch.Tensor:
    return torch.cat([delta[name].reshape(-1).to(torch.float64) for name in sorted(delta)])


def unflatten(vector: torch.Tensor, like: Delta) -> dict[str, torch.Tensor]:
    out, offset = {}, 0
    for name in sorted(like):
        n = like[name].numel()
        out[name] = vector[offset : offset + n].reshape(like[name].shape).to(like[name].dtype)
        offset += n
    return out


def _stack(deltas: Sequence[Delta]) -> torch.Tensor:
    if not deltas:
        raise ValueError("no deltas to aggregate")
    return torch.stack([flatten(d) for d in deltas])


def coordinate_median(deltas: Sequence[Delta]) -> dict[str, torch.Tensor]:
    """Per coordinate, the median (the mean of the two middle values for an even count)."""
    values = torch.sort(_stack(deltas), dim=0).values
    n = values.shape[0]
    mid = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    return unflatten(mid, deltas[0])


def trimmed_mean(deltas: Sequence[Delta], trim: int) -> dict[str, torch.Tensor]:
    """Per coordinate, drop the ``trim`` largest and smallest values and average the rest."""
    n = len(deltas)
    if not 0 <= 2 * trim < n:
        raise ValueError(f"cannot trim {trim} from each side of {n} deltas")
    values = torch.sort(_stack(deltas), dim=0).values[trim : n - trim]
    total = values[0].clone()
    for row in values[1:]:  # fixed order
        total = total + row
    return unflatten(total / values.shape[0], deltas[0])


def krum_scores(deltas: Sequence[Delta], faulty: int) -> list[float]:
    """Each delta's sum of squared distances to its ``n - faulty - 2`` nearest neighbours."""
    n = len(deltas)
    x = _stack(deltas)
    dist = ((x.unsqueeze(1) - x.unsqueeze(0)) ** 2).sum(-1)
    neighbours = max(1, n - faulty - 2)
    return [float(torch.sort(torch.cat([dist[i, :i], dist[i, i + 1 :]])).values[:neighbours].sum()) for i in range(n)]


def multi_krum(deltas: Sequence[Delta], faulty: int, keep: int | None = None) -> list[int]:
    """Indices (ascending) of the ``keep`` deltas with the lowest Krum scores: each delta's
    sum of squared distances to its ``n - faulty - 2`` nearest neighbours. Needs
    ``n > 2 * faulty + 2``."""
    n = len(deltas)
    if n <= 2 * faulty + 2:
        raise ValueError(f"Multi-Krum needs more than {2 * faulty + 2} deltas to tolerate {faulty} faulty ones, got {n}")
    scores = krum_scores(deltas, faulty)
    order = sorted(range(n), key=lambda i: (scores[i], i))
    return sorted(order[: keep if keep is not None else n - faulty])
