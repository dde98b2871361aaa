"""Settings: what a render looks like (``RenderSettings``) and how a run behaves (``RunSettings``).

Both are frozen dataclasses loaded from a TOML file (``configs/default.toml`` documents every key)
and overridden by CLI flags. ``RenderSettings`` crosses into worker processes, so it stays plain and
picklable. The config fingerprint that the cache keys on is built from it in ``cache.entry``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

import msgspec

from asyncrender.colours import dvipng_colour
from asyncrender.styles import BUILT_IN, STYLE_NAME, StyleChoice, StyleDef, item_dpi, item_styles

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

# Types with their bounds: msgspec checks them strictly when settings are loaded (no bool for an
# int, no float for an int, no string for a bool or a list), and the message says what is accepted.
Positive = Annotated[int, msgspec.Meta(ge=1)]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]
# A TeX run longer than a day is a hang; inf, nan and 1e308 would disable the timer.
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Dpi = Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class ConfigError(ValueError):
    """A settings file or value that cannot be used; the message names the key."""


@dataclass(frozen=True)
class RenderSettings:
    """Everything a backend needs to turn LaTeX into pixels."""

    renderer: RendererName = "auto"
    dpi: Dpi = 200
    font_size: Literal[10, 11, 12] = 12  # the article class sizes
    preamble: tuple[str, ...] = DEFAULT_PREAMBLE
    foreground: str = "black"
    background: str = "transparent"
    padding: NonNegative = 0
    batch_size: Positive = 1000
    timeout: Seconds = 30.0
    max_pixels: Positive = 25_000_000
    image_mode: ImageMode = "native"
    pad_to_multiple: Annotated[int, msgspec.Meta(ge=1, le=4096)] = 1  # grow each image right and down to a multiple
    # Styles (see ``styles``): the looks every item is rendered in, user styles, and how items pick.
    styles: tuple[str, ...] = ("cm",)
    style: tuple[StyleDef, ...] = ()  # [render.style.NAME] tables
    style_choice: StyleChoice = "all"
    seed: int = 0
    dpi_range: tuple[Dpi, Dpi] | None = None  # render.dpi = [lo, hi] in a settings file

    def __post_init__(self) -> None:
        _check_types(self, "render")
        for name in ("foreground", "background"):
            try:
                dvipng_colour(getattr(self, name))
            except (ValueError, AttributeError) as exc:
                raise ConfigError(f"render.{name}: {exc}") from None
        if self.foreground.strip().lower() == "transparent":
            raise ConfigError("render.foreground cannot be transparent")
        self._check_styles()

    def _check_styles(self) -> None:
        known = {**BUILT_IN, **{s.name: s for s in self.style}}
        for defined in self.style:
            if not STYLE_NAME.fullmatch(defined.name):
                raise ConfigError(f"render.style.{defined.name}: a style name is 1-32 of a-z, 0-9, _ and -")
        if not self.styles:
            raise ConfigError("render.styles must name at least one style")
        for name in self.styles:
            if name not in known:
                raise ConfigError(f"render.styles: unknown style {name!r}; built in: {', '.join(BUILT_IN)}, "
                                  f"or define it as [render.style.{name}]")
        if len(set(self.styles)) != len(self.styles):
            raise ConfigError("render.styles names a style twice")
        if self.dpi_range is not None and self.dpi_range[0] > self.dpi_range[1]:
            raise ConfigError(f"render.dpi must be a dpi or [low, high] with low <= high, not {list(self.dpi_range)}")

    @property
    def multi_look(self) -> bool:
        """Whether items get more than one look (several styles, or a dpi range): image names then
        carry the style, and image records the style and dpi."""
        return len(self.styles) > 1 or self.dpi_range is not None

    def item_looks(self, paper_id: str, item_id: str) -> list[tuple[str, int]]:
        """``(style, dpi)`` of every image of one item."""
        dpi = item_dpi(self.dpi, self.dpi_range, self.seed, paper_id, item_id)
        return [(name, self._style(name).dpi or dpi)
                for name in item_styles(self.styles, self.style_choice, self.seed, paper_id, item_id)]

    def for_look(self, style: str, dpi: int) -> RenderSettings:
        """The settings a backend gets for the items of one style at one dpi."""
        defined = self._style(style)
        return dataclasses.replace(
            self, preamble=self.preamble + defined.preamble, font_size=defined.font_size or self.font_size,
            dpi=dpi, styles=(style,), style=tuple(s for s in self.style if s.name == style), style_choice="all",
            dpi_range=None)

    def _style(self, name: str) -> StyleDef:
        return next((s for s in self.style if s.name == name), None) or BUILT_IN[name]

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
        # Left at their defaults, the style settings are left out, so that a cache made before they
        # existed stays valid; otherwise the fingerprint holds every style used, as defined.
        for name in ("styles", "style", "style_choice", "seed", "dpi_range"):
            del fields[name]
        if self.styles != ("cm",) or self.dpi_range is not None:
            fields["styles"] = {name: dataclasses.asdict(self._style(name)) for name in self.styles}
            fields["style_choice"] = self.style_choice
            fields["seed"] = self.seed
            fields["dpi_range"] = list(self.dpi_range) if self.dpi_range else None
        return fields


_LATER_DEFAULTS: dict[str, object] = {"image_mode": "native", "pad_to_multiple": 1}


@dataclass(frozen=True)
class RunSettings:
    """How a run is carried out; none of it changes an image."""

    jobs: NonNegative = 0  # 0: one worker per CPU
    jobs_in_flight_per_worker: Positive = 2
    files_per_job: Positive = 32
    bytes_per_job: Positive = 128 * 1024
    resume: bool = False
    retry_failed: bool = False
    fsync: bool = False
    executor: ExecutorName = "local"
    scheduler: str | None = None
    shard: Shard | None = None  # render only the files of this shard (see run.shard)
    share_images: bool = True  # items of one look typeset once per run; copies linked (worker.shared)
    io_threads: NonNegative = 0  # threads for the orchestrator's entry reads and writes; 0: io_thread_count

    def __post_init__(self) -> None:
        _check_types(self, "run")
        if self.executor == "dask" and not self.scheduler:
            raise ConfigError('run.executor "dask" needs run.scheduler, the scheduler\'s address '
                              "(--scheduler tcp://host:port)")
        if self.shard is not None and not valid_shard(self.shard):
            raise ConfigError(f"run.shard must be [I, N], integers with 0 <= I < N, not {self.shard!r}")

    @property
    def worker_count(self) -> int:
        return self.jobs or os.cpu_count() or 1

    def io_thread_count(self, cache_in_memory: bool = False) -> int:
        """``io_threads``, or by default: with ``fsync`` 16 (syncs wait on the disk, not on
        Python); for a cache in memory (tmpfs) 1, since no file system call waits there and a
        second thread only hands Python's GIL back and forth on each of them (20,000 files through
        the orchestrator alone: ~12,500 files/s with 1, ~10,000 with 2); else 2, whose second
        thread overlaps a disk's waits (ext4 here: ~10% more files/s than 1). More hand the GIL
        around more: 2 wrote 20,000 entries on tmpfs 1.19x faster than 40 (BENCHMARKS.md 8)."""
        return self.io_threads or (16 if self.fsync else 1 if cache_in_memory else 2)


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

    def with_overrides(self, render: Mapping[str, object], run: Mapping[str, object]) -> Config:
        """A copy with the given keys replaced (``None`` values are ignored: flag not given), every
        value checked by type."""
        return Config(
            render=_replace(self.render, "render", render),
            run=_replace(self.run, "run", run),
        )


SettingsT = TypeVar("SettingsT", "RenderSettings", "RunSettings")


def _replace(settings: SettingsT, section: str, values: Mapping[str, object]) -> SettingsT:
    # Values from TOML or flags, of any type until ``_check_types`` (run by the replace) checks them.
    given: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
    unknown = sorted(set(given) - {f.name for f in dataclasses.fields(settings)})
    if unknown:
        raise ConfigError(f"unknown setting {section}.{unknown[0]}")
    return dataclasses.replace(settings, **given)


def _check_types(settings: Any, section: str) -> None:
    """Check every field strictly against its type (msgspec: no bool for an int, no float for an
    int, no string for a bool or a list, bounds from ``msgspec.Meta``); TOML arrays become tuples.
    Settings are made rarely (a job carries them pickled, which skips this), so it costs nothing."""
    hints = typing.get_type_hints(type(settings), include_extras=True)
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        try:
            checked = msgspec.convert(value, hints[f.name], strict=True)
        except msgspec.ValidationError:
            shown = json.dumps(value) if isinstance(value, str | int | float | bool | list | tuple) else repr(value)
            raise ConfigError(f"{section}.{f.name} must be {_accepted(hints[f.name])}, not {shown}") from None
        object.__setattr__(settings, f.name, checked)  # frozen: set once, while being made


def _accepted(hint: Any) -> str:
    """What a settings type accepts, in words."""
    bounds = ""
    if typing.get_origin(hint) is Annotated:
        hint, *metas = typing.get_args(hint)
        for meta in metas:
            if isinstance(meta, msgspec.Meta):
                limits = [f"{op} {getattr(meta, attr)}" for attr, op in
                          (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if getattr(meta, attr) is not None]
                bounds = " " + " and ".join(limits) if limits else ""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_accepted(a) for a in args)
    if origin is tuple:
        return "a list of strings" if args[-1:] == (Ellipsis,) else f"a list of {len(args)} integers"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            type(None): "nothing (leave it out)"}.get(hint, str(hint)) + bounds


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
        return Config().with_overrides(_render_table(data.get("render", {})), data.get("run", {}))
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _render_table(render: Mapping[str, object]) -> dict[str, object]:
    """The [render] table as settings: ``dpi = [lo, hi]`` is a dpi range, ``[render.style.NAME]``
    tables are user styles."""
    render = dict(render)
    if isinstance(render.get("dpi"), list):
        render["dpi_range"] = render.pop("dpi")
    styles = render.get("style")
    if isinstance(styles, dict):
        defined = []
        for name, table in styles.items():
            if not isinstance(table, dict):
                raise ConfigError(f"render.style.{name} must be a table")
            unknown = sorted(set(table) - {"preamble", "font_size", "dpi"})
            if unknown:
                raise ConfigError(f"unknown setting render.style.{name}.{unknown[0]}")
            try:
                defined.append(msgspec.convert({**table, "name": name}, StyleDef, strict=True))
            except msgspec.ValidationError as exc:
                raise ConfigError(f"render.style.{name}: {exc}") from None
        render["style"] = tuple(defined)
    return render


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
