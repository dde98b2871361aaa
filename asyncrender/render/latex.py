"""The real-TeX backend: latex + preview.sty + dvipng, many items per TeX run.

Algorithm
---------
Items are cut into TeX batches of ``settings.batch_size``. For a batch:

1. Every item goes into its own file, read by one line of the main file inside its own
   ``preview`` environment and group (``texsource``). The file boundary stops runaway arguments and
   unclosed definitions or conditionals at the item; the group undoes its local assignments.
   ``\\count1`` labels each DVI page with the item's id; log markers (with a per-process nonce)
   delimit each item's part of the log; a hook in ``preview`` logs each box's size.
2. latex runs (nonstopmode, sandboxed, see below) on the batch. ``texlog.parse_log`` gives per item:
   started/ended, TeX's errors (``! ...`` with context; a refused ``\\write18`` counts as one), box
   sizes; ``texlog.dvi_pages`` gives the page labels.
3. ``texlog.decide`` (its docstring has the rules): every item logs TeX's state as it begins
   (group level, conditional level, mode). An item that began in the same state as the run's
   first item ran exactly as it would alone (up to ``\\global`` assignments), even after another
   item's error: a good one is accepted with its page, a bad one fails with its own message. So a
   batch with a few bad items still takes one latex run. Items after an error that left TeX in
   another state prove nothing and are re-run: those without an error first, then the ones that
   errored, in reverse order; an item that errors a second time (with other neighbours) is
   confirmed failed. An item that TeX only drew after recovering from its own error never becomes
   an image. If a batch needs more than ``MAX_ROUNDS`` runs it is halved.
4. A run that exceeds ``settings.timeout`` is killed (its whole process group). The markers are
   flushed to the terminal output as they are written, so the item that was running is known: it
   fails as ``timeout`` and the rest are re-run, one timeout per hanging item. If no item was
   running, the batch is bisected (O(log n) timeouts).
5. Accepted pages go through one dvipng call per run (``-T tight``: crop to the ink; ``-pp`` just
   those pages). An item whose box is empty (zero width, or zero height+depth, e.g. ``\\relax``)
   fails as ``latex`` "empty output"; one whose box would exceed ``settings.max_pixels`` fails as
   ``too_large`` before dvipng draws it (and the PNG's real size is checked again after).

Sandbox: ``-no-shell-escape``, kpathsea paranoid ``openin_any=p``/``openout_any=p``, ``HOME`` and
``TEXMFOUTPUT`` set to a private ``mkdtemp`` folder (in memory where possible: ``scratch_root``)
that is the cwd and is removed afterwards, dvipng
with ``--nogs`` (no Ghostscript for PostScript specials).

The preamble is precompiled into a format with mylatexformat once per (preamble, font size, TeX
version) and kept in ``format_cache_dir()``, so workers and later runs skip TeX's preamble; if that
fails, runs load the preamble themselves.

Known limits: ``\\global`` assignments in an item do leak into later items of the same run (a group
cannot stop them); an item that draws far outside its box (``\\smash{\\rule...}``) is only caught
after dvipng drew it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import math
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asyncrender.colours import dvipng_colour, rgba
from asyncrender.config import RenderSettings
from asyncrender.model import ITEM_TYPES, ErrorKind
from asyncrender.render.base import ItemOutcome, RenderItem, png_size, publish_file
from asyncrender.render.texlog import decide, dvi_pages, parse_log, running_item
from asyncrender.render.texsource import (
    document_source,
    estimated_pixels,
    format_key,
    item_file_name,
    item_file_text,
    preamble_source,
)
from asyncrender.worker.lifetime import child_dies_with_me, scratch_prefix

MAX_ROUNDS = 4
_NONCE = secrets.token_hex(4)  # per process: items cannot forge the log markers
_formats: dict[str, Path | None] = {}
USE_FORMAT = True  # the benchmark turns it off to measure


@functools.cache
def tex_available() -> bool:
    """latex and dvipng on PATH, and preview.sty found by kpsewhich."""
    if not (shutil.which("latex") and shutil.which("dvipng") and shutil.which("kpsewhich")):
        return False
    try:
        out = subprocess.run(["kpsewhich", "preview.sty"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


def _sandbox_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ", "TEXMFHOME", "TEXMFCNF")}
    env.update(
        HOME=str(workdir), TEXMFOUTPUT=str(workdir), TEXMFVAR=str(workdir / ".texmf-var"),
        openin_any="p", openout_any="p", shell_escape="f",
        max_print_line="100000", error_line="254", half_error_line="238", LC_ALL="C",
    )
    return env


def _run(cmd: list[str], workdir: Path, timeout: float, stdout_name: str) -> tuple[int | None, str]:
    """Run ``cmd`` in its own process group; ``(None, terminal)`` if it timed out (group killed)."""
    term = workdir / stdout_name
    with open(term, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, env=_sandbox_env(workdir), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=child_dies_with_me())  # a session of its own, yet it dies with us
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        # A timer thread, not Popen.wait(timeout=...): that one polls with sleeps of up to 50 ms.
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            rc: int | None = proc.wait()
        finally:
            timer.cancel()
        if expired.is_set():
            rc = None
    return rc, term.read_text("latin-1")


def scratch_root() -> str | None:
    """Where TeX's private work folders go: ``$ASYNCRENDER_SCRATCH``, else ``/dev/shm`` (memory)
    when it is there, else the system temp folder.

    A batch creates a file per item and dvipng a PNG per item; on a disk file system each create
    costs a journal write (about 0.25 ms here, more than TeX's own time per item), in memory ~10 us.
    """
    explicit = os.environ.get("ASYNCRENDER_SCRATCH")
    if explicit:
        return explicit
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK) else None


def format_cache_dir() -> Path:
    """Where precompiled formats are kept across runs: ``$ASYNCRENDER_FORMAT_DIR``, else
    ``$XDG_CACHE_HOME/asyncrender/formats`` (``~/.cache/...``)."""
    explicit = os.environ.get("ASYNCRENDER_FORMAT_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "asyncrender" / "formats"


def _format_for(settings: RenderSettings) -> Path | None:
    """The precompiled format for this preamble, or None (runs then load the preamble themselves).

    Built once and kept on disk, keyed by the preamble, the font size and TeX's version, so a new
    worker or a new run finds it ready; written by rename, so concurrent builders never clash.
    """
    if not USE_FORMAT:
        return None
    key = f"{format_key(settings)}-{hashlib.sha256(_tool_versions().encode()).hexdigest()[:8]}"
    if key in _formats:
        return _formats[key]
    target = format_cache_dir() / f"{key}.fmt"
    _formats[key] = target if target.exists() else _build_format(settings, target)
    return _formats[key]


def _build_format(settings: RenderSettings, target: Path) -> Path | None:
    work = Path(tempfile.mkdtemp(prefix=scratch_prefix("ini")))
    try:
        pre = preamble_source(settings) + "\\begin{document}\n\\end{document}\n"
        (work / "pre.tex").write_text(pre, encoding="utf-8")
        cmd = ["latex", "-ini", "-no-shell-escape", "-interaction=batchmode", "-jobname=arfmt",
               "&latex", "mylatexformat.ltx", "pre.tex"]
        rc, _ = _run(cmd, work, max(60.0, settings.timeout), "ini.out")
        fmt = work / "arfmt.fmt"
        if rc != 0 or not fmt.exists() or "\n! " in (work / "arfmt.log").read_text("latin-1"):
            return None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            publish_file(fmt.read_bytes(), target)
        except OSError:  # no writable cache folder: keep this process's copy
            private = Path(tempfile.mkdtemp(prefix="asyncrender-fmt-"))
            atexit.register(shutil.rmtree, private, True)
            target = private / target.name
            shutil.move(fmt, target)
        return target
    except OSError:
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class _Batch:
    """State of one TeX batch inside a private work dir."""

    items: Sequence[RenderItem]  # index i is id i+1
    settings: RenderSettings
    workdir: Path
    fmt: Path | None
    outcomes: dict[int, ItemOutcome]
    runs: int = 0

    def process(self, ids: list[int], suspects: dict[int, str]) -> None:
        pending, rounds = ids, 0
        while pending:
            rounds += 1
            if rounds > MAX_ROUNDS and len(pending) > 1:
                half = len(pending) // 2
                self.process(pending[:half], {i: m for i, m in suspects.items() if i in pending[:half]})
                self.process(pending[half:], {i: m for i, m in suspects.items() if i in pending[half:]})
                return
            self.runs += 1
            job = f"r{self.runs}"
            types = [(i, self.items[i - 1].type) for i in pending]
            src = document_source(types, self.settings, _NONCE, with_preamble=self.fmt is None)
            (self.workdir / f"{job}.tex").write_text(src, encoding="utf-8")
            cmd = ["latex", "-no-shell-escape", "-interaction=nonstopmode", f"-jobname={job}"]
            if self.fmt is not None:
                cmd.append(f"-fmt={self.fmt}")
            rc, term = _run([*cmd, f"{job}.tex"], self.workdir, self.settings.timeout, f"{job}.out")
            if rc is None:
                culprit = running_item(term, _NONCE)
                if culprit in pending or len(pending) == 1:
                    culprit = culprit if culprit in pending else pending[0]
                    self.outcomes[culprit] = ItemOutcome.failed(
                        "timeout", f"TeX did not finish within {self.settings.timeout:g} s")
                    pending = [i for i in pending if i != culprit]
                    suspects.pop(culprit, None)
                    continue
                half = len(pending) // 2
                self.process(pending[:half], {i: m for i, m in suspects.items() if i in pending[:half]})
                self.process(pending[half:], {i: m for i, m in suspects.items() if i in pending[half:]})
                return
            log_path = self.workdir / f"{job}.log"
            log = parse_log(log_path.read_text("latin-1") if log_path.exists() else term, _NONCE)
            if log.preamble_errors:
                for i in pending:
                    msg = "error in the preamble:\n" + log.preamble_errors[0]
                    self.outcomes[i] = ItemOutcome.failed("latex", msg)
                return
            try:
                pages = dvi_pages((self.workdir / f"{job}.dvi").read_bytes())
            except (OSError, ValueError):
                pages = []
            d = decide(pending, suspects, log, pages)
            for i, msg in d.failed.items():
                self.outcomes[i] = ItemOutcome.failed("latex", msg)
            if d.accepted:
                self._draw(job, {i: (p, log.items[i].dims[0]) for i, p in d.accepted.items()})
            if not d.accepted and not d.failed and d.pending == pending and not d.suspects:
                for i in pending:  # nothing started: TeX failed before the first item
                    self.outcomes[i] = ItemOutcome.failed("crash", f"latex exited with {rc}: {term[-500:]}")
                return
            pending, suspects = d.pending, d.suspects

    def _draw(self, job: str, accepted: dict[int, tuple[int, tuple[int, int, int]]]) -> None:
        s = self.settings
        pages: dict[int, int] = {}
        for i, (page, (ht, dp, wd)) in accepted.items():
            if wd <= 0 or ht + dp <= 0:
                self.outcomes[i] = ItemOutcome.failed("latex", "empty output: the item typesets nothing")
            elif estimated_pixels(ht, dp, wd, s.dpi, s.padding) > s.max_pixels:
                self.outcomes[i] = ItemOutcome.failed(
                    "too_large", f"the image would exceed {s.max_pixels} pixels at {s.dpi} dpi")
            else:
                pages[page] = i
        if not pages:
            return
        cmd = ["dvipng", "-q", "-T", "tight", "-D", str(s.dpi), "--nogs",
               "-bg", dvipng_colour(s.background), "-fg", dvipng_colour(s.foreground),
               "-pp", ",".join(str(p) for p in sorted(pages)), "-o", f"{job}p%d.png", f"{job}.dvi"]
        rc, term = _run(cmd, self.workdir, s.timeout, f"{job}.dvipng")
        for page, i in pages.items():
            png = self.workdir / f"{job}p{page}.png"
            try:
                data = png.read_bytes()
            except OSError:
                kind: ErrorKind = "timeout" if rc is None else "crash"
                msg = f"dvipng made no image (exit {rc}): {term[-300:]}"
                self.outcomes[i] = ItemOutcome.failed(kind, msg)
                continue
            self.outcomes[i] = _publish(data, self.items[i - 1].out_path, s)


def _publish(data: bytes, out_path: Path, s: RenderSettings) -> ItemOutcome:
    try:
        w, h = png_size(data)
    except ValueError:
        return ItemOutcome.failed("crash", "dvipng wrote something that is not a PNG")
    if s.padding:
        data = _pad(data, s.padding, s.background)
        w, h = w + 2 * s.padding, h + 2 * s.padding
    if w * h > s.max_pixels:
        return ItemOutcome.failed("too_large", f"the image is {w}x{h} pixels, over {s.max_pixels}")
    try:
        publish_file(data, out_path)
    except OSError as exc:
        return ItemOutcome.failed("io", f"cannot write {out_path}: {exc.strerror or exc}")
    return ItemOutcome(width=w, height=h)


def _pad(data: bytes, padding: int, background: str) -> bytes:
    """Add ``padding`` pixels of background on every side (Pillow, a matplotlib dependency)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        src = im.convert("RGBA")
    out = Image.new("RGBA", (src.width + 2 * padding, src.height + 2 * padding), rgba(background))
    out.paste(src, (padding, padding))
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


@functools.cache
def _tool_versions() -> str:
    parts = []
    for tool in ("latex", "dvipng"):
        try:
            out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30).stdout
            parts.append(out.splitlines()[0].strip() if out else f"{tool} ?")
        except (OSError, subprocess.SubprocessError):
            parts.append(f"{tool} missing")
    return "; ".join(parts)


class LatexBackend:
    name = "latex"

    def version(self) -> str:
        """latex's and dvipng's version lines (cached)."""
        return _tool_versions()

    def render(self, items: Sequence[RenderItem], settings: RenderSettings) -> list[ItemOutcome]:
        outcomes: list[ItemOutcome | None] = [None] * len(items)
        good = []
        for k, item in enumerate(items):
            if item.type not in ITEM_TYPES:
                outcomes[k] = ItemOutcome.failed("input", f"unknown item type {item.type!r}")
            else:
                good.append(k)
        fmt = _format_for(settings) if good else None
        # Equal batches of at most batch_size: 600 items make 3 x 200, not 250 + 250 + 100.
        size = math.ceil(len(good) / max(1, math.ceil(len(good) / settings.batch_size))) if good else 1
        for start in range(0, len(good), size):
            chunk = good[start : start + size]
            result = render_batch([items[k] for k in chunk], settings, fmt)
            for k, outcome in zip(chunk, result, strict=True):
                outcomes[k] = outcome
        return [o if o is not None else ItemOutcome.failed("crash", "not rendered") for o in outcomes]


def render_batch(
    items: Sequence[RenderItem], settings: RenderSettings, fmt: Path | None
) -> list[ItemOutcome]:
    """One TeX batch in a private temp dir (removed afterwards); one outcome per item."""
    workdir = Path(tempfile.mkdtemp(prefix=scratch_prefix("tex"), dir=scratch_root()))
    try:
        for i, item in enumerate(items, start=1):
            (workdir / item_file_name(i)).write_text(item_file_text(item.latex), encoding="utf-8")
        batch = _Batch(items, settings, workdir, fmt, {})
        batch.process(list(range(1, len(items) + 1)), {})
        return [batch.outcomes.get(i, ItemOutcome.failed("crash", "no outcome"))
                for i in range(1, len(items) + 1)]
    except OSError as exc:
        return [ItemOutcome.failed("io", f"temp dir: {exc}") for _ in items]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
