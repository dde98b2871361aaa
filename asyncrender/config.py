"""Settings: what a render looks like (``RenderSettings``) and how a run behaves (``RunSettings``).

Both are frozen dataclasses loaded from a TOML file (``configs/default.toml`` documents every key)
and overridden by CLI flags. ``RenderSettings`` crosses into worker processes, so it stays plain and
picklable. The config fingerprint that the cache keys on is built from it in ``cache.entry``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from asyncrender.colours import dvipng_colour

DEFAULT_PREAMBLE: tuple[str, ...] = (
    r"\usepackage{amsmath}",
    r"\usepackage{amssymb}",
    r"\usepackage{amsfonts}",
    r"\usepackage{booktabs}",
    r"\usepackage{multirow}",
)

RendererName = Literal["auto", "latex", "mathtext"]
ExecutorName = Literal["local", "dask", "dask-local"]
# "native": as the backend writes it (dvipng: 8-bit palette; mathtext: RGBA). "P" palette, "L" 8-bit
# grey, "RGB", "RGBA": converted (README "Image modes"). Pillow's mode names.
ImageMode = Literal["native", "P", "L", "RGB", "RGBA"]
IMAGE_MODES: tuple[ImageMode, ...] = get_args(ImageMode)
RENDERERS: tuple[RendererName, ...] = get_args(RendererName)
EXECUTORS: tuple[ExecutorName, ...] = get_args(ExecutorName)
Shard = tuple[int, int]  # (I, N): shard I of N


class ConfigError(ValueError):
    """A settings file or value that cannot be used; the message names the key."""


@dataclass(frozen=True)
class RenderSettings:
    """Everything a backend needs to turn LaTeX into pixels."""

    renderer: RendererName = "auto"
    dpi: int = 200
    font_size: int = 12
    preamble: tuple[str, ...] = DEFAULT_PREAMBLE
    foreground: str = "black"
    background: str = "transparent"
    padding: int = 0
    batch_size: int = 500
    timeout: float = 30.0
    max_pixels: int = 25_000_000
    image_mode: ImageMode = "native"
    pad_to_multiple: int = 1  # grow each image right and down to a multiple of this many pixels

    def __post_init__(self) -> None:
        if self.image_mode not in IMAGE_MODES:
            raise ConfigError(f"render.image_mode must be one of {', '.join(IMAGE_MODES)}, not {self.image_mode!r}")
        if not isinstance(self.pad_to_multiple, int) or isinstance(self.pad_to_multiple, bool) \
                or not 1 <= self.pad_to_multiple <= 4096:
            raise ConfigError("render.pad_to_multiple must be an integer from 1 (no padding) to 4096")
        if self.renderer not in RENDERERS:
            raise ConfigError(f"render.renderer must be one of {', '.join(RENDERERS)}, not {self.renderer!r}")
        for name in ("dpi", "font_size", "batch_size", "max_pixels"):
            if getattr(self, name) < 1:
                raise ConfigError(f"render.{name} must be at least 1")
        if self.padding < 0:
            raise ConfigError("render.padding must not be negative")
        if self.timeout <= 0:
            raise ConfigError("render.timeout must be positive")
        for name in ("foreground", "background"):
            try:
                dvipng_colour(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"render.{name}: {exc}") from None
        if self.foreground.strip().lower() == "transparent":
            raise ConfigError("render.foreground cannot be transparent")
        if self.font_size not in (10, 11, 12):
            raise ConfigError("render.font_size must be 10, 11 or 12 (the article class sizes)")

    def pixel_settings(self) -> dict[str, Any]:
        """The settings that can change an item's outcome (its pixels, or whether it renders at all).

        ``batch_size`` is left out on purpose: a batched item is pixel-identical to the same item
        rendered alone (the latex backend's tests prove it), so changing it must not re-render a cache.
        """
        fields = dataclasses.asdict(self)
        del fields["batch_size"]
        # Settings added later enter the fingerprint only when not at their default, so that the
        # caches made before them stay valid.
        for name, default in _LATER_DEFAULTS.items():
            if fields[name] == default:
                del fields[name]
        fields["preamble"] = list(self.preamble)
        return fields


_LATER_DEFAULTS: dict[str, Any] = {"image_mode": "native", "pad_to_multiple": 1}


@dataclass(frozen=True)
class RunSettings:
    """How a run is carried out; none of it changes an image."""

    jobs: int = 0  # 0: one worker per CPU
    jobs_in_flight_per_worker: int = 2
    files_per_job: int = 16
    bytes_per_job: int = 64 * 1024
    resume: bool = False
    retry_failed: bool = False
    fsync: bool = False
    executor: ExecutorName = "local"
    scheduler: str | None = None
    shard: Shard | None = None  # render only the files of this shard (see run.shard)

    def __post_init__(self) -> None:
        for name in ("jobs_in_flight_per_worker", "files_per_job", "bytes_per_job"):
            if getattr(self, name) < 1:
                raise ConfigError(f"run.{name} must be at least 1")
        if self.jobs < 0:
            raise ConfigError("run.jobs must be 0 (one per CPU) or more")
        if self.executor not in EXECUTORS:
            raise ConfigError(f"run.executor must be one of {', '.join(EXECUTORS)}, not {self.executor!r}")
        if self.executor == "dask" and not self.scheduler:
            raise ConfigError('run.executor "dask" needs run.scheduler, the scheduler\'s address '
                              "(--scheduler tcp://host:port)")
        if self.shard is not None and not valid_shard(self.shard):
            raise ConfigError(f"run.shard must be [I, N], integers with 0 <= I < N, not {self.shard!r}")

    @property
    def worker_count(self) -> int:
        return self.jobs or os.cpu_count() or 1


def valid_shard(shard: object) -> bool:
    """``(I, N)``: integers with ``0 <= I < N``."""
    return (isinstance(shard, tuple) and len(shard) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in shard)
            and 0 <= shard[0] < shard[1])


def parse_shard(text: str) -> Shard:
    """``"I/N"`` (as given to ``--shard``) to ``(I, N)``, with ``0 <= I < N``."""
    index, slash, count = text.strip().partition("/")
    try:
        shard = (int(index), int(count))
    except ValueError:
        shard = None
    if not slash or shard is None or not valid_shard(shard):
        raise ConfigError(f"--shard must be I/N with 0 <= I < N (e.g. 0/4), not {text!r}")
    return shard


@dataclass(frozen=True)
class Config:
    render: RenderSettings = field(default_factory=RenderSettings)
    run: RunSettings = field(default_factory=RunSettings)

    def with_overrides(self, render: dict[str, Any], run: dict[str, Any]) -> Config:
        """A copy with the given keys replaced (``None`` values are ignored: flag not given)."""
        return Config(
            render=_replace(self.render, "render", render),
            run=_replace(self.run, "run", run),
        )


def _replace(settings: Any, section: str, values: dict[str, Any]) -> Any:
    given = {k: v for k, v in values.items() if v is not None}
    known = {f.name for f in dataclasses.fields(settings)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ConfigError(f"unknown setting {section}.{unknown[0]}")
    for name in ("preamble", "shard"):  # TOML arrays are lists; the settings hold tuples
        if isinstance(given.get(name), list):
            given[name] = tuple(given[name])
    try:
        return dataclasses.replace(settings, **given)
    except TypeError as exc:
        raise ConfigError(f"[{section}]: {exc}") from None


def parse_config(text: str, source: str = "<config>") -> Config:
    """Parse TOML text into a ``Config``; unknown sections or keys are errors, not silently ignored."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"render", "run"})
    if unknown:
        raise ConfigError(f"{source}: unknown section [{unknown[0]}]")
    for section in ("render", "run"):
        if not isinstance(data.get(section, {}), dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
    try:
        return Config().with_overrides(data.get("render", {}), data.get("run", {}))
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """Read a TOML settings file; ``None`` gives the built-in defaults (those of configs/default.toml)."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror}") from None
    return parse_config(text, str(p))
