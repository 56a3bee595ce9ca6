"""The suite refuses to leave loopback, so a test that tries fails loudly."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.conftest import NetworkAccessError


def test_connecting_to_a_public_address_fails() -> None:
    with socket.socket() as sock, pytest.raises(NetworkAccessError):
        sock.connect(("203.0.113.7", 443))


def test_resolving_a_public_name_fails() -> None:
    with pytest.raises(NetworkAccessError):
        socket.getaddrinfo("api.partner.microsoft.com", 443)


async def test_http_clients_cannot_reach_the_network() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(NetworkAccessError):
            await client.get("https://api.partner.microsoft.com/v1.0/engagements/referrals")


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
