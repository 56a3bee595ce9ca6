"""Log lines: JSON lines carrying the request, job and conversation they belong to (the key
hashed), concurrent work never mixing its fields, and text on a terminal."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.jobs import Job, dispatch
from bot.logs import chosen_format, conversation_tag, current_context, log_context, log_handler

KEY = "slack:T0001:U0001"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the root logger writes as JSON lines while the test runs."""
    written = io.StringIO()
    handler = log_handler("json", stream=written)
    logging.getLogger().addHandler(handler)
    try:
        yield written
    finally:
        logging.getLogger().removeHandler(handler)


def logged(lines: io.StringIO, marker: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.getvalue().splitlines() if marker in line]


def test_a_json_line_has_its_level_logger_message_and_context(lines: io.StringIO) -> None:
    with log_context(request_id="r-1", conversation=conversation_tag(KEY)):
        logging.getLogger("bot.test").warning("draft %s kept", "d-1")

    (line,) = logged(lines, "kept")
    assert line["level"] == "WARNING"
    assert line["logger"] == "bot.test"
    assert line["message"] == "draft d-1 kept"
    assert line["request_id"] == "r-1"
    assert line["conversation"] == conversation_tag(KEY)
    assert line["time"].endswith("+00:00")
    assert KEY not in lines.getvalue()  # a chat key names a person: only its tag is logged


def test_an_exception_is_one_line_with_its_traceback(lines: io.StringIO) -> None:
    try:
        raise ValueError("the reason")
    except ValueError:
        logging.getLogger("bot.test").exception("failed once")

    (line,) = logged(lines, "failed once")
    assert "ValueError: the reason" in line["exception"]
    assert len(lines.getvalue().splitlines()) == 1


def test_partner_centers_request_id_given_by_the_caller_is_kept(lines: io.StringIO) -> None:
    with log_context(job_id="1-0"):
        logging.getLogger("bot.test").warning("sent", extra={"pc_request_id": "pc-9"})

    (line,) = logged(lines, "sent")
    assert line["pc_request_id"] == "pc-9"
    assert line["job_id"] == "1-0"


def test_contexts_nest_and_end_with_their_block() -> None:
    with log_context(request_id="r-1"):
        with log_context(job_id="j-1", conversation=None):
            assert current_context() == {"request_id": "r-1", "job_id": "j-1"}
        assert current_context() == {"request_id": "r-1"}
    assert current_context() == {}


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="not a log field: token"), log_context(token="x"):
        pass


async def test_concurrent_jobs_never_mix_their_fields(lines: io.StringIO) -> None:
    async def work(job: Job) -> None:
        await asyncio.sleep(0.01)  # the other job runs meanwhile
        logging.getLogger("bot.test").warning("working on %s", job.payload["n"])

    handle = dispatch({"test": work})
    await asyncio.gather(*(handle(Job(f"{n}-0", "test", {"n": n})) for n in range(5)))

    found = logged(lines, "working on")
    assert sorted((line["message"], line["job_id"]) for line in found) == [
        (f"working on {n}", f"{n}-0") for n in range(5)
    ]
    assert all(line["job_kind"] == "test" for line in found)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_on_a_terminal_json_elsewhere_unless_told() -> None:
    assert chosen_format(None, stream=Terminal()) == "text"
    assert chosen_format(None, stream=io.StringIO()) == "json"
    assert chosen_format("text", stream=io.StringIO()) == "text"
    assert chosen_format("json", stream=Terminal()) == "json"


def test_a_text_line_reads_as_before() -> None:
    written = io.StringIO()
    handler = log_handler("text", stream=written)
    record = logging.LogRecord("bot.test", logging.INFO, __file__, 1, "hello %s", ("you",), None)

    handler.handle(record)

    assert written.getvalue() == "INFO bot.test: hello you\n"
