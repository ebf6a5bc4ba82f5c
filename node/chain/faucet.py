"""MERIT for devnet accounts: a starting balance at deployment, and a faucet.

A devnet here is a chain whose accounts are test accounts: the in-process chain, or a node
with chain id 31337 (anvil, Hardhat) or 1337 (Ganache, geth --dev) that holds unlocked
accounts. On any other chain nothing is minted: MERIT there is real.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from web3 import Web3
from web3.exceptions import Web3Exception

from node.chain.deploy import Network
from node.chain.provider import is_in_process
from node.chain.transactor import Sender, address_of
from node.errors import ConfigError
from node.units import TOKEN, format_merit, parse_merit

__all__ = ["DEFAULT_FUND", "DEVNET_CHAIN_IDS", "faucet", "format_merit", "fund_accounts", "is_devnet", "parse_merit"]

logger = logging.getLogger(__name__)

DEVNET_CHAIN_IDS = frozenset({31337, 1337})
DEFAULT_FUND = 1000 * TOKEN


def is_devnet(w3: Web3) -> bool:
    """Whether ``w3`` is a development chain whose unlocked accounts may be funded freely."""
    if is_in_process(w3):
        return True
    try:
        return int(w3.eth.chain_id) in DEVNET_CHAIN_IDS and bool(w3.eth.accounts)
    except (Web3Exception, OSError, ValueError):  # a node without eth_accounts is not a devnet
        return False


@dataclass(frozen=True)
class Funded:
    account: str
    amount: int


def fund_accounts(net: Network, minter: Sender, amount: int = DEFAULT_FUND) -> list[Funded]:
    """Mint ``amount`` to every unlocked account of a devnet; nothing on other chains or for 0."""
    if amount <= 0 or not is_devnet(net.w3):
        return []
    funded = []
    for account in net.w3.eth.accounts:
        net.token.mint(minter, account, amount)
        funded.append(Funded(str(account), amount))
    logger.info("minted %s to each of %d devnet accounts", format_merit(amount), len(funded))
    return funded


def faucet(net: Network, minter: Sender, to: str, amount: int = DEFAULT_FUND) -> int:
    """Mint ``amount`` to ``to`` on a devnet, as ``minter`` (who must hold MINTER_ROLE); the new balance."""
    if not is_devnet(net.w3):
        raise ConfigError(
            f"chain {net.deployment.chain_id} is not a devnet: the faucet only mints on devnets (chain id 31337 or 1337, or the in-process chain)",
            hint="get MERIT from someone who holds it",
        )
    if not Web3.is_address(to):
        raise ConfigError(f"{to!r} is not an Ethereum address", hint="expected 0x followed by 40 hex digits")
    who = address_of(minter)
    if not net.token.is_minter(who):
        raise ConfigError(
            f"{who} does not hold MeritToken's MINTER_ROLE",
            hint="run the faucet as the deployer (--account DEPLOYER or its key)",
        )
    target = Web3.to_checksum_address(to)
    net.token.mint(minter, target, amount)
    return net.token.balance_of(target)
