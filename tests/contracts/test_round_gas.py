"""Gas per trainer per round does not depend on how many trainers take part."""

from __future__ import annotations

import pytest

from benchmarks.round_gas import measure
from node.chain.deploy import Network


@pytest.mark.slow
def test_round_gas_is_constant_in_the_number_of_trainers(net: Network, request: pytest.FixtureRequest) -> None:
    if "eth-tester" not in request.node.callspec.id:
        pytest.skip("gas is the EVM's; measured once, on the in-process chain (256 trainers take minutes)")
    small = measure(net, 4)
    large = measure(net, 256)
    for key in ("gas_per_trainer_median", "gas_per_trainer_max"):
        assert abs(large[key] / small[key] - 1) <= 0.05, (key, small[key], large[key])
    for call in ("commit", "reveal"):
        assert abs(large["gas_per_call_max"][call] / small["gas_per_call_max"][call] - 1) <= 0.05
