"""Workers never outlive their driver: one small reaper process per :class:`LocalExecutor`.

The reaper is a plain Python process (``python -I -S -c <code>``: no ``site``, no tunelab
import, so it starts in milliseconds) in a session of its own (a Ctrl+C or a signal sent to
the driver's process group does not reach it). It reads process-group ids from its stdin,
a pipe whose write end only the driver holds: ``"<pgid>\\n"`` registers a worker's group
(each local worker leads a session of its own, so the trial's child processes share it),
``"-<pgid>\\n"`` forgets it once the worker has been reaped.

When the pipe reaches end of file, the driver is gone (a clean shutdown closes it; a driver
killed by SIGKILL closes it too, as the kernel closes the dead process's descriptors). The
reaper then collects every descendant of the registered workers (on Linux, from ``/proc``:
children a trial moved to another process group are found too), sends SIGKILL to each
registered process group and to those descendants, removes the driver's socket directory,
and exits. This holds whatever the trials are doing (sleeping, stuck in C code) since
SIGKILL needs no cooperation; the worker's own ``PR_SET_PDEATHSIG`` is a second line.

Limits: a process the driver forks (``os.fork``) inherits the write end, so the reaper then
waits for that process too; a trial's child that starts a session of its own *and* is
re-parented away from the worker before the driver dies is not found.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys

__all__ = ["Reaper", "wait_exit"]

logger = logging.getLogger("tunelab")

_REAPER_CODE = r"""
import os, shutil, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
groups = set()
pending = b""
while True:
    try:
        chunk = os.read(0, 65536)
    except OSError:
        break
    if not chunk:
        break
    pending += chunk
    *lines, pending = pending.split(b"\n")
    for line in lines:
        line = line.strip()
        try:
            if line.startswith(b"-"):
                groups.discard(int(line[1:]))
            elif line:
                groups.add(int(line))
        except ValueError:
            pass

def descendants(roots):
    children = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return set()
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/" + name + "/stat", "rb") as fh:
                stat = fh.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found, todo = set(), list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found

if groups:
    victims = descendants(groups)
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
for path in sys.argv[1:]:
    shutil.rmtree(path, ignore_errors=True)
"""


class Reaper:
    """The driver's side of the reaper process (see the module docstring).

    ``cleanup``: directories the reaper removes when it ends (the socket directory).
    """

    def __init__(self, cleanup: list[str] | None = None) -> None:
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _REAPER_CODE, *(cleanup or [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
        )
        self._broken = False

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    def register(self, pgid: int) -> None:
        """The reaper kills process group ``pgid`` when the driver dies."""
        self._write(f"{pgid}\n")

    def forget(self, pgid: int) -> None:
        """Process group ``pgid`` is gone (its leader was reaped): never kill it."""
        self._write(f"-{pgid}\n")

    def _write(self, line: str) -> None:
        process = self._process
        if process is None or process.stdin is None or self._broken:
            return
        try:
            process.stdin.write(line.encode())
            process.stdin.flush()
        except (OSError, ValueError):
            self._broken = True
            logger.warning(
                "tunelab: the reaper process (pid %s) is gone; worker processes will not be "
                "ended if this process is killed",
                process.pid,
            )

    def close(self) -> None:
        """A clean end: the reaper kills what is still registered, cleans up and exits."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        if not wait_exit(process, 5.0):
            process.kill()
            process.wait()

    def __del__(self) -> None:  # never closed: the reaper still ends the workers
        process = getattr(self, "_process", None)
        if process is not None and process.stdin is not None:
            with contextlib.suppress(Exception):
                process.stdin.close()


def wait_exit(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``process`` to exit and reap it; False if it is
    still running.

    Wakes up as soon as it exits: on Linux through a pidfd (``Popen.wait(timeout)`` polls
    with sleeps of up to 50 ms, which every ``fit()`` paid at its end for each worker).
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None and process.returncode is None:
        try:
            fd = pidfd_open(process.pid)
        except OSError:  # exited and reaped already, or pidfds unsupported: Popen decides
            pass
        else:
            try:
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                if not poller.poll(timeout * 1000):
                    return False
            finally:
                os.close(fd)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True
