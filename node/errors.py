"""The meritnet exception tree.

Every error meritnet raises on purpose derives from :class:`MeritnetError` (defined in
``verifier.errors``, the lowest layer); the CLI turns them into a one-line message (cause
and fix) and a non-zero exit code::

    MeritnetError
    ├── VerifierError                  (verifier.errors) bad input to pure algorithms
    ├── ConfigError(ValueError)        bad input: options, files, environment
    ├── ChainError                     anything between us and the EVM
    │   ├── ConnectionFailed           the RPC endpoint does not answer
    │   ├── DeploymentError            no or stale deployment record, wrong chain id
    │   ├── ContractRevert             a call reverted; carries the decoded Solidity error
    │   └── TransactionFailed          mined with status 0 and no decodable reason
    ├── StorageError                   content store failures
    │   ├── ContentNotFound            a CID that does not resolve (in time)
    │   ├── InvalidCid(ValueError)     not a CID
    │   ├── ContentMismatch            bytes that do not hash to the CID asked for (refused)
    │   └── StorageUnavailable         the IPFS daemon does not answer (retry later)
    ├── InvalidTensors(ValueError)     a malformed, mis-shaped, non-finite or oversized delta/model/shard
    ├── JournalCorrupt                 a node's journal file is torn or corrupted (left untouched)
    ├── CompilerError                  solc missing or compilation failed
    └── DevnetError                    the local devnet process could not be managed
"""

from __future__ import annotations

from typing import Any

from verifier.errors import MeritnetError

__all__ = [
    "MeritnetError",
    "ConfigError",
    "ChainError",
    "ConnectionFailed",
    "DeploymentError",
    "ContractRevert",
    "TransactionFailed",
    "CompilerError",
    "DevnetError",
    "StorageError",
    "ContentNotFound",
    "StorageUnavailable",
    "InvalidCid",
    "ContentMismatch",
    "InvalidTensors",
    "JournalCorrupt",
]


class ConfigError(MeritnetError, ValueError):
    """Bad user input: an option, a file or an environment variable."""


class ChainError(MeritnetError):
    """A failure between meritnet and the EVM node."""


class ConnectionFailed(ChainError):
    """The RPC endpoint did not answer."""


class DeploymentError(ChainError):
    """No deployment record, a stale one, or one for another chain."""


class TransactionFailed(ChainError):
    """A transaction was mined with status 0 and no decodable revert reason."""


class ContractRevert(ChainError):
    """A contract call reverted; ``name`` and ``args`` are the decoded Solidity error.

    ``name`` is the custom error's name (``"RegistryStakeTooLow"``), ``"Error"`` for a
    ``require`` string, ``"Panic"`` for an assertion or arithmetic fault, or ``"unknown"``
    when the revert data matches no known error; ``args`` maps parameter names to values.
    """

    def __init__(self, name: str, args: dict[str, Any], *, data: bytes = b"", function: str = "") -> None:
        self.name = name
        self.args_ = args
        self.data = data
        self.function = function
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        where = f"{function} reverted: " if function else "reverted: "
        super().__init__(f"{where}{name}({shown})")

    @property
    def args_dict(self) -> dict[str, Any]:
        return self.args_


class StorageError(MeritnetError):
    """A content store failure: bad content, corrupted block, refused request."""


class ContentNotFound(StorageError):
    """A CID that does not resolve here, or not within the timeout."""


class InvalidCid(StorageError, ValueError):
    """Something that should be a CID is not one."""


class ContentMismatch(StorageError):
    """A store returned bytes that do not hash to the CID asked for: refused, never used."""


class StorageUnavailable(StorageError):
    """The storage backend (an IPFS daemon) does not answer; worth retrying."""


class InvalidTensors(MeritnetError, ValueError):
    """A model, delta or data shard that does not decode or does not fit the model."""


class JournalCorrupt(MeritnetError):
    """A node's journal does not parse or fails its checksum; it is never overwritten."""


class CompilerError(MeritnetError):
    """The Solidity compiler is missing or the sources do not compile."""


class DevnetError(MeritnetError):
    """The local devnet (anvil) could not be started, stopped or found."""


def _show(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value)
