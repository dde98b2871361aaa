"""Jobs on a Dask cluster: ``--executor dask --scheduler tcp://host:port`` or ``--executor dask-local``.

The orchestrator sends the same ``RenderJob``s as to the local pool, and Dask workers run the same
``worker.render_job`` on them; nothing else changes. Workers write the PNGs into ``output_dir``
themselves, so every worker must see it (a shared file system); the orchestrator alone writes the
cache entries.

How it talks to Dask: a synchronous ``distributed.Client`` (connected, or the ``LocalCluster``
started, in the thread ``AsyncRenderer`` makes its runner in) and its ``concurrent.futures``
executor, awaited with ``asyncio.wrap_future``. The Client then runs its own event loop in its own
thread, so Dask's comms, heartbeats and (for ``dask-local``) the scheduler never share the caller's
loop, whatever that loop is (uvloop in the CLI) and however anyio cancels tasks in it; and nothing
that blocks (connecting, cancelling, closing) runs on the caller's loop.

A lost worker: the scheduler runs its jobs again on another worker (a job is pure: it writes its
images atomically and returns outcomes; keys are unique, ``pure=False``). A job whose workers died
more than ``allowed-failures`` times fails with ``KilledWorker``; as in the local pool, its files
are then retried one by one, and a file that still kills workers fails alone as ``crash``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import anyio.to_thread

from asyncrender.config import ConfigError
from asyncrender.executors.base import run_files_alone, worker_died
from asyncrender.model import FileOutcome, ListedFile, RenderJob
from asyncrender.storage import is_url
from asyncrender.worker.process import init_worker, render_job

try:
    from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin
except ImportError as exc:  # the optional extra is not installed
    raise ConfigError("the dask executors need the 'distributed' package: "
                      "pip install asyncrender[dask]") from exc

# Worker deaths a job survives before it fails with KilledWorker (Dask's default, made explicit for
# the cluster we start; an external scheduler uses its own distributed.scheduler.allowed-failures).
ALLOWED_FAILURES = 3


class DaskJobLost(RuntimeError):
    """Dask cancelled a job we did not cancel (the scheduler went away or forgot our client)."""


class OrchestratorOwnsCtrlC(WorkerPlugin):
    """Make ``dask-local`` workers ignore SIGINT, like the local pool's workers.

    They share the terminal's process group, so Ctrl-C reaches them too; by default each would die
    with a KeyboardInterrupt and its nanny would start another. The orchestrator decides instead: it
    stops starting jobs and closes the cluster. A plugin (not a one-off ``client.run``) so that
    workers the nanny restarts get it too.
    """

    name = "asyncrender-ctrl-c"
    idempotent = True

    def setup(self, worker: Any) -> None:
        init_worker()


class DaskRunner:
    """A ``JobRunner`` on a Dask ``Client``; it closes the client (and ``cluster``, if given) at the end."""

    def __init__(self, client: Client, workers: int, cluster: LocalCluster | None = None) -> None:
        self.client = client
        self.cluster = cluster
        self.workers = workers  # jobs the orchestrator keeps in flight: workers × jobs_in_flight_per_worker
        self._executor = client.get_executor(pure=False)  # type: ignore[no-untyped-call]

    async def run(self, job: RenderJob) -> list[FileOutcome]:
        try:
            return await self._submit(job)
        except KilledWorker:
            if len(job.files) == 1:
                return [worker_died(job.files[0], "Dask workers died rendering this file "
                                                  "(more than allowed-failures times)")]
            return await run_files_alone(job, self.run)

    async def _submit(self, job: RenderJob) -> list[FileOutcome]:
        future = self._executor.submit(render_job, _absolute(job))
        try:
            # shield: asyncio would cancel the concurrent future on the loop, and cancelling a Dask
            # future is a round trip to the scheduler; it is done in a thread below instead.
            return await asyncio.shield(asyncio.wrap_future(future))
        except asyncio.CancelledError:
            if future.cancelled():
                raise DaskJobLost(f"Dask cancelled the job of {job.files[0].path} and "
                                  f"{len(job.files) - 1} more file(s): was the scheduler lost?") from None
            asyncio.get_running_loop().run_in_executor(None, future.cancel)
            raise

    async def aclose(self) -> None:
        """Close the client, and the cluster we started (its workers stop, even mid-job)."""
        await anyio.to_thread.run_sync(self._close)

    def terminate(self) -> None:
        """Ctrl-C or cancellation: the same as ``aclose``, blocking (closing the cluster stops its
        workers, even mid-job)."""
        self._close()

    def _close(self) -> None:
        self._executor.shutdown(wait=False)
        self.client.close()  # type: ignore[no-untyped-call]
        if self.cluster is not None:
            self.cluster.close()


def _absolute(job: RenderJob) -> RenderJob:
    """Input paths relative to the orchestrator's folder, made absolute for workers elsewhere (the
    keys stay as listed). ``output_dir`` is absolute already."""
    files = tuple(ListedFile(f.key, f.path if is_url(f.path) else os.path.abspath(f.path)) for f in job.files)
    return RenderJob(files, job.settings, job.output_dir, job.share_dir)


def make_dask_runner(executor: str, scheduler: str | None, jobs: int) -> DaskRunner:
    """Connect to ``scheduler`` (``dask``) or start a ``LocalCluster`` (``dask-local``). Blocking.

    ``jobs``: ``dask-local`` starts that many single-threaded worker processes (0: one per CPU).
    With ``dask``, jobs are kept in flight for ``jobs`` workers, 0 meaning the worker threads the
    cluster has when we connect.
    """
    if executor == "dask-local":
        workers = jobs or os.cpu_count() or 1
        # One thread per worker process: backends keep per-process state (TeX's sandbox, matplotlib).
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
            scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES})
        try:
            client = Client(cluster)  # type: ignore[no-untyped-call]
            client.register_plugin(OrchestratorOwnsCtrlC())
        except BaseException:
            cluster.close()
            raise
        return DaskRunner(client, workers, cluster)
    if executor != "dask" or not scheduler:
        raise ConfigError(f"not a Dask executor: {executor!r} (scheduler {scheduler!r})")
    try:
        client = Client(scheduler)  # type: ignore[no-untyped-call]
    except OSError as exc:  # TimeoutError included: nothing answered at that address
        raise OSError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from exc
    except (ValueError, TypeError) as exc:  # bogus://x, tcp:// (no host, no port)
        raise ConfigError(f"--scheduler {scheduler}: not a Dask scheduler address: {exc}") from None
    workers = jobs or max(1, sum(client.nthreads().values()))  # type: ignore[no-untyped-call]
    return DaskRunner(client, workers)
