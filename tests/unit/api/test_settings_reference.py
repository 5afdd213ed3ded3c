"""docs/configuration.md is what `lambdaclone settings` prints: every setting, documented."""

from __future__ import annotations

from api.cli.reference import markdown
from engine.settings import Settings
from engine.tools import REPO_ROOT


def test_the_configuration_page_is_the_generated_reference() -> None:
    page = (REPO_ROOT / "docs" / "configuration.md").read_text()
    assert page == markdown(), "run `uv run lambdaclone settings > docs/configuration.md`"


def test_every_setting_has_a_row_and_a_meaning() -> None:
    reference = markdown()
    for name, field in Settings.model_fields.items():
        assert f"`LAMBDACLONE_{name.upper()}`" in reference
        assert field.description, f"{name} has no description"
