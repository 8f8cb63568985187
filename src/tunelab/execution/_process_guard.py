"""Keep a worker's processes tied to their owners (Linux specifics; no-ops elsewhere).

* :func:`die_with_parent`: the worker process gets SIGKILL when the driver that started it
  dies (``prctl(PR_SET_PDEATHSIG)``), also while its trial is stuck in C code or sleeping.
* :func:`become_subreaper`: processes orphaned below the worker (a trial's daemonised
  grandchildren) are re-parented to the worker instead of init, so the worker still sees
  them as its children.
* :func:`child_snapshot` and :func:`end_new_children`: at the end of a trial, every process
  it started (a child of the worker that did not exist when the trial started, and all of its
  descendants) is sent SIGTERM, then SIGKILL after a short grace, and reaped. Listing the
  worker's direct children costs tens of microseconds (``/proc/self/task/*/children``, a
  file per thread), so a trial that started no process pays nothing more, and the listing
  taken at a trial's end (:func:`end_new_children_listed`) is the next trial's snapshot.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import Any

__all__ = [
    "GRACE_S",
    "become_subreaper",
    "child_snapshot",
    "die_with_parent",
    "end_new_children",
    "end_new_children_listed",
    "parent_death_signal",
    "set_parent_death_signal",
]

GRACE_S = 0.5
"""How long the processes a trial started get between SIGTERM and SIGKILL."""

_PR_SET_PDEATHSIG = 1
_PR_GET_PDEATHSIG = 2
_PR_SET_CHILD_SUBREAPER = 36

Snapshot = frozenset[tuple[int, int]]


def _prctl() -> Any:
    """libc's ``prctl``, or None where there is none (not Linux, no libc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies. False where
    that is not available (the call is then a no-op)."""
    prctl = _prctl()
    if prctl is None:
        return False

    return _prctl_set(prctl, _PR_SET_PDEATHSIG, int(sig))


def parent_death_signal() -> int | None:
    """The signal this process gets when its parent dies (0: none), or None where unknown."""
    prctl = _prctl()
    if prctl is None:
        return None
    import ctypes

    value = ctypes.c_int(0)
    try:
        ok: int = prctl(
            _PR_GET_PDEATHSIG,
            ctypes.byref(value),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
        )
    except Exception:
        return None
    return int(value.value) if ok == 0 else None


def die_with_parent(parent_pid: int | None = None) -> bool:
    """SIGKILL this process when its parent dies; exit at once if the parent (``parent_pid``,
    default: the parent now) is already gone. False where the kernel cannot do it."""
    parent = os.getppid() if parent_pid is None else parent_pid
    armed = set_parent_death_signal(signal.SIGKILL)
    if armed and os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    return armed


def become_subreaper() -> bool:
    """Adopt this process's orphaned descendants (Linux >= 3.4). False where unavailable."""
    prctl = _prctl()
    if prctl is None:
        return False

    return _prctl_set(prctl, _PR_SET_CHILD_SUBREAPER, 1)


def _prctl_set(prctl: Any, option: int, value: int) -> bool:
    """``prctl(option, value, 0, 0, 0)`` succeeded."""
    import ctypes

    try:
        ok: int = prctl(
            option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)
        )
    except Exception:
        return False
    return ok == 0


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks (tells a reused pid apart), or -1."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
        return int(data[data.rindex(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return -1


_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def _direct_children() -> list[int]:
    """Pids of this process's children (of all its threads)."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        tasks = []
    pids: list[int] = []
    readable = False
    for tid in tasks:  # plain descriptor calls: half the time of file objects, per trial
        try:
            fd = os.open(f"/proc/self/task/{tid}/children", _READ)
            try:
                chunks = [os.read(fd, 65536)]
                while len(chunks[-1]) == 65536:  # thousands of children
                    chunks.append(os.read(fd, 65536))
            finally:
                os.close(fd)
            pids.extend(int(p) for p in b"".join(chunks).split())
            readable = True
        except (OSError, ValueError):
            continue
    if readable:
        return pids
    try:
        import psutil

        return [p.pid for p in psutil.Process().children()]
    except Exception:
        return []


def child_snapshot() -> Snapshot:
    """The children of this process now, as (pid, start time) pairs."""
    return frozenset((pid, _start_time(pid)) for pid in _direct_children())


def _gone(process: Any) -> bool:
    import psutil

    try:
        return bool(process.status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True


def _signal_all(processes: list[Any], sig: int) -> None:
    import psutil

    for process in processes:
        with contextlib.suppress(psutil.Error, OSError):
            process.send_signal(sig)


def _wait_gone(processes: list[Any], timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    alive = [p for p in processes if not _gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.01)
        alive = [p for p in alive if not _gone(p)]
    return alive


def _reap(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def _multiprocessing_pids() -> tuple[set[int], set[int]]:
    """(helpers, children) of this process's ``multiprocessing``: its forkserver and resource
    tracker, which serve every trial and exit with the worker, are left running; the
    processes it started are ended but left for their ``Process`` objects to reap (they
    cannot tell a process reaped by someone else from one still running)."""
    helpers: set[int] = set()
    children: set[int] = set()
    forkserver = sys.modules.get("multiprocessing.forkserver")
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    for owner, attribute in (
        (getattr(forkserver, "_forkserver", None), "_forkserver_pid"),
        (getattr(tracker, "_resource_tracker", None), "_pid"),
    ):
        pid = getattr(owner, attribute, None)
        if isinstance(pid, int):
            helpers.add(pid)
    process = sys.modules.get("multiprocessing.process")
    with contextlib.suppress(Exception):
        for child in list(getattr(process, "_children", ())):
            pid = getattr(getattr(child, "_popen", None), "pid", None)
            if isinstance(pid, int):
                children.add(pid)
    return helpers, children


def end_new_children(baseline: Snapshot, grace: float = GRACE_S) -> int:
    """End every child of this process not in ``baseline`` and all its descendants: SIGTERM,
    SIGKILL after ``grace`` seconds, then reap. Returns how many processes were ended."""
    return end_new_children_listed(baseline, grace)[0]


def end_new_children_listed(baseline: Snapshot, grace: float = GRACE_S) -> tuple[int, Snapshot]:
    """:func:`end_new_children`, and the :func:`child_snapshot` after it (the children that
    remain), so that a worker starting its next trial at once need not list them again.
    psutil is imported only when there are new children (its import costs a worker ~10 ms)."""
    ended = 0
    for _ in range(8):  # orphans re-parented to us while we work are caught by the next round
        listed = [(pid, _start_time(pid)) for pid in _direct_children()]
        new = [pid for pid, started in listed if (pid, started) not in baseline]
        if not new:
            return ended, frozenset(listed)
        import psutil

        helpers, mp_children = _multiprocessing_pids()
        victims: dict[int, Any] = {}
        for pid in new:
            try:
                process = psutil.Process(pid)
                if pid not in helpers:
                    victims[pid] = process
                for child in process.children(recursive=True):
                    victims.setdefault(child.pid, child)
            except psutil.Error:
                continue
        alive = [p for p in victims.values() if not _gone(p)]
        found = len(alive)
        ended += found
        if alive:
            _signal_all(alive, signal.SIGTERM)
            alive = _wait_gone(alive, grace)
        if alive:
            _signal_all(alive, signal.SIGKILL)
            _wait_gone(alive, 1.0)
        _reap([pid for pid in new if pid not in helpers and pid not in mp_children])
        if not found:
            break  # nothing but zombies and multiprocessing's helpers: done
    return ended, child_snapshot()
