"""The API's error bodies become typed errors that say what happened and where."""

from __future__ import annotations

import json

import pytest

from bot.partner_center import errors
from tests.fixtures import partner_center


def test_precondition_failed_body_is_read_to_the_innermost_code() -> None:
    body = json.dumps(partner_center("error_precondition_failed_response")).encode()
    error = errors.error_from_response(412, body, {"Request-ID": "req-1"}, correlation_id="c-1")
    assert isinstance(error, errors.PreconditionFailed)
    assert error.code == "preconditionFailed"
    assert error.most_specific_code == "resourceModified"
    assert error.request_id == "req-1"
    assert "request id req-1" in error.describe()
    assert "code resourceModified" in error.describe()


def test_invalid_request_keeps_the_target() -> None:
    body = json.dumps(partner_center("error_invalid_request_response")).encode()
    error = errors.error_from_response(400, body, {})
    assert isinstance(error, errors.Invalid)
    assert error.target
    assert error.target in error.describe()


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, errors.Invalid),
        (401, errors.Unauthorized),
        (403, errors.Forbidden),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (412, errors.PreconditionFailed),
        (429, errors.Throttled),
        (500, errors.Unavailable),
        (503, errors.Unavailable),
        (504, errors.Unavailable),
        (418, errors.PartnerCenterError),
    ],
)
def test_status_maps_to_a_type_with_a_default_message(
    status: int, kind: type[errors.PartnerCenterError]
) -> None:
    error = errors.error_from_response(status, b"<html>gateway</html>", {}, correlation_id="c")
    assert type(error) is kind
    assert error.status == status
    assert error.message
    assert f"HTTP {status}" in error.describe()
    assert "correlation id c" in error.describe()


def test_throttled_carries_retry_after() -> None:
    error = errors.error_from_response(429, b"", {}, retry_after=12.0)
    assert isinstance(error, errors.Throttled)
    assert error.retry_after == 12.0
