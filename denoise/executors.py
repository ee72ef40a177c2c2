"""Where a batch's files are processed: in this process, in worker processes, or on a
Dask cluster; and the progress shown meanwhile.

Every executor runs the same :func:`~denoise.batch.execute` on each job, so outputs
do not depend on the executor, the number of workers or their threads (the kernels'
bands are fixed by the image, not by the thread count). Workers get
``cores // workers`` kernel threads each, so workers x threads never exceeds the
cores. A single image large enough to be tiled is filtered on the Dask cluster as a
``dask.array`` ``map_overlap`` over its tiles, with depth = the method's halo.
"""
import logging
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .batch import Outcome, Report, clean_targets, execute
from .errors import InvalidParameterError
from .io import exit_on_sigterm, read_info
from .tiling import tile_size

log = logging.getLogger(__name__)

EXECUTORS = ("local", "dask")
#: Dask settings of the LocalCluster this module starts: fewer periodic checks in
#: the scheduler, nannies and workers, which share the cores with the filters (on 2
#: cores, 200 nlm files took 33.9 s with Dask's defaults and 29.3 s with these,
#: against 28.7 s for --jobs 2), and no statistical profiling of the tasks.
LOCAL_CLUSTER_CONFIG = {
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.tick.limit": "30s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "5s",
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.work-stealing": False,
}


def cores():
    """The threads the kernels may use: Numba's pool (``NUMBA_NUM_THREADS``, by default
    the machine's cores; a lower value there is a ceiling ``set_num_threads`` keeps)."""
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


def worker_threads(workers, threads=None):
    """``(threads per worker, note)``: `threads` if given and workers x threads fits the
    cores, else ``cores // workers`` (at least 1) with a note saying why."""
    fair = max(1, cores() // max(1, workers))
    if threads is None:
        return fair, ""
    if workers * threads > cores() and workers > 1:
        return fair, (f"--threads {threads} with --jobs {workers} would run "
                      f"{workers * threads} threads on {cores()} cores: using {fair} "
                      f"per job")
    if threads > cores():
        return cores(), f"--threads {threads} is more than the {cores()} cores: using {cores()}"
    return threads, ""


def run_jobs(jobs, step, *, mode="resume", workers=1, threads=None, executor="local",
             scheduler=None, progress=None, on_outcome=None):
    """Run `step` on every job (see :func:`~denoise.batch.execute`) and return the
    :class:`~denoise.batch.Report`, in the jobs' order.

    `workers` > 1 runs that many worker processes (local) or Dask workers (a
    LocalCluster on loopback, unless `scheduler` gives a cluster's address).
    `progress` shows it (``done(outcome)``, ``tiles(n)`` -> ``update(k)``,
    ``close()``: the CLI's ``Progress``); ``on_outcome(outcome)`` is called as each
    file finishes. Temporary files that interrupted runs left in the output folders
    are removed first.
    """
    if executor not in EXECUTORS:
        raise InvalidParameterError(f"unknown executor {executor!r}; choose from: "
                                    f"{', '.join(EXECUTORS)}")
    removed = clean_targets(jobs)
    if removed:
        log.info("removed %d temporary file(s) left by interrupted runs", removed)
    each, _ = worker_threads(workers, threads)
    outcomes = [None] * len(jobs)

    def finish(index, outcome):
        outcomes[index] = outcome
        if progress is not None:
            progress.done(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    if executor == "dask":
        _on_dask(jobs, step, mode, workers, each, scheduler, finish, progress)
    elif workers > 1 and len(jobs) > 1:
        _on_processes(jobs, step, mode, workers, each, finish)
    else:
        from ._config import set_threads

        set_threads(each if threads is not None else None)
        tiles = progress.tiles if progress is not None else None
        for index, job in enumerate(jobs):
            finish(index, execute(job, step, mode, tiles))
    if progress is not None:
        progress.close()
    report = Report()
    for outcome in outcomes:
        report.add(outcome)
    return report


def work(job, step, mode, threads):
    """One job in a worker (a process or a Dask worker), with `threads` kernel threads."""
    from ._config import set_threads

    set_threads(min(threads, cores()))
    return execute(job, step, mode)


def _worker_signals():
    """In a worker process: Ctrl-C is the main process's to handle, and SIGTERM (sent
    when the batch stops) exits as an exception, removing a file being written."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_on_sigterm()


def _on_processes(jobs, step, mode, workers, threads, finish):
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["denoise.batch", "denoise.runfile", "denoise.filters"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_worker_signals)
    try:
        futures = {pool.submit(work, job, step, mode, threads): k
                   for k, job in enumerate(jobs)}
        for future in as_completed(futures):
            k = futures[future]
            finish(k, _result(future, jobs[k]))
    except BaseException:             # interrupted: stop the workers now, not after the queue
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)
        raise
    pool.shutdown()


def _result(future, job):
    """The future's Outcome, or a failed one if its worker died."""
    try:
        return future.result()
    except Exception as exc:  # a worker killed or lost: this file failed, not the batch
        return Outcome(job, "failed", f"{job.source}: worker failed ({type(exc).__name__}: "
                                      f"{exc})")


# --- Dask -----------------------------------------------------------------------------

def dask_client(scheduler=None, workers=2):
    """``(client, cluster)``: a client of the cluster at `scheduler`, or of a new
    LocalCluster of `workers` single-threaded worker processes on loopback (then
    `cluster` is it, to close). InvalidParameterError if Dask is not installed."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InvalidParameterError(
            "--executor dask needs Dask: install the dask extra, pip install "
            "'denoise[dask]' (or pip install 'dask[distributed]')") from None
    quiet = logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.ERROR
    for name in ("distributed", "dask"):
        logging.getLogger(name).setLevel(quiet)
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise InvalidParameterError(f"cannot reach the Dask scheduler at {scheduler} "
                                        f"({exc})") from None
    import dask

    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, silence_logs=quiet)
        return Client(cluster), cluster


def _on_dask(jobs, step, mode, workers, threads, scheduler, finish, progress):
    client, cluster = dask_client(scheduler, max(1, workers))
    from dask.distributed import as_completed as completed

    try:
        large = [k for k, job in enumerate(jobs) if _tiled(job, step)]
        tiled = replace(step, tiles_with=DaskTiles(client)) if large else step
        for k in large:
            finish(k, execute(jobs[k], tiled, mode,
                              progress.tiles if progress is not None else None))
        small = [k for k in range(len(jobs)) if k not in set(large)]
        futures = {client.submit(work, jobs[k], step, mode, threads, pure=False): k
                   for k in small}
        for future in completed(list(futures)):
            k = futures[future]
            finish(k, _result(future, jobs[k]))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _tiled(job, step):
    """True if `job`'s image is large enough to run in tiles (by its header)."""
    try:
        info = read_info(job.source, max_pixels=step.max_pixels)
    except Exception:  # the file fails later, with its reason, as a task
        return False
    return tile_size((info.height, info.width), step.tile) is not None


@dataclass(frozen=True)
class DaskTiles:
    """:func:`~denoise.tiling.run_tiled` on a Dask cluster: ``map_overlap`` over the
    tiles with depth = the halo, each tile filtered with the plan placed at its corner;
    written straight into a windowed sink by the workers."""

    client: Any

    def __call__(self, source, tile, tile_filter, *, sink=None, progress=None):
        import dask.array as da

        halo = tile_filter.halo
        extra = source.shape[2:]
        chunks = tuple(_chunks(n, tile, halo) for n in source.shape[:2])
        arr = da.from_array(source, chunks=chunks + extra, asarray=True, lock=False,
                            meta=np.empty((0,) * len(source.shape), source.dtype))
        dtype = np.float32 if source.dtype == np.float16 else source.dtype
        depth = {0: halo, 1: halo, **{k: 0 for k in range(2, arr.ndim)}}
        out = da.map_overlap(_filter_block, arr, depth=depth, boundary="none", trim=False,
                             chunks=arr.chunks, dtype=dtype, tile_filter=tile_filter,
                             starts=tuple(tuple(np.cumsum((0,) + c)) for c in chunks),
                             meta=np.empty((0,) * arr.ndim, dtype))
        if sink is None or isinstance(sink, np.ndarray):
            result = self.client.compute(out).result()
            sink = result if sink is None else sink
            if sink is not result:
                sink[...] = result
        else:
            da.store(out, sink, lock=False, scheduler=self.client)
        if progress is not None:
            progress(len(chunks[0]) * len(chunks[1]))
        return sink


def _chunks(length, tile, halo):
    """Tile sides along one axis: `tile`, at least the halo (Dask would otherwise
    re-chunk), the last one merged into its neighbour when shorter than the halo."""
    tile = max(tile, halo, 1)
    sides = [min(tile, length - start) for start in range(0, length, tile)]
    if len(sides) > 1 and sides[-1] < halo:
        sides[-2:] = [sides[-2] + sides[-1]]
    return tuple(sides)


def _filter_block(block, *, tile_filter, starts, block_info=None):
    """One tile grown by the halo (within the image) -> its interior, filtered."""
    halo = tile_filter.halo
    i, j = block_info[0]["chunk-location"][:2]
    (r0, r1), (c0, c1) = (starts[0][i], starts[0][i + 1]), (starts[1][j], starts[1][j + 1])
    a0, b0 = max(0, r0 - halo), max(0, c0 - halo)
    if block.shape[:2] != (min(starts[0][-1], r1 + halo) - a0,
                           min(starts[1][-1], c1 + halo) - b0):
        raise RuntimeError(f"tile {i},{j}: block {block.shape} is not the grown tile")
    out = tile_filter(np.ascontiguousarray(block), a0, b0)
    return out[r0 - a0:r1 - a0, c0 - b0:c1 - b0]
