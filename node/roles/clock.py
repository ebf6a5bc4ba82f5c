"""The devnet clock: skip waiting for phase deadlines once everyone expected has acted.

On a real network phases last their configured durations. On a devnet (eth-tester, anvil,
Hardhat) the demo jumps the chain's clock past the current deadline as soon as every
expected trainer has committed (or revealed), the aggregator has posted, or after ``grace``
seconds of wall time without progress (so a dead participant cannot stall the round). Progress
is a new commit or reveal: each one restarts the wait. Before the first commit of a round the
wait is ``startup_grace`` (trainers are still training, slowly on a busy machine).
"""

from __future__ import annotations

import time

from node.chain.contracts import Phase
from node.chain.deploy import Network
from node.chain.provider import advance_time

__all__ = ["DevnetClock"]


class DevnetClock:
    def __init__(self, net: Network, task_id: int, *, trainers: int, grace: float = 30.0) -> None:
        self.net, self.task_id, self.trainers, self.grace = net, task_id, trainers, grace
        self.dispute_grace = max(grace, 600.0)
        self.startup_grace = 6 * grace
        self._key: tuple[int, Phase, int, int] | None = None
        self._since = time.monotonic()

    def tick(self) -> bool:
        """Jump past the current deadline if this phase is done; True when it jumped."""
        task = self.net.tasks.get_task(self.task_id)
        rnd = self.net.tasks.get_round(self.task_id, task.current_round)
        if rnd.phase == Phase.FINALIZED:
            return False
        key = (task.current_round, rnd.phase, rnd.commits, rnd.reveals)
        if key != self._key:
            self._key, self._since = key, time.monotonic()
        done = (
            (rnd.phase == Phase.COMMIT and rnd.commits >= self.trainers)
            or (rnd.phase == Phase.REVEAL and rnd.reveals >= rnd.commits)
            or (rnd.phase == Phase.CHALLENGE and rnd.open_disputes == 0)
        )
        # Disputes settle on their own clock: while one is open, the round's deadline waits
        # (up to the dispute grace), so the aggregator can score without the losers.
        if rnd.open_disputes:
            grace = self.dispute_grace
        elif rnd.phase == Phase.COMMIT and rnd.commits == 0:
            grace = self.startup_grace
        else:
            grace = self.grace
        if not done and time.monotonic() - self._since < grace:
            return False
        now = self.net.w3.eth.get_block("latest")["timestamp"]
        if now > rnd.deadline:
            return False
        advance_time(self.net.w3, rnd.deadline - now + 2)
        return True
