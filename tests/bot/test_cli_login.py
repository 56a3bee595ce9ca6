"""``referral-bot login``, ``whoami`` and ``logout``: the integration user from a terminal,
run as a child process against the identity stand-in and the suite's Redis."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.support.identity_stand_in import CLIENT_ID, TENANT, IdentityStandIn
from tests.support.processes import child_env
from tests.support.sign_in import GRACE, TEST_KEY

TIMEOUT = 60


@pytest.fixture
def service_env(identity: IdentityStandIn, redis_url: str) -> Iterator[dict[str, str]]:
    env = child_env(
        AUTH_MODE="service",
        ENTRA_AUTHORITY=identity.authority_root,
        ENTRA_TENANT_ID=TENANT,
        ENTRA_CLIENT_ID=CLIENT_ID,
        TOKEN_ENCRYPTION_KEY=TEST_KEY,
        REQUESTS_CA_BUNDLE=str(identity.ca_bundle),
        REDIS_URL=redis_url,
    )
    yield env
    referral_bot("logout", env=env)  # the integration user's cache is shared: leave none


def referral_bot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["referral-bot", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_login_prints_a_code_and_signs_the_integration_user_in(
    fresh_identity: IdentityStandIn, service_env: dict[str, str]
) -> None:
    login = subprocess.Popen(
        ["referral-bot", "login"],
        env=service_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert login.stdout is not None
    first = login.stdout.readline()
    (code,) = re.findall(r"enter the code (\S+)", first)
    threading.Timer(0.2, fresh_identity.approve_device_code, (code, GRACE)).start()
    out, err = login.communicate(timeout=TIMEOUT)

    assert login.returncode == 0, err
    assert f"Signed in to Partner Center as {GRACE.username}." in out
    assert (
        "Signed in as grace.hopper@contoso.example"
        in referral_bot("whoami", env=service_env).stdout
    )
    logout = referral_bot("logout", env=service_env)
    assert "tokens are deleted" in logout.stdout
    assert "not signed in" in referral_bot("whoami", env=service_env).stdout


def test_login_with_a_static_token_says_there_is_nothing_to_sign_in_to(
    redis_url: str,
) -> None:
    done = referral_bot("login", env=child_env(REDIS_URL=redis_url))
    assert done.returncode == 2
    assert "AUTH_MODE=static" in done.stderr


def test_login_without_the_key_names_it(identity: IdentityStandIn, redis_url: str) -> None:
    env = child_env(
        AUTH_MODE="service",
        ENTRA_AUTHORITY=identity.authority_root,
        ENTRA_TENANT_ID=TENANT,
        ENTRA_CLIENT_ID=CLIENT_ID,
        REDIS_URL=redis_url,
    )
    done = referral_bot("login", env=env)
    assert done.returncode == 2
    assert "TOKEN_ENCRYPTION_KEY" in done.stderr
