"""``meritnet faucet ADDRESS [AMOUNT]``: mint MERIT to an account on a devnet."""

from __future__ import annotations

from typing import Annotated

import typer

from node.chain.faucet import DEFAULT_FUND, faucet, format_merit, parse_merit
from node.cli.common import (
    AccountOption,
    ConfigOption,
    DeploymentsOption,
    JsonOption,
    RpcOption,
    emit,
    open_network,
    sender_for,
    settings,
)


def faucet_command(
    address: Annotated[str, typer.Argument(help="Who receives the MERIT.")],
    amount: Annotated[str, typer.Argument(help="How much, in MERIT (decimals allowed).")] = str(DEFAULT_FUND // 10**18),
    account: AccountOption = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Mint MERIT to ADDRESS on a devnet (the caller needs MeritToken's MINTER_ROLE: the deployer has it)."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    units = parse_merit(amount)
    balance = faucet(net, sender_for(s, net.w3, account), address, units)
    who = net.w3.to_checksum_address(address)
    emit(
        {
            "address": who,
            "minted": units,
            "balance": balance,
            "minted_merit": format_merit(units),
            "balance_merit": format_merit(balance),
        },
        json_,
    )
