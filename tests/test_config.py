"""config: TOML settings, overrides and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncrender.config import Config, ConfigError, RenderSettings, RunSettings, load_config, parse_config
from tests.support.cli import cli

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_default_toml_documents_exactly_the_defaults() -> None:
    assert load_config(CONFIGS / "default.toml") == Config()


def test_shipped_configs_load() -> None:
    im2latex = load_config(CONFIGS / "im2latex.toml")
    assert (im2latex.render.dpi, im2latex.render.background, im2latex.render.font_size) == (200, "white", 12)
    multistyle = load_config(CONFIGS / "multistyle.toml").render
    assert len(multistyle.styles) == 6 and multistyle.dpi_range == (110, 170) and multistyle.style[0].name == "tx"


def test_flags_override_the_file_and_none_means_not_given() -> None:
    config = parse_config("[render]\ndpi = 300\n").with_overrides({"dpi": None, "timeout": 5.0}, {"jobs": 3})
    assert (config.render.dpi, config.render.timeout, config.run.jobs) == (300, 5.0, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[render]\ndpi = 0\n", "render.dpi must be an integer >= 1"),
        ("[render]\ncolour = 1\n", "unknown setting render.colour"),
        ("[rendr]\n", "unknown section [rendr]"),
        ("[render\n", "not valid TOML"),
        ("[render]\nrenderer = 'tex'\n", "render.renderer must be one of auto, latex, mathtext"),
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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[render]\ndpi = true\n", "render.dpi must be an integer >= 1 and <= 10000, not true"),
        ("[render]\ndpi = 200.5\n", "render.dpi must be an integer >= 1 and <= 10000, not 200.5"),
        ("[render]\nfont_size = 12.0\n", "render.font_size must be one of 10, 11, 12, not 12.0"),
        ("[run]\nresume = 'false'\n", 'run.resume must be true or false, not "false"'),
        ("[run]\nfsync = 'no'\n", 'run.fsync must be true or false, not "no"'),
        ("[render]\npreamble = '\\\\usepackage{x}'\n", "render.preamble must be a list of strings"),
        ("[render]\ntimeout = inf\n", "render.timeout must be a number > 0 and <= 86400, not Infinity"),
        ("[render]\ntimeout = nan\n", "render.timeout must be a number > 0 and <= 86400, not NaN"),
        ("[render]\ntimeout = 1e308\n", "render.timeout must be a number > 0 and <= 86400"),
        ("[render]\nforeground = 5\n", "render.foreground must be a string, not 5"),
        ("[run]\njobs = 2.0\n", "run.jobs must be an integer >= 0, not 2.0"),
        ("[run]\nscheduler = 5\n", "run.scheduler must be a string or nothing"),
    ],
)
def test_settings_are_checked_strictly_by_type(text: str, message: str) -> None:
    """No coercion: a boolean, a float or a string where another type belongs is refused, naming
    the setting and what it accepts; inf/nan/1e308 would disable the TeX timer."""
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "my.toml")
    assert str(raised.value).startswith(f"my.toml: {message}")
    assert "\n" not in str(raised.value)


def test_the_library_checks_settings_made_directly() -> None:
    with pytest.raises(ConfigError, match=r"render\.dpi must be an integer"):
        RenderSettings(dpi=True)
    assert RenderSettings(timeout=5).timeout == 5.0
    assert parse_config("[render]\npreamble = ['\\usepackage{x}']\n").render.preamble == (r"\usepackage{x}",)


@pytest.mark.parametrize(
    "args",
    [
        ["render", "LIST", "--config", "CONFIG"],
        ["render", "LIST", "--dpi", "0"],
        ["failures", "--kind", "bogus"],
    ],
)
def test_the_cli_refuses_bad_settings_in_one_line_and_writes_nothing(tmp_path: Path, args: list[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[render]\ntimeout = inf\n")
    listing = tmp_path / "list.txt"
    listing.write_text("a_extracted.json\n")
    args = [str(config) if a == "CONFIG" else str(listing) if a == "LIST" else a for a in args]
    proc = cli(*args, "-c", str(tmp_path / "cache"), *(["-o", str(tmp_path / "out")] if args[0] == "render" else []))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "list.txt"]


def test_io_thread_count_defaults() -> None:
    assert RunSettings().io_thread_count() == 2
    assert RunSettings().io_thread_count(cache_in_memory=True) == 1
    assert RunSettings(fsync=True).io_thread_count(cache_in_memory=True) == 16
    assert RunSettings(io_threads=5, fsync=True).io_thread_count() == 5
    assert RunSettings(io_threads=3).io_thread_count(cache_in_memory=True) == 3
