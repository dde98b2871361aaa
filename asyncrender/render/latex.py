"""The real-TeX backend: latex + preview.sty + dvipng, many items per TeX run.

Guarantee: an item's outcome (its PNG bytes, or its error kind and message) is the one it gets
rendered alone, whatever the other items of its run (issue 11). An image or a failure is accepted
only from a position where that is proven; anything else is rendered again.

Algorithm
---------
Items are cut into TeX batches of ``settings.batch_size``. Items whose text names a primitive that
acts globally without being traced (``\\fontdimen``, ``\\hyphenchar``, ``\\special``, files,
``\\csname``, catcodes, ... see ``needs_own_run``) get a TeX run of their own. For the others:

1. One main document (``texsource``) holds every item: read verbatim and typeset with
   ``\\scantokens`` inside its own ``preview`` environment and group. The document reaches TeX
   through a FIFO that is unlinked once TeX has opened it, the job name is ``.ar`` (its log and
   DVI are dot files, which kpathsea's paranoid mode lets no item open), and the work dir is
   emptied before every run: an item can read no other item and no log, and a file it writes is
   seen (``\\openout`` in the log) and gone before the next run.
2. Before every item, ``\\AR@reset`` puts back what LaTeX keeps globally: every counter of
   ``\\cl@@ckpt`` at its ``\\begin{document}`` value, amsmath's label/tag bookkeeping, list and
   section flags, the shipout counters, NFSS's math fonts (recomputed), plain's global scratch
   boxes, the interaction mode, open streams. So counters, ``\\label`` and the like behave as alone.
3. While the item's text runs, e-TeX's ``\\tracingassigns`` logs every assignment. ``texlog``
   finds the global ones; those to names ``\\AR@reset`` resets, or to NFSS's caches and LaTeX's
   write-before-read scratch, are harmless; any other (``\\gdef``, ``\\newcounter``,
   ``\\global\\everypar``, a file written, tracing switched off) *taints* the item: it keeps its own
   outcome (it ran in the clean state), and the items after it are rendered again without it.
4. Markers carry TeX's state: at the start (group/conditional level, mode, group type; as for the
   run's first item, else the item is not trusted) and around the item's own text (an item that
   leaves ``\\begin{center}`` or a ``{`` open fails, batch or alone). The nonce exists only in the
   unreadable main document; markers must come exactly once and in order, else the run is
   ``forged``: nothing of it counts, the batch is halved, and alone the item fails.
5. ``texlog.decide``: a trusted item (clean state, no earlier taint) is accepted or fails with its
   own message (TeX's, its context quoting the item's own lines: ``l.1 \\frac{a}{b``); an error that
   may come from resources (TeX's capacity, math alphabets) is confirmed in a run of its own;
   untrusted items, errors included, are run again (suspects last, reversed). If a batch needs
   more than ``MAX_ROUNDS`` runs it is halved.
6. A run that exceeds ``settings.timeout`` is killed (its whole process group). The markers are
   flushed to the terminal output as they are written, so the item that was running is known: it
   fails as ``timeout`` and the rest are re-run. If no item was running, the batch is bisected.
7. Accepted pages go through one dvipng call per run and distinct dpi (``-T tight``: crop to the
   ink; ``-pp`` just those pages; ``-D`` the items' dpi: ``RenderItem.dpi``, else
   ``settings.dpi``), so items of many dpis share one TeX run. An empty box fails as ``latex``
   "empty output"; one that would exceed ``settings.max_pixels`` at its dpi fails as ``too_large``
   before dvipng draws it (and the PNG's real size is checked again after); a PNG dvipng began
   but could not finish (an empty file: a drawing too large for it) fails as ``too_large``.

A clean batch takes one latex run and one dvipng run per dpi.

Limits that would otherwise hit TeX's run as a whole, each failing only the item:

* A line longer than ``MAX_LINE_BYTES`` fails as ``too_large`` before TeX runs: TeX's buffer
  (``buf_size``) holds the main document's line and ``\\scantokens``' copy of it, and a line that
  does not fit aborts the run before the item starts, which would be blamed on its neighbour.
* Scratch space (``_Guard``): while latex runs, a thread measures the work folder every
  ``_POLL_SECONDS``; an item that adds more than ``scratch_limit()`` (``SCRATCH_ITEM_LIMIT``, at
  most a quarter of the scratch file system) since its start marker (a log flood, ``\\openout``
  in a loop, a huge DVI) has the run killed; it is rendered again alone, where it fails as
  ``too_large`` "used more than N MiB of scratch space", and the others go on without it. No file
  latex writes may exceed twice that, none dvipng writes that (``RLIMIT_FSIZE``: a PNG over it
  fails that item; the other pages are drawn again). What is kept of the log and terminal output
  is bounded by the same limits.
* A scratch file system that runs (nearly) out of space during a run: if the running item wrote
  at least half of what was free when the run began, it filled it (a file system fuller than the
  limit allows for) and is treated as above ("filled the scratch folder"); otherwise (another
  process filled it) nothing of that run counts (TeX's output may be cut short), its items fail as ``io``
  naming the folder (a transient kind: ``--resume`` renders them again); a PNG is published only
  whole (it ends with its ``IEND`` chunk).
* A precompiled format TeX cannot load (truncated, garbage, another TeX's): a run that used it
  and never reached its first item's marker rebuilds it once (``_format_broken``, written by
  rename, the file named in the log); if that fails too, runs load the preamble themselves.

Sandbox: ``-no-shell-escape``, kpathsea paranoid ``openin_any=p``/``openout_any=p``, ``HOME`` and
``TEXMFOUTPUT`` set to a private ``mkdtemp`` folder (in memory where possible: ``scratch_root``)
that is the cwd and is removed afterwards, ``SOURCE_DATE_EPOCH=0``/``FORCE_SOURCE_DATE=1`` (fixed
``\\time``, ``\\today``), dvipng with ``--nogs`` (no Ghostscript for PostScript specials).

The preamble (with the harness) is precompiled into a format with mylatexformat once per
(preamble, font size, TeX version) and kept, uncompressed, in ``format_cache_dir()``; if that fails, or with
``LatexBackend(use_format=False)``, runs load the preamble themselves. ``LatexBackend.counts``
counts the latex and dvipng processes it started.

Known limits: see the README's Rendering section.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import logging
import math
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asyncrender.colours import dvipng_colour, rgba
from asyncrender.config import RenderSettings
from asyncrender.lifetime import child_dies_with_me, scratch_prefix, scratch_root
from asyncrender.model import ITEM_TYPES
from asyncrender.render.base import ItemOutcome, RenderItem, png_size, publish_file
from asyncrender.render.png import finish_png
from asyncrender.render.texlog import TexLog, decide, dvi_pages, dvipng_depths, parse_log, running_item
from asyncrender.render.texsource import (
    document_source,
    encode_item,
    estimated_pixels,
    format_key,
    preamble_source,
)
from asyncrender.render.tools import format_cache_dir, tex_versions
from asyncrender.render.tools import tex_available as tex_available  # where callers look for it

logger = logging.getLogger("asyncrender")

MAX_ROUNDS = 4
# TeX reads a line of the main document into its buffer (``buf_size``: 200,000 in TeX Live), and
# ``\scantokens`` reads the item's line into it again: a longer line aborts the whole run ("Unable to
# read an entire line") before the item starts, so it would be blamed on a neighbour. Longer lines
# fail as ``too_large`` before TeX runs (``line_too_long``).
MAX_LINE_BYTES = 90_000
# Scratch space: an item may add at most this much to its work folder (TeX's log, the DVI, the
# terminal output, files it writes; a PNG for dvipng), and at most a quarter of the scratch file
# system (Docker's /dev/shm is 64 MiB), else it fails as ``too_large`` (see ``_Guard``).
SCRATCH_ITEM_LIMIT = 32 * 2**20
_POLL_SECONDS = 0.02
_LOW_SPACE = 256 * 2**10  # free bytes under which the scratch file system counts as full
_KEEP_FREE_HEAP = 64 * 2**20  # free heap a TeX tool keeps rather than returns (``_sandbox_env``)
_formats: dict[str, Path | None] = {}
_rebuilt: set[str] = set()  # formats this process found broken and rebuilt once
JOB = ".ar"  # a dot name: kpathsea's paranoid mode lets TeX write it but no item open it
MAIN = "main.tex"  # a FIFO, unlinked as soon as TeX has opened it

# Items whose text names a primitive that acts globally without \global and is not traced by
# \tracingassigns (font parameters, hyphenation, files, specials, interaction, randomness...), or a
# way to build such a name (\csname, catcode changes, ^^ notation, re-tokenising): such an item
# is rendered in a TeX run of its own, so whatever it does cannot reach another item.
_UNTRACED = (
    r"csname|begincsname|ifcsname|lowercase|uppercase|scantokens|pdfprimitive|primitive|fontdimen|hyphenchar"
    r"|skewchar|hyphenation|patterns|special|shipout|openin|openout|closein|closeout|read|readline|input"
    r"|include|InputIfFileExists|endinput|interactionmode|batchmode|nonstopmode|scrollmode|errorstopmode"
    r"|catcode|makeatletter|makeatother|ExplSyntaxOn|UseName|pagecolor|deadcycles|insertpenalties"
    r"|pagegoal|pagetotal|pagedepth|pagestretch|pageshrink|pdfsetrandomseed|pdfuniformdeviate"
    r"|pdfnormaldeviate|pdfresettimer|pdfelapsedtime|everyeof|immediate|write|message|errmessage"
    r"|show\w*|tracing\w*|aftergroup|afterassignment|futurelet|output|globaldefs|pdf\w*"
)
_ISOLATE = re.compile(
    rf"\\(?:{_UNTRACED})(?![A-Za-z])|\^\^|(?:fontdimen|hyphenchar|skewchar|hyphenation|csname|primitive)"
    rf"|\\(?:begin|end)(?![A-Za-z])(?!\s*\{{[A-Za-z*]+\}})|\\(?:begin|end)\s*\{{(?:{_UNTRACED})\}}"
)


def needs_own_run(latex: str) -> bool:
    """True for an item that is rendered in a TeX run of its own (see ``_UNTRACED``)."""
    return _ISOLATE.search(latex) is not None


def line_too_long(latex: str) -> str | None:
    """Why an item's text has a line TeX cannot read (see ``MAX_LINE_BYTES``), or None."""
    lines = encode_item(latex).split("\n")
    longest = max(range(len(lines)), key=lambda k: len(lines[k].encode("utf-8")))
    size = len(lines[longest].encode("utf-8"))
    if size <= MAX_LINE_BYTES:
        return None
    return f"line {longest + 1} is {size} bytes long, over TeX's line limit here ({MAX_LINE_BYTES} bytes)"


def _sandbox_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ", "TEXMFHOME", "TEXMFCNF")}
    env.update(
        HOME=str(workdir), TEXMFOUTPUT=str(workdir), TEXMFVAR=str(workdir / ".texmf-var"),
        openin_any="p", openout_any="p", shell_escape="f",
        max_print_line="100000", error_line="254", half_error_line="238", LC_ALL="C",
        SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1",  # \time, \day, \year and the DVI's date: fixed
        # glibc gives the top of the heap back to the kernel once 128 KiB of it are free; dvipng
        # frees each image before drawing the next, so every image faulted its memory in afresh
        # (20-30 page faults an image, a fifth of dvipng's time). A short-lived tool keeps it.
        GLIBC_TUNABLES=f"glibc.malloc.trim_threshold={_KEEP_FREE_HEAP}",
    )
    return env


def scratch_limit(folder: Path) -> int:
    """Bytes of scratch space one item may use in ``folder``: ``SCRATCH_ITEM_LIMIT``, at most a
    quarter of its file system."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return SCRATCH_ITEM_LIMIT
    return max(2**20, min(SCRATCH_ITEM_LIMIT, st.f_blocks * st.f_frsize // 4))


def _space_used(folder: Path) -> int:
    """Bytes a folder takes (every entry at least one page: a flood of empty files counts too)."""
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    total += max(st.st_blocks * 512, 4096)
                    if entry.is_dir(follow_symlinks=False):
                        total += _space_used(Path(entry.path))
    except OSError:
        pass
    return total


def _space_free(folder: Path) -> int:
    try:
        st = os.statvfs(folder)
    except OSError:
        return 2**62
    return st.f_bavail * st.f_frsize


def _space_low(folder: Path) -> bool:
    return _space_free(folder) < _LOW_SPACE


@dataclass
class _Guard:
    """Watches one run's scratch space, every ``_POLL_SECONDS``.

    With a ``limit``, the run is killed as soon as one item adds more than ``limit`` bytes to the
    work folder since it began (the items are told apart by the start and end markers, flushed to
    the terminal output; ``culprit`` is the item that was running, None between items). ``full``
    notes that the scratch file system ran (nearly) out of space during the run: what TeX or
    dvipng wrote then may be truncated.
    """

    workdir: Path
    limit: int | None
    nonce: str = ""
    over: bool = False
    culprit: int | None = None
    full: bool = False
    filled: bool = False  # ``over`` because the item itself filled the file system

    def watch(self, pgid: int, done: threading.Event, terminal: Path) -> None:
        marker = re.compile(r"\[AR([BE])" + re.escape(self.nonce) + r" (\d+) ")
        offset, tail = 0, ""
        current: int | None = None
        # The folder's size matters only against a limit (a run of dvipng has none, and its folder
        # holds a PNG per item: scanning it every 20 ms cost ~9% of a worker's CPU).
        limited = self.limit is not None
        previous = base = _space_used(self.workdir) if limited else 0
        # An item that wrote at least half the space that was free when the run began, when the
        # file system fills, is what filled it (should it be fuller than the limit allows for).
        filler = max(_LOW_SPACE, _space_free(self.workdir) // 2)
        while not done.wait(_POLL_SECONDS):
            used = _space_used(self.workdir) if limited else 0
            if self.nonce:
                with contextlib.suppress(OSError), open(terminal, "rb") as f:
                    f.seek(offset)
                    chunk = f.read(4 * 2**20).decode("latin-1")
                    offset += len(chunk)
                    text, tail = tail + chunk, (tail + chunk)[-200:]
                    found = current
                    for m in marker.finditer(text):
                        found = int(m.group(2)) if m.group(1) == "B" else None
                    if found != current:
                        current, base = found, previous
            if _space_low(self.workdir):
                self.full = True
                self.filled = self.limit is not None and used - base >= filler
            if self.limit is not None and (used - base > self.limit or self.filled):
                self.over, self.culprit = True, current
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                return
            previous = used


def _with_file_limit(size: int | None) -> Callable[[], None]:
    """A ``preexec_fn``: the child dies with this process, and (with ``size``) no file it writes
    grows past ``size`` bytes (``RLIMIT_FSIZE``: SIGXFSZ kills it)."""
    dies = child_dies_with_me()

    def pre() -> None:
        dies()
        if size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return pre


def _run(cmd: list[str], workdir: Path, timeout: float, stdout_name: str,
         feed: bytes | None = None, guard: _Guard | None = None, file_limit: int | None = None
         ) -> tuple[int | None, str]:
    """Run ``cmd`` in its own process group; ``(None, terminal)`` if it timed out (group killed).

    With ``feed``, ``MAIN`` is a FIFO that a thread fills with ``feed`` once TeX has opened it,
    and unlinks at that moment: no item can open the main document (it holds the other items and
    the markers' nonce). A ``guard`` watches the scratch space while it runs.
    """
    term = workdir / stdout_name
    fifo = workdir / MAIN
    writer: threading.Thread | None = None
    if feed is not None:
        os.mkfifo(fifo, 0o600)

        def write() -> None:
            try:
                with open(fifo, "wb") as f:  # returns once TeX has opened its end
                    fifo.unlink()
                    f.write(feed)
            except OSError:  # TeX died or was killed before reading it all
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
    with open(term, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, env=_sandbox_env(workdir), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=_with_file_limit(file_limit))  # its own session; dies with us
        expired = threading.Event()
        done = threading.Event()
        watcher = None
        if guard is not None:
            watcher = threading.Thread(target=guard.watch, args=(proc.pid, done, term), daemon=True)
            watcher.start()

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
            done.set()
            if watcher is not None:
                watcher.join()
        if guard is not None and _space_low(workdir):
            guard.full = True
        if expired.is_set():
            rc = None
    if writer is not None:
        if writer.is_alive():  # TeX never opened the FIFO: open it here so that the writer ends
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(5)
        with contextlib.suppress(OSError):
            fifo.unlink()
    return rc, term.read_text("latin-1")


def _format_for(settings: RenderSettings) -> Path | None:
    """The precompiled format for this preamble, or None (runs then load the preamble themselves).

    Built once and kept on disk, keyed by the preamble, the font size and TeX's version, so a new
    worker or a new run finds it ready; written by rename, so concurrent builders never clash.
    """
    key = f"{format_key(settings)}-{hashlib.sha256(tex_versions().encode()).hexdigest()[:8]}-raw"
    if key in _formats:
        return _formats[key]
    target = format_cache_dir() / f"{key}.fmt"
    _formats[key] = target if target.exists() else _build_format(settings, target)
    return _formats[key]


def _format_broken(settings: RenderSettings, fmt: Path, why: str) -> Path | None:
    """TeX could not start from ``fmt`` (truncated, garbage, another TeX's, gone): rebuild it once
    in this process (written by rename, as always); if that fails, or the rebuilt one fails too, runs
    load the preamble themselves (None). Each step names the file in the log."""
    key = fmt.stem
    if key in _rebuilt:
        logger.warning("precompiled format %s cannot be loaded after rebuilding it (%s): TeX runs load the preamble "
                    "themselves", fmt, why)
        _formats[key] = None
        return None
    _rebuilt.add(key)
    logger.warning("precompiled format %s cannot be loaded (%s): rebuilding it", fmt, why)
    with contextlib.suppress(OSError):
        fmt.unlink()  # not read again by this process or another, even if the rebuild fails
    _formats[key] = rebuilt = _build_format(settings, fmt)
    if rebuilt is None:
        logger.warning("cannot rebuild the precompiled format %s: TeX runs load the preamble themselves", fmt)
    return rebuilt


def _format_error(terminal: str, tex_log: TexLog, rc: int) -> str:
    """One line saying why a run that used a format never reached its first item."""
    for line in reversed(terminal.splitlines()):
        if "Fatal format" in line or "undump" in line or "format file" in line:
            return line.strip()
    if tex_log.preamble_errors:
        return tex_log.preamble_errors[0].split("\n", 1)[0]
    return f"latex exited with {rc} before the first item"


def _uncompressed(fmt: bytes) -> bytes:
    """A format as TeX dumped it (gzip) made plain. TeX reads formats through zlib's ``gzread``,
    which takes a plain file as it is, and without inflating 18 MB every TeX run loads the format
    in 40 ms instead of 76 (``benchmarks.harness_cost``); the disk keeps 18 MB, not 6.5."""
    import gzip  # here: a worker builds a format once, if ever
    import zlib

    if not fmt.startswith(b"\x1f\x8b"):
        return fmt
    try:
        return gzip.decompress(fmt)
    except (OSError, EOFError, zlib.error):  # not what TeX wrote after all: leave it to TeX
        return fmt


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
        data = _uncompressed(fmt.read_bytes())
        try:
            publish_file(data, target)
        except OSError:  # no writable cache folder: keep this process's copy
            private = Path(tempfile.mkdtemp(prefix="asyncrender-fmt-"))
            atexit.register(shutil.rmtree, private, True)
            target = private / target.name
            publish_file(data, target)
        return target
    except OSError:
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class RunCounts:
    """The latex and dvipng processes a backend started (tests and benchmarks read them)."""

    latex: int = 0
    dvipng: int = 0


@dataclass
class _Batch:
    """State of one TeX batch inside a private work dir."""

    items: Sequence[RenderItem]  # index i is id i+1
    settings: RenderSettings
    workdir: Path
    fmt: Path | None
    outcomes: dict[int, ItemOutcome]
    counts: RunCounts = field(default_factory=RunCounts)
    nonce: str = ""
    limit: int = SCRATCH_ITEM_LIMIT  # scratch bytes one item may use (``scratch_limit``)
    _terminal: str = ""  # the last latex run's terminal output
    _guard: _Guard | None = None  # the last latex run's

    def _full(self) -> ItemOutcome:
        return ItemOutcome.failed("io", f"the scratch folder {self.workdir.parent} ran out of space (No space left "
                                        "on device); ASYNCRENDER_SCRATCH can name a larger one")

    def process(self, ids: list[int], suspects: dict[int, str]) -> None:
        pending, rounds = ids, 0
        while pending:
            rounds += 1
            if rounds > MAX_ROUNDS and len(pending) > 1:
                self._halve(pending, suspects)
                return
            run = self._run(pending)
            guard = self._guard
            if guard is not None and guard.over:
                # One item wrote too much (a log, output or file flood): confirmed in a run of its
                # own, where it fails as too_large; the others go on without it.
                culprit = guard.culprit if len(pending) > 1 else pending[0]
                if culprit not in pending:  # between items: find it by halving
                    self._halve(pending, suspects)
                    return
                if len(pending) == 1:
                    self.outcomes[culprit] = ItemOutcome.failed("too_large", (
                        f"the item filled the scratch folder {self.workdir.parent} (No space left on device)"
                        if guard.filled else f"the item used more than {self.limit // 2**20} MiB of scratch space"))
                    return
                self.process([culprit], {})
                pending = [i for i in pending if i != culprit]
                suspects.pop(culprit, None)
                continue
            if guard is not None and guard.full:
                # The scratch file system filled up (not with this item's flood: that is killed at
                # its limit): what TeX wrote may be cut short, so nothing of the run counts.
                for i in pending:
                    self.outcomes[i] = self._full()
                return
            if run is None:  # timed out
                culprit = running_item(self._terminal, self.nonce)
                if culprit in pending or len(pending) == 1:
                    culprit = culprit if culprit in pending else pending[0]
                    self.outcomes[culprit] = ItemOutcome.failed(
                        "timeout", f"TeX did not finish within {self.settings.timeout:g} s")
                    pending = [i for i in pending if i != culprit]
                    suspects.pop(culprit, None)
                    continue
                self._halve(pending, suspects)
                return
            rc, log, pages = run
            if not log.items and self.fmt is not None:
                # A good format always reaches the first item's marker: this one is broken.
                self.fmt = _format_broken(self.settings, self.fmt, _format_error(self._terminal, log, rc))
                rounds -= 1
                continue
            if log.preamble_errors:
                for i in pending:
                    self.outcomes[i] = ItemOutcome.failed("latex", "error in the preamble:\n" + log.preamble_errors[0])
                return
            shipped = sum(r.pages or 0 for r in log.items.values())
            forged = log.forged or (None if len(pages) == shipped else "pages shipped outside the previews")
            if forged:
                # Something in this run wrote marker-like text or pages of its own: nothing of it
                # is trusted. Halving finds the item; alone, it fails.
                if len(pending) == 1:
                    self.outcomes[pending[0]] = ItemOutcome.failed(
                        "latex", f"the item interferes with the renderer's log or pages ({forged})")
                    return
                self._halve(pending, suspects)
                return
            d = decide(pending, suspects, log, pages)
            for i, msg in d.failed.items():
                self.outcomes[i] = ItemOutcome.failed("latex", msg)
            if d.accepted:
                self._draw({i: (p, log.items[i].dims or (0, 0, 0)) for i, p in d.accepted.items()})
            for i in d.alone:
                self.process([i], {})
            if not d.accepted and not d.failed and not d.alone and d.pending == pending and not d.suspects:
                for i in pending:  # nothing started: TeX failed before the first item
                    self.outcomes[i] = ItemOutcome.failed("crash", f"latex exited with {rc}: {self._terminal[-500:]}")
                return
            pending, suspects = d.pending, d.suspects

    def _halve(self, pending: list[int], suspects: dict[int, str]) -> None:
        half = len(pending) // 2
        for part in (pending[:half], pending[half:]):
            self.process(part, {i: m for i, m in suspects.items() if i in part})

    def _run(self, ids: list[int]) -> tuple[int, TexLog, list[tuple[int, int]]] | None:
        """One latex run of ``ids`` in a cleaned work dir; None if it timed out."""
        self._clean()
        self.counts.latex += 1
        entries = [(i, self.items[i - 1].type, self.items[i - 1].latex) for i in ids]
        src = document_source(entries, self.settings, self.nonce, with_preamble=self.fmt is None)
        cmd = ["latex", "-no-parse-first-line", "-no-shell-escape", "-interaction=nonstopmode", f"-jobname={JOB}"]
        if self.fmt is not None:
            cmd.append(f"-fmt={self.fmt}")
        self._guard = guard = _Guard(self.workdir, self.limit, self.nonce)
        # Each file at most twice the item limit: the kernel's backstop should the watcher lag.
        rc, self._terminal = _run([*cmd, MAIN], self.workdir, self.settings.timeout, f"{JOB}.out",
                                  feed=src.encode("utf-8"), guard=guard, file_limit=2 * self.limit)
        if rc == -signal.SIGXFSZ and not guard.over:
            guard.over, guard.culprit = True, running_item(self._terminal, self.nonce)
        if rc is None or guard.over or guard.full:
            return None
        log_path = self.workdir / f"{JOB}.log"
        text = log_path.read_text("latin-1") if log_path.exists() else self._terminal
        lines = {}
        for i, _kind, latex in entries:
            parts = encode_item(latex).split("\n")
            lines[i] = (len(parts), parts[-1])
        log = parse_log(text, self.nonce, ids, lines)
        try:
            pages = dvi_pages((self.workdir / f"{JOB}.dvi").read_bytes())
        except (OSError, ValueError):
            pages = []
        return rc, log, pages

    def _clean(self) -> None:
        """Empty the work dir: whatever a run left (its own files, files an item wrote) is gone."""
        for p in self.workdir.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()

    def _draw(self, accepted: dict[int, tuple[int, tuple[int, int, int]]]) -> None:
        """Draw the accepted pages: one dvipng call per distinct dpi, over the same DVI."""
        s = self.settings
        by_dpi: dict[int, dict[int, int]] = {}
        for i, (page, (ht, dp, wd)) in accepted.items():
            dpi = self.items[i - 1].dpi or s.dpi
            if wd <= 0 or ht + dp <= 0:
                self.outcomes[i] = ItemOutcome.failed("latex", "empty output: the item typesets nothing")
            elif estimated_pixels(ht, dp, wd, dpi, s.padding) > s.max_pixels:
                self.outcomes[i] = ItemOutcome.failed(
                    "too_large", f"the image would exceed {s.max_pixels} pixels at {dpi} dpi")
            else:
                by_dpi.setdefault(dpi, {})[page] = i
        for dpi, pages in sorted(by_dpi.items()):
            self._dvipng(pages, s if dpi == s.dpi else dataclasses.replace(s, dpi=dpi))

    def _dvipng(self, pages: dict[int, int], s: RenderSettings) -> None:
        """Draw ``pages`` (page -> item id) at ``s.dpi`` and publish each item's image."""
        cmd = ["dvipng", "-q", "-T", "tight", "-D", str(s.dpi), "--nogs", "--depth",
               "-bg", dvipng_colour(s.background), "-fg", dvipng_colour(s.foreground),
               "-pp", ",".join(str(p) for p in sorted(pages)), "-o", f"{JOB}p%d.png", f"{JOB}.dvi"]
        self.counts.dvipng += 1
        guard = _Guard(self.workdir, None)
        rc, term = _run(cmd, self.workdir, s.timeout, f"{JOB}.dvipng", guard=guard, file_limit=self.limit)
        if rc == -signal.SIGXFSZ:
            # A PNG grew past the limit; dvipng draws in page order, so it is the last one begun.
            # It fails; the others are drawn again (their depths come from a whole run).
            drawn = [p for p in sorted(pages) if (self.workdir / f"{JOB}p{p}.png").exists()]
            if drawn:
                self.outcomes[pages[drawn[-1]]] = ItemOutcome.failed(
                    "too_large", f"its image takes more than {self.limit // 2**20} MiB of scratch space")
                for p in drawn:
                    (self.workdir / f"{JOB}p{p}.png").unlink()
                rest = {p: i for p, i in pages.items() if p != drawn[-1]}
                if rest:
                    self._dvipng(rest, s)
                return
        depths = dvipng_depths(term, sorted(pages))
        for page, i in pages.items():
            png = self.workdir / f"{JOB}p{page}.png"
            try:
                data = png.read_bytes()
            except OSError:
                data = b""
            if not data.endswith(_PNG_END) or len(data) < 24:
                if guard.full:
                    self.outcomes[i] = self._full()
                elif rc is None:
                    self.outcomes[i] = ItemOutcome.failed("timeout", f"dvipng did not finish within {s.timeout:g} s")
                elif data or png.exists():  # it began the file and gave up: gd's limits, not chance
                    self.outcomes[i] = ItemOutcome.failed(
                        "too_large", f"dvipng could not draw the image ({len(data)} bytes written): too large for it")
                else:
                    self.outcomes[i] = ItemOutcome.failed("crash", f"dvipng made no image (exit {rc}): {term[-300:]}")
                continue
            self.outcomes[i] = _publish(data, self.items[i - 1].out_path, s, depths.get(page))


_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # a whole PNG ends with its IEND chunk


def _publish(data: bytes, out_path: Path, s: RenderSettings, depth: int | None = None) -> ItemOutcome:
    try:
        w, h = png_size(data)
    except ValueError:
        return ItemOutcome.failed("crash", "dvipng wrote something that is not a PNG")
    if s.padding:
        data = _pad(data, s.padding, s.background)
        w, h = w + 2 * s.padding, h + 2 * s.padding
    png = finish_png(data, s, None if depth is None else depth + s.padding)
    data, w, h, depth = png.data, png.width, png.height, png.depth
    if w * h > s.max_pixels:
        return ItemOutcome.failed("too_large", f"the image is {w}x{h} pixels, over {s.max_pixels}")
    try:
        publish_file(data, out_path)
    except OSError as exc:
        return ItemOutcome.failed("io", f"cannot write {out_path}: {exc.strerror or exc}")
    return ItemOutcome(width=w, height=h, depth=depth)


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


@dataclass
class LatexBackend:
    """The latex backend. ``use_format=False`` loads the preamble in every run instead of using a
    precompiled format (the benchmark and the tests compare both)."""

    use_format: bool = True
    name: str = "latex"
    counts: RunCounts = field(default_factory=RunCounts)

    def version(self) -> str:
        """latex's and dvipng's version lines (cached)."""
        return tex_versions()

    def render(self, items: Sequence[RenderItem], settings: RenderSettings) -> list[ItemOutcome]:
        outcomes: list[ItemOutcome | None] = [None] * len(items)
        good = []
        for k, item in enumerate(items):
            if item.type not in ITEM_TYPES:
                outcomes[k] = ItemOutcome.failed("input", f"unknown item type {item.type!r}")
            elif (why := line_too_long(item.latex)) is not None:
                outcomes[k] = ItemOutcome.failed("too_large", why)
            else:
                good.append(k)
        # Equal batches of at most batch_size: 600 items make 3 x 200, not 250 + 250 + 100.
        size = math.ceil(len(good) / max(1, math.ceil(len(good) / settings.batch_size))) if good else 1
        for start in range(0, len(good), size):
            chunk = good[start : start + size]
            fmt = _format_for(settings) if self.use_format else None  # (None once it proved broken)
            result = render_batch([items[k] for k in chunk], settings, fmt, self.counts)
            for k, outcome in zip(chunk, result, strict=True):
                outcomes[k] = outcome
        return [o if o is not None else ItemOutcome.failed("crash", "not rendered") for o in outcomes]


def render_batch(
    items: Sequence[RenderItem], settings: RenderSettings, fmt: Path | None, counts: RunCounts | None = None
) -> list[ItemOutcome]:
    """One TeX batch in a private temp dir (removed afterwards); one outcome per item.

    Items that ``needs_own_run`` are rendered each in a run of its own, after the others."""
    workdir = Path(tempfile.mkdtemp(prefix=scratch_prefix("tex"), dir=scratch_root()))
    try:
        batch = _Batch(items, settings, workdir, fmt, {}, counts if counts is not None else RunCounts(),
                       nonce=secrets.token_hex(8), limit=scratch_limit(workdir))
        ids = list(range(1, len(items) + 1))
        own = [i for i in ids if needs_own_run(items[i - 1].latex)]
        batch.process([i for i in ids if i not in set(own)], {})
        for i in own:
            batch.process([i], {})
        return [batch.outcomes.get(i, ItemOutcome.failed("crash", "no outcome")) for i in ids]
    except OSError as exc:
        return [ItemOutcome.failed("io", f"temp dir: {exc}") for _ in items]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
