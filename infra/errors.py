"""The one error the base stack raises for a bad configuration."""

from __future__ import annotations

import pulumi


class ConfigError(pulumi.RunError):
    """An invalid configuration value; Pulumi prints the message without a traceback, at
    preview as at update, before anything is created."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)
