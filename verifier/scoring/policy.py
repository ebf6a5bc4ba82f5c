"""One round's scores and rewards from its contributions (pure, deterministic).

For each trainer the aggregator measures (with the task's operator backend, RepOps for
verifiable tasks, so a verifier recomputing it gets the same bits):

* ``improvement``: relative validation-loss improvement of base + delta over base;
* ``own_gain`` / ``random_gain``: the same on the trainer's own shard and on another shard the
  round seed picks. An honest delta improves its own shard most; a copied one (trained on
  someone else's shard) shows no such advantage: a *copy suspect*;
* ``history``: the trainer's summed updates so far, flattened (FoolsGold similarity).

:func:`score_round` then applies, in this order:

1. the robust filter (``rule``): Multi-Krum keeps the ``n - f`` deltas closest to their
   neighbours and any other whose Krum score is within twice the median (so at most f, and
   only outliers such as a boosted or poisoned update, are rejected); median and trimmed mean keep all
   and are robust in the aggregate itself. A rejected or invalid delta scores 0;
2. the similarity factor, among the kept deltas: FoolsGold weights over the update histories;
   in a group of near-duplicate updates (cosine > 0.99 this round) only the member with the
   largest own-shard advantage keeps a weight (the copies get 0), so copying never pays and
   never costs the original its share.
   Near-duplicates among non-suspects share one weight rather than each taking one;
3. ``ema = alpha * improvement + (1 - alpha) * previous ema`` (the first round: the improvement);
4. ``weight = max(0, ema) * similarity * reputation`` for kept deltas (reputation is a factor
   in [rep_floor, 1]: 1 without an epoch, else the MeritRank score relative to the best);
5. rewards: ``floor(budget * weight / total weight)``, each capped at ``cap_bps`` of the
   budget. The total never exceeds the budget; what floors and caps leave over stays in the
   vault, and the task owner reclaims it when the task is complete.

Bad input: no valid delta, or every weight zero, pays nothing; a single trainer is paid by
its own weight up to the cap; a zero budget pays nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from verifier.scoring.basic import SCORE_UNIT
from verifier.scoring.robust import coordinate_median, flatten, krum_scores, multi_krum, trimmed_mean
from verifier.scoring.similarity import foolsgold_weights

__all__ = ["RULES", "ScoringPolicy", "Contribution", "Verdict", "score_round", "aggregate", "split_capped"]

RULES = ("fedavg", "median", "trimmed_mean", "multi_krum")
DUPLICATE_COSINE = 0.99  # this round's updates this close are copies (honest IID updates are not)
OUTLIER_FACTOR = 2.0


@dataclass(frozen=True)
class ScoringPolicy:
    rule: str = "multi_krum"
    faulty: int | None = None  # Multi-Krum's f; None: the most it tolerates, (n - 3) // 2; too few deltas: all kept
    trim: int = 1  # trimmed mean: values cut at each end per coordinate
    ema_alpha: float = 0.5
    cap_bps: int = 5000  # at most this share of a round's budget per identity
    rep_floor: float = 0.25

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown aggregation rule {self.rule!r}; known: {', '.join(RULES)}")
        if not 0 < self.ema_alpha <= 1 or not 0 < self.cap_bps <= 10_000 or not 0 <= self.rep_floor <= 1:
            raise ValueError("ema_alpha in (0, 1], cap_bps in (0, 10000], rep_floor in [0, 1]")


@dataclass(frozen=True)
class Contribution:
    account: str
    valid: bool
    improvement: float = 0.0
    own_gain: float | None = None
    random_gain: float | None = None
    history: torch.Tensor | None = None
    prev_ema: float | None = None
    reputation: float = 1.0


@dataclass(frozen=True)
class Verdict:
    account: str
    kept: bool
    reason: str
    improvement: float
    copy_suspect: bool
    similarity: float
    ema: float
    reputation: float
    weight: float
    amount: int


def _robust_keep(policy: ScoringPolicy, deltas: Sequence[Mapping[str, torch.Tensor]]) -> list[int]:
    n = len(deltas)
    faulty = max(0, (n - 3) // 2) if policy.faulty is None else policy.faulty
    if policy.rule != "multi_krum" or faulty == 0 or n <= 2 * faulty + 2:
        return list(range(n))
    # Multi-Krum's n - f, plus any other delta that is no outlier (Krum score within twice the
    # median): at most f are rejected, and only those far from the rest.
    scores = krum_scores(deltas, faulty)
    median = sorted(scores)[len(scores) // 2]
    return sorted(set(multi_krum(deltas, faulty)) | {i for i, s in enumerate(scores) if s <= OUTLIER_FACTOR * median})


def _cosines(x: torch.Tensor) -> torch.Tensor:
    norms = x.norm(dim=1).clamp_min(1e-12)
    cos = (x @ x.t()) / (norms.unsqueeze(0) * norms.unsqueeze(1))
    return cos.fill_diagonal_(-1.0)


def _advantage(c: Contribution) -> float | None:
    return None if c.own_gain is None or c.random_gain is None else c.own_gain - c.random_gain


def _similarity(contributions: Sequence[Contribution], updates: Sequence[Mapping[str, torch.Tensor]]) -> list[float]:
    """FoolsGold weights over the update histories; within a group of near-duplicate updates
    (cosine > 0.99 this round) only the member whose update fits its own shard best (the
    original; a copy was trained on someone else's shard) keeps a weight. Without the copy
    check's data the group stays in FoolsGold, where duplicates share about one weight."""
    n = len(contributions)
    histories = [c.history for c in contributions]
    if n < 2 or any(h is None for h in histories):
        return [1.0] * n
    cos = _cosines(torch.stack([flatten(u) for u in updates]))
    copies: set[int] = set()
    for i in range(n):
        group = [j for j in range(n) if j != i and float(cos[i, j]) > DUPLICATE_COSINE]
        mine = _advantage(contributions[i])
        if not group or mine is None or any(_advantage(contributions[j]) is None for j in group):
            continue
        if any((_advantage(contributions[j]), -j) > (mine, -i) for j in group):  # type: ignore[operator]
            copies.add(i)
    keep = [i for i in range(n) if i not in copies]
    weights = dict(zip(keep, foolsgold_weights([histories[i].to(torch.float64).reshape(-1) for i in keep]), strict=True))  # type: ignore[union-attr]
    return [weights.get(i, 0.0) for i in range(n)]


def split_capped(budget: int, weights: Sequence[float], cap_bps: int) -> list[int]:
    """Integer rewards proportional to the positive weights, each at most ``cap_bps`` of the budget."""
    fixed = [max(0, round(w * SCORE_UNIT)) for w in weights]
    total = sum(fixed)
    if total == 0 or budget <= 0:
        return [0] * len(weights)
    cap = budget * cap_bps // 10_000
    return [min(cap, budget * f // total) for f in fixed]


def score_round(policy: ScoringPolicy, contributions: Sequence[Contribution], deltas: Sequence[Mapping[str, torch.Tensor] | None],
                budget: int) -> list[Verdict]:  # fmt: skip
    """Verdicts in the order of ``contributions`` (``deltas[i]`` is None for an invalid one)."""
    valid = [i for i, c in enumerate(contributions) if c.valid and deltas[i] is not None]
    kept_local = _robust_keep(policy, [deltas[i] for i in valid])  # type: ignore[misc]
    kept = {valid[k] for k in kept_local}
    suspects = {i for i, c in enumerate(contributions) if c.own_gain is not None and c.random_gain is not None and c.own_gain <= c.random_gain}
    ordered = sorted(kept)  # similarity among the kept deltas only: a rejected one weighs nothing
    sim_of = dict(zip(ordered, _similarity([contributions[i] for i in ordered], [deltas[i] for i in ordered]), strict=True))  # type: ignore[misc]
    rows = []
    for i, c in enumerate(contributions):
        ema = c.improvement if c.prev_ema is None else policy.ema_alpha * c.improvement + (1 - policy.ema_alpha) * c.prev_ema
        reputation = max(policy.rep_floor, min(1.0, c.reputation))
        similarity = sim_of.get(i, 0.0)
        if i not in kept:
            reason = "invalid" if i not in valid else f"rejected by {policy.rule}"
            rows.append((c, False, reason, ema, reputation, similarity, 0.0))
            continue
        weight = max(0.0, ema) * similarity * reputation
        reason = "no improvement" if ema <= 0 else ("duplicate of another update" if similarity == 0 else "")
        rows.append((c, True, reason, ema, reputation, similarity, weight))
    amounts = split_capped(budget, [r[6] for r in rows], policy.cap_bps)
    return [Verdict(c.account, k, reason, c.improvement, i in suspects, sim, ema, rep, w, a)
            for i, ((c, k, reason, ema, rep, sim, w), a) in enumerate(zip(rows, amounts, strict=True))]  # fmt: skip


def aggregate(policy: ScoringPolicy, base: Mapping[str, torch.Tensor], deltas: Sequence[Mapping[str, torch.Tensor]],
              weights: Sequence[float]) -> dict[str, torch.Tensor]:  # fmt: skip
    """The new model from the kept deltas: weighted FedAvg (fedavg, multi_krum), or the
    coordinate median / trimmed mean of the deltas with positive weight."""
    from verifier.scoring.basic import fedavg

    chosen = [d for d, w in zip(deltas, weights, strict=True) if w > 0]
    if not chosen:
        return {k: v.clone() for k, v in base.items()}
    if policy.rule == "median":
        step = coordinate_median(chosen)
    elif policy.rule == "trimmed_mean" and len(chosen) > 2 * policy.trim:
        step = trimmed_mean(chosen, policy.trim)
    else:
        return fedavg(base, deltas, weights)
    return {k: base[k] + step[k].to(base[k].dtype) for k in sorted(base)}
