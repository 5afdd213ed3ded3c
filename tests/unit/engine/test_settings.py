"""Settings that are computed from others: the hosts the control plane accepts writes for."""

from __future__ import annotations

import pytest

from engine.settings import Settings


def test_allowed_hosts_default_to_this_machine_and_the_public_url() -> None:
    settings = Settings(host="10.1.2.3", public_url="https://Functions.Example.com:8443/base")
    assert settings.allowed_host_names == frozenset(
        {"127.0.0.1", "localhost", "[::1]", "10.1.2.3", "functions.example.com"}
    )
    assert Settings().allowed_host_names == frozenset({"127.0.0.1", "localhost", "[::1]"})
    ipv6 = Settings(host="::1", public_url="http://[fd00::5]:8000")
    assert {"[::1]", "[fd00::5]"} <= ipv6.allowed_host_names


def test_allowed_hosts_replace_the_default() -> None:
    settings = Settings(allowed_hosts=("api.example.com", "FD00::1"))
    assert settings.allowed_host_names == frozenset({"api.example.com", "[fd00::1]"})
    assert Settings(allowed_hosts=("*",)).allowed_host_names == frozenset({"*"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("*", {"*"}),
        ("a.example, b.example", {"a.example", "b.example"}),
        ('["a.example"]', {"a.example"}),
    ],
)
def test_allowed_hosts_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: set[str]
) -> None:
    monkeypatch.setenv("LAMBDACLONE_ALLOWED_HOSTS", value)
    assert Settings().allowed_host_names == frozenset(expected)
