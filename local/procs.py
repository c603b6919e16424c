"""Child processes that are always cleaned up: own process group, logs to a file, stop kills every descendant.

Each child starts in a new session (so Ctrl-C in the terminal reaches only the driver, which then stops the
children in order). `stop()` collects every descendant through /proc first - `cargo lambda watch` runs
`cargo`, which runs the function binaries - then sends SIGTERM to the group and to each descendant, waits, and
sends SIGKILL to whatever is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _children_map() -> dict[int, list[int]]:
    """``{ppid: [pid, ...]}`` for every process visible in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses; the fields after the last ')' are fixed.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (children first, then theirs)."""
    tree = _children_map()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        next_level = [child for parent in frontier for child in tree.get(parent, [])]
        found.extend(next_level)
        frontier = next_level
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _signal(pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


class ManagedProcess:
    """One child process (and its descendants), logged to `log_path`."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._tree: list[int] = []
        self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=dict(env) if env else None, cwd=cwd,
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        """The child's pid (also its process group id)."""
        return self.popen.pid

    def running(self) -> bool:
        """Whether the child itself is still running."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last `lines` lines of the child's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        """Stops the child and every descendant: SIGTERM, `grace` seconds, then SIGKILL for what is left."""
        self._tree = [self.pid, *descendants(self.pid)]
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self.popen.poll()
            if not self.leftovers():
                break
            time.sleep(0.05)
        self._tree += [pid for pid in descendants(self.pid) if pid not in self._tree]
        if self.leftovers():
            self._signal_all(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        self._log.close()

    def _signal_all(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
        _signal(self._tree, sig)

    def leftovers(self) -> list[int]:
        """Pids of the child's tree (as found by `stop`) and of its process group that are still alive."""
        found = set(self._tree)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.pid:
                found.add(int(entry))
        return sorted(pid for pid in found if _alive(pid))
