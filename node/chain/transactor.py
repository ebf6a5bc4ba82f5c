"""Send transactions and calls, decoding every revert into :class:`ContractRevert`.

A sender is either an address the node holds unlocked (eth-tester and anvil dev accounts)
or an :class:`eth_account.signers.local.LocalAccount`, whose transactions are signed here
and sent raw, so the same code works against any JSON-RPC endpoint. Gas is estimated by the
node for every transaction, except on the in-process chain: eth-tester estimates by
re-executing a transaction a dozen times in Python (seconds for a pairing check), so there a
transaction is first run once with ``eth_call`` (which surfaces any revert) and then sent with
the block's gas limit; the receipt's gas used is the same either way.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, Union

import requests
from eth_account.signers.local import LocalAccount
from web3 import EthereumTesterProvider, Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import TimeExhausted
from web3.types import TxReceipt

from node.chain.hints import revert_hint, rpc_hint
from node.chain.reverts import RevertDecoder
from node.errors import ChainError, ConnectionFailed, ContractRevert, TransactionFailed

__all__ = ["Sender", "Transactor", "address_of"]

logger = logging.getLogger(__name__)

Sender = Union[str, LocalAccount]

_TRANSPORT = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, requests.exceptions.HTTPError)
_RESENDS = 4


def address_of(sender: Sender) -> str:
    """The checksummed address of a sender."""
    return Web3.to_checksum_address(sender.address if isinstance(sender, LocalAccount) else sender)


class Transactor:
    """Sends contract transactions for any sender and decodes failures."""

    def __init__(self, w3: Web3, decoder: RevertDecoder) -> None:
        self.w3 = w3
        self.decoder = decoder

    def send(self, fn: ContractFunction, sender: Sender) -> TxReceipt:
        """Send ``fn`` from ``sender``, wait for the receipt, raise on revert."""
        label = getattr(fn, "fn_name", "constructor")
        frm = address_of(sender)
        params: dict[str, Any] = {"from": frm}
        try:
            if self._in_process:
                fn.call(params, "pending") if label != "constructor" else self.w3.eth.call(fn.build_transaction({**params, "gas": self._gas_cap()}), "pending")
                params["gas"] = self._gas_cap()
            if isinstance(sender, LocalAccount):
                tx = fn.build_transaction({**params, "nonce": self.w3.eth.get_transaction_count(frm, "pending")})
                signed = sender.sign_transaction(tx)
                tx_hash = self._send_raw(bytes(signed.raw_transaction), bytes(signed.hash), label)
            else:
                tx_hash = fn.transact(params)
        except Exception as exc:
            raise self._translate(exc, label) from exc
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        except TimeExhausted as exc:
            raise ChainError(f"{label}: transaction {tx_hash.hex()} was not mined in time", hint="it may still be mined: the node re-reads the chain before sending anything again") from exc
        if receipt["status"] != 1:
            raise TransactionFailed(f"{label} was mined with status 0 (tx {tx_hash.hex()})")
        logger.debug("%s from %s: gas %s", label, frm, receipt["gasUsed"])
        return receipt

    def _send_raw(self, raw: bytes, tx_hash: bytes, label: str) -> bytes:
        """Send a signed transaction; when the answer is lost (a reset connection, a timeout, an
        HTTP error), send the very same bytes again: same nonce, same hash, so it is mined at
        most once. A node that already holds it refuses the copy (each in its own words); the
        transaction is then looked up by its hash."""
        for attempt in range(1, _RESENDS + 1):
            try:
                return bytes(self.w3.eth.send_raw_transaction(raw))
            except _TRANSPORT as exc:
                logger.warning("%s: sending failed (%s); sending the same signed transaction again (%d/%d)", label, type(exc).__name__, attempt, _RESENDS)
                time.sleep(0.2 * attempt)
            except Exception:
                # web3 itself repeats eth_sendRawTransaction on a dropped connection, so even a
                # first "already known" / "nonce too low" can mean this very transaction arrived.
                if self._known(tx_hash):
                    return tx_hash
                raise
        if self._known(tx_hash):
            return tx_hash
        raise ConnectionFailed(f"{label}: the RPC node did not take the transaction in {_RESENDS} tries", hint="is the node up? the step is retried")

    def _known(self, tx_hash: bytes) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)
            return True
        except Exception:  # noqa: BLE001 - TransactionNotFound, or the node still not answering
            return False

    @functools.cached_property
    def _in_process(self) -> bool:
        return isinstance(self.w3.provider, EthereumTesterProvider)

    def _gas_cap(self) -> int:
        return int(self.w3.eth.get_block("latest")["gasLimit"])

    def deploy(self, contract: Any, sender: Sender, *args: Any) -> TxReceipt:
        """Deploy a web3 contract factory with constructor ``args``."""
        return self.send(contract.constructor(*args), sender)

    def call(self, fn: ContractFunction, *, sender: Sender | None = None) -> Any:
        """Call a view function; reverts are decoded like transaction reverts."""
        try:
            return fn.call({"from": address_of(sender)} if sender else None)
        except Exception as exc:
            raise self._translate(exc, getattr(fn, "fn_name", "call")) from exc

    def _translate(self, exc: Exception, label: str) -> Exception:
        decoded = self.decoder.from_exception(exc, function=label)
        if decoded is not None:
            if decoded.hint is None:
                decoded.hint = revert_hint(decoded.name, decoded.args_dict)
            return decoded
        message = str(exc)
        if "insufficient funds" in message.lower():
            return ChainError(f"{label}: the sender has no ETH for gas", hint=rpc_hint(message))
        hint = rpc_hint(message)
        if hint is not None and not isinstance(exc, ContractRevert):
            return ChainError(f"{label} failed: {message}", hint=hint)
        if isinstance(exc, ChainError):
            return exc
        if isinstance(exc, requests.exceptions.ConnectionError):
            return ConnectionFailed(f"{label}: the RPC node stopped answering", hint="is the devnet still running?")
        return ChainError(f"{label} failed: {message}")
