"""Settings from a TOML file and the environment.

Precedence, highest first: command-line options, environment variables (``MERITNET_*``), the
config file (``--config FILE``, ``$MERITNET_CONFIG`` or ``./meritnet.toml``), defaults.

Example ``meritnet.toml``::

    rpc = "http://127.0.0.1:8545"
    deployments = "deployments"
    private_key_file = "~/.meritnet/key"
    store = "/ip4/127.0.0.1/tcp/5001"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from node.errors import ConfigError

__all__ = ["Settings", "load_settings", "read_secret_file"]

_ENV = {
    "rpc": "MERITNET_RPC",
    "deployments": "MERITNET_DEPLOYMENTS",
    "private_key": "MERITNET_PRIVATE_KEY",
    "private_key_file": "MERITNET_PRIVATE_KEY_FILE",
    "store": "MERITNET_STORE",
}


@dataclass(frozen=True)
class Settings:
    rpc: str = "eth-tester://"
    deployments: str = "deployments"
    private_key: str | None = None
    private_key_file: str | None = None
    store: str | None = None

    def with_overrides(self, **values: Any) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @property
    def deployments_dir(self) -> Path:
        return Path(self.deployments).expanduser()

    def account(self) -> LocalAccount | None:
        """The signing key, if one is configured (else the node's unlocked account is used)."""
        key = self.private_key
        if key is None and self.private_key_file:
            path = Path(self.private_key_file).expanduser()
            key = read_secret_file(path, "private key")
            try:
                return Account.from_key(key)
            except (ValueError, TypeError):
                raise ConfigError(f"the private key file {path} does not hold a 32-byte hex key",
                                  hint="write the key as 64 hex digits (optionally 0x-prefixed) on one line") from None  # fmt: skip
        if key is None:
            return None
        try:
            return Account.from_key(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError("the private key is not a 32-byte hex string", hint="check MERITNET_PRIVATE_KEY") from exc


def read_secret_file(path: Path, what: str) -> str:
    """The stripped text of a key file, refused when others may read it or it is not text."""
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} file {path}: {exc.strerror}", hint="check the path and that this user may read it") from None
    if os.name == "posix" and mode & 0o077:
        raise ConfigError(f"the {what} file {path} is readable or writable by others (mode {mode & 0o777:03o})", hint=f"chmod 600 {path}")
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"the {what} file {path} is not text", hint="it should hold the key as hex digits on one line") from None
    if not text:
        raise ConfigError(f"the {what} file {path} is empty", hint="write the key as hex digits on one line")
    return text


def _toml_type(value: Any) -> str:
    kinds = {bool: "boolean", int: "integer", float: "float", list: "array", dict: "table"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), type(value).__name__)


def load_settings(config_file: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Defaults, then the config file, then the environment."""
    env = dict(os.environ) if env is None else env
    path = config_file or (Path(env["MERITNET_CONFIG"]) if "MERITNET_CONFIG" in env else None)
    values: dict[str, Any] = {}
    if path is None and Path("meritnet.toml").exists():
        path = Path("meritnet.toml")
    if path is not None:
        try:
            values = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise ConfigError(f"config file {path} is not UTF-8 text", hint="save it as UTF-8 (TOML files are UTF-8)") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}", hint="fix the line named, see the example in the README") from None
        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}", hint=f"known: {', '.join(sorted(known))}")
        for name, value in values.items():
            if not isinstance(value, str):
                raise ConfigError(f"setting {name!r} in {path} is a {_toml_type(value)}, not a string", hint=f'quote it: {name} = "{value}"')
    for name, var in _ENV.items():
        if env.get(var):
            values[name] = env[var]
    return Settings(**values)
