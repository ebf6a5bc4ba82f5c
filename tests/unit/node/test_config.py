"""Settings: file, then environment, then options; clear errors for bad files and keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import load_settings
from node.errors import ConfigError

KEY = "0x" + "11" * 32


def test_environment_overrides_file_and_options_override_both(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text('rpc = "http://127.0.0.1:9999"\ndeployments = "d1"\n')
    s = load_settings(cfg, env={"MERITNET_DEPLOYMENTS": "d2"})
    assert (s.rpc, s.deployments) == ("http://127.0.0.1:9999", "d2")
    assert s.with_overrides(rpc="eth-tester://", deployments=None).rpc == "eth-tester://"


def test_defaults_without_file_or_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(None, env={})
    assert s.rpc == "eth-tester://" and s.account() is None


def test_unknown_setting_and_bad_toml_are_config_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text('rcp = "typo"\n')
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(cfg, env={})
    cfg.write_text("rpc = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(cfg, env={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", env={})


def test_private_key_from_env_or_file(tmp_path: Path) -> None:
    account = load_settings(None, env={"MERITNET_PRIVATE_KEY": KEY}).account()
    assert account is not None and account.key.hex().endswith("11" * 32)
    keyfile = tmp_path / "key"
    keyfile.write_text(KEY + "\n")
    from_file = load_settings(None, env={"MERITNET_PRIVATE_KEY_FILE": str(keyfile)}).account()
    assert from_file is not None and from_file.address == account.address
    with pytest.raises(ConfigError, match="32-byte hex"):
        load_settings(None, env={"MERITNET_PRIVATE_KEY": "0x1234"}).account()
    with pytest.raises(ConfigError, match="cannot read the private key file"):
        load_settings(None, env={"MERITNET_PRIVATE_KEY_FILE": str(tmp_path / "nope")}).account()
