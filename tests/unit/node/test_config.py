"""Settings: file, then environment, then options; clear errors for bad files and keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.config import Settings, load_settings, read_secret_file
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
    keyfile.chmod(0o600)
    from_file = load_settings(None, env={"MERITNET_PRIVATE_KEY_FILE": str(keyfile)}).account()
    assert from_file is not None and from_file.address == account.address
    with pytest.raises(ConfigError, match="32-byte hex"):
        load_settings(None, env={"MERITNET_PRIVATE_KEY": "0x1234"}).account()
    with pytest.raises(ConfigError, match="cannot read the private key file"):
        load_settings(None, env={"MERITNET_PRIVATE_KEY_FILE": str(tmp_path / "nope")}).account()


@pytest.mark.parametrize(("line", "kind"), [("rpc = 8545", "integer"), ("store = true", "boolean"), ("deployments = [1]", "array"), ("[rpc]\nurl = 1", "table")])
def test_config_value_of_wrong_type_is_one_line_error(tmp_path: Path, line: str, kind: str) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text(line + "\n")

    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env={})

    text = info.value.one_line()
    assert f"is a {kind}, not a string" in text and str(cfg) in text and "quote it" in text and "\n" not in text


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o606, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    keyfile = tmp_path / "key"
    keyfile.write_text(KEY)
    keyfile.chmod(mode)

    with pytest.raises(ConfigError) as info:
        load_settings(None, env={"MERITNET_PRIVATE_KEY_FILE": str(keyfile)}).account()

    assert f"chmod 600 {keyfile}" in info.value.one_line() and f"mode {mode:03o}" in str(info.value)


@pytest.mark.parametrize(("content", "message"), [(b"", "is empty"), (b"\xff\xfe\x00", "not text"), (b"0x1234", "does not hold a 32-byte hex key"),
                                                  (b"not a key at all", "does not hold a 32-byte hex key")])  # fmt: skip
def test_key_file_with_bad_content_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    keyfile = tmp_path / "key"
    keyfile.write_bytes(content)
    keyfile.chmod(0o600)

    with pytest.raises(ConfigError, match=message) as info:
        load_settings(None, env={"MERITNET_PRIVATE_KEY_FILE": str(keyfile)}).account()

    assert str(keyfile) in info.value.one_line()


def test_read_secret_file_strips_the_key(tmp_path: Path) -> None:
    keyfile = tmp_path / "bls.key"
    keyfile.write_text("  abcd\n")
    keyfile.chmod(0o600)

    assert read_secret_file(keyfile, "BLS key") == "abcd"


_VALUES = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=3))
_NAMES = st.sampled_from(["rpc", "deployments", "private_key", "private_key_file", "store", "rcp", "x"])


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else "0.0"
    return repr(value)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_NAMES, _VALUES, max_size=4))
def test_config_parser_gives_settings_or_config_error(tmp_path_factory: pytest.TempPathFactory, values: dict[str, object]) -> None:
    cfg = tmp_path_factory.mktemp("cfg") / "m.toml"
    cfg.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in values.items()))

    try:
        loaded = load_settings(cfg, env={})
    except ConfigError as exc:
        assert "\n" not in exc.one_line()
        return
    assert isinstance(loaded, Settings)
    assert all(isinstance(getattr(loaded, k), str) for k in values)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_config_parser_on_arbitrary_bytes(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    cfg = tmp_path_factory.mktemp("cfg") / "m.toml"
    cfg.write_bytes(raw)

    try:
        load_settings(cfg, env={})
    except ConfigError:
        pass
