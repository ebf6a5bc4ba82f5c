"""``--log-format json``: every log line one JSON object; a bad format is a one-line error."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from node.cli.app import main
from node.cli.common import JsonLogFormatter, setup_logging
from node.errors import ConfigError


def test_json_log_lines_carry_time_level_logger_and_message() -> None:
    record = logging.LogRecord("node.roles.trainer", logging.WARNING, __file__, 1, "retry %s of %d", ("commit", 3), None)

    line = JsonLogFormatter().format(record)

    data = json.loads(line)
    assert (data["level"], data["logger"], data["message"]) == ("WARNING", "node.roles.trainer", "retry commit of 3")
    assert data["time"].endswith("+00:00") and "\n" not in line


def test_json_log_lines_include_the_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    assert "ValueError: boom" in json.loads(JsonLogFormatter().format(record))["exception"]


def test_unknown_log_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--log-format 'xml'"):
        setup_logging(False, "xml")


def test_cli_refuses_an_unknown_log_format(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["--log-format", "xml", "query", "accounts", "--rpc", "eth-tester://"])
    except SystemExit as exc:
        code = int(exc.code or 0)

    assert code == 1 and "--log-format 'xml'" in capsys.readouterr().err
