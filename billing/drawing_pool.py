"""Drawing e-mail attachments (PDFs) in a small pool of worker processes, so a run of the outbox uses both cores.

The sender reads what each attachment is drawn from (`attachments.Drawing`: plain records, read in the sender's
process, which holds the database) and hands it to a child process, which draws it and returns the bytes: a child
never opens the database (a DuckDB file held for writing cannot be opened by another process). The bytes are the
same as drawn anywhere else (the download): the same function on the same records. Children are forked from a
fresh forkserver (nothing of the server's threads or open database is inherited), parse the fonts once and live
as long as the process (and end within a second or so of it, however it ended); a broken pool (a child killed) is
replaced, and its drawings are made here instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from billing.attachments import AttachmentFile, Drawing

log = logging.getLogger("billing.outbox")

MAX_PROCESSES = 2
POOL_FROM = 4  # messages with attachments in one claim before the pool is worth starting (about a second)
WATCH_SECONDS = 1.0  # how often a child looks whether its parent is still there

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def processes() -> int:
    """Worker processes to draw in: one per core beyond the sender's own, at most MAX_PROCESSES; 0 on one core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if cores < 2 else min(MAX_PROCESSES, cores)


def _start(parent: int) -> None:
    """A child's start: it watches its parent, and parses the fonts of the common cut before the first drawing."""
    from billing.pdf_document import font_cut_for, warm_fonts

    threading.Thread(target=_watch, args=(parent,), name="drawing-parent-watch", daemon=True).start()
    warm_fonts(font_cut_for("a"))


def _watch(parent: int) -> None:
    """End this child once the process it draws for is gone (killed with -9, say): its pool's queue never closes
    (every child holds both ends), and the forkserver ends only after its children."""
    while _alive(parent):
        time.sleep(WATCH_SECONDS)
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie, not yet collected, is gone too
    except OSError:
        return True


def pool() -> ProcessPoolExecutor | None:
    """The process-wide pool (started on first use), or None on a machine with one core."""
    global _pool
    count = processes()
    if count == 0:
        return None
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["billing.pdf", "billing.statement_pdf"])
            _pool = ProcessPoolExecutor(count, mp_context=context, initializer=_start, initargs=(os.getpid(),))
        return _pool


def _draw(drawing: Drawing) -> AttachmentFile:
    return drawing.file()


def submit(drawing: Drawing, executor: ProcessPoolExecutor | None) -> Future[AttachmentFile]:
    """The drawing's file, drawn in `executor`'s processes (or here, without one or when it broke)."""
    if executor is not None:
        try:
            return executor.submit(_draw, drawing)
        except (BrokenProcessPool, RuntimeError):  # a child died, or the pool was shut down: start a new one
            _discard(executor)
    done: Future[AttachmentFile] = Future()
    try:
        done.set_result(drawing.file())
    except BaseException as exc:  # handed over as a pool's future would hand it
        done.set_exception(exc)
    return done


def result(future: Future[AttachmentFile], drawing: Drawing) -> AttachmentFile:
    """The drawn file; drawn here instead when the child drawing it died (the next run starts a new pool)."""
    try:
        return future.result()
    except BrokenProcessPool:
        log.warning("A drawing process died; drawing %s in the sender", drawing.filename)
        with _lock:
            _discard_locked()
        return drawing.file()


def _discard(executor: ProcessPoolExecutor) -> None:
    with _lock:
        if _pool is executor:
            _discard_locked()


def _discard_locked(wait: bool = False) -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=wait, cancel_futures=True)
        _pool = None


def shutdown() -> None:
    """Stop the pool's processes and wait for them (a test's or a benchmark's end; the interpreter's exit does it
    too)."""
    with _lock:
        _discard_locked(wait=True)
