"""Log lines: JSON that always parses, and API key secrets masked wherever they appear."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.api.ops import (
    JsonFormatter,
    TextFormatter,
    configure_logging,
    redact,
    uvicorn_log_config,
)

KEY = "tk_0123456789abcdef_S3cr3tS3cr3tS3cr3tS3cr3tS3cr3t-_xyz"


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad key {KEY}")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("tanso.test", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_an_api_key_secret_is_masked_in_messages_arguments_and_tracebacks() -> None:
    for fmt in (JsonFormatter(), TextFormatter()):
        line = fmt.format(_record("key %s used", KEY, exc=True))
        assert "S3cr3t" not in line
        assert "tk_0123456789abcdef_***" in line
    assert redact("no key here") == "no key here"


@given(st.text(), st.dictionaries(st.sampled_from(["status", "path", "ip"]), st.text()))
def test_every_json_line_parses_and_keeps_the_message(message: str, extra: dict[str, str]) -> None:
    record = _record("%s", message)
    record.__dict__.update(extra)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    value = json.loads(line)
    assert value["message"] == redact(message)
    assert value["level"] == "error" and value["logger"] == "tanso.test"
    for k, v in extra.items():
        assert value[k] == redact(v)


def test_configure_logging_writes_json_lines_and_is_idempotent() -> None:
    buf = io.StringIO()
    configure_logging("json", "info", stream=buf)
    configure_logging("json", "info", stream=buf)
    try:
        logging.getLogger("tanso.unit").info("hello %s", "world")
        logging.getLogger("tanso.unit").debug("not at info")
    finally:
        configure_logging("text", "info")
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["message"] == "hello world"


def test_uvicorn_can_log_json_from_its_first_line(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(uvicorn_log_config("json", "info"))
    try:
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    finally:
        logging.getLogger("uvicorn").handlers = []
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert json.loads(line)["message"] == "Started server process [42]"
