"""config: TOML settings, overrides and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncrender.config import Config, ConfigError, RenderSettings, load_config, parse_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_default_toml_documents_exactly_the_defaults() -> None:
    assert load_config(CONFIGS / "default.toml") == Config()


def test_shipped_configs_load() -> None:
    im2latex = load_config(CONFIGS / "im2latex.toml")
    assert (im2latex.render.dpi, im2latex.render.background, im2latex.render.font_size) == (200, "white", 12)


def test_flags_override_the_file_and_none_means_not_given() -> None:
    config = parse_config("[render]\ndpi = 300\n").with_overrides({"dpi": None, "timeout": 5.0}, {"jobs": 3})
    assert (config.render.dpi, config.render.timeout, config.run.jobs) == (300, 5.0, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[render]\ndpi = 0\n", "render.dpi must be at least 1"),
        ("[render]\ncolour = 1\n", "unknown setting render.colour"),
        ("[rendr]\n", "unknown section [rendr]"),
        ("[render\n", "not valid TOML"),
        ("[render]\nrenderer = 'tex'\n", "render.renderer must be one of"),
        ("[render]\nbackground = 'mauve-ish'\n", "render.background: unknown colour"),
        ("[render]\nforeground = 'transparent'\n", "render.foreground cannot be transparent"),
    ],
)
def test_bad_settings_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_config(text, "my.toml")


def test_pixel_settings_leave_out_batch_size_only() -> None:
    a = RenderSettings(batch_size=10).pixel_settings()
    assert a == RenderSettings(batch_size=500).pixel_settings()
    assert a != RenderSettings(dpi=300).pixel_settings()
    assert "batch_size" not in a and "timeout" in a
