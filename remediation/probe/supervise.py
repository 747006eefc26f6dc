"""Bounded time: the probe runs in a child process that a supervisor on the same host watches.

A project's settings may never return, fork a child that holds the output open, or kill their
own process. The supervisor (the streamed script's first process, on the project's host, so the
same code bounds a local and a remote probe) starts the worker in a session of its own with the
env as its process environment (one ``execve``, not one ``putenv`` per variable: that was
quadratic), gives it the deadline, and reads its output until it exits, not until the pipe closes,
so a forked child holding the pipe cannot hold the audit. At the deadline it kills the worker's
whole process group (and any descendant that left it); it then prints a document whose error
says what happened (``timeout`` or ``killed``) in which stage, and where the settings were
(Python's faulthandler dumps the worker's stack just before the deadline).

Standard library only; no library supervises a child this way across local and SSH hosts.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time

STAGE_PREFIX = "@@REMEDIATION-STAGE@@"
DEFAULT_PROBE_TIMEOUT = 60.0
DUMP_LEAD = 0.3  # the worker dumps its stack this long before the supervisor's deadline
WORKER_BOOTSTRAP = (
    "import sys, json; config = json.loads(sys.stdin.readline()); source = sys.stdin.read(); "
    "exec(compile(source, 'remediation-probe.py', 'exec'), "
    "{'__name__': '__main__', 'PROBE_CONFIG': config, 'PROBE_SOURCE': source})"
)


def worker_environment(env: dict) -> dict:
    """This process's environment plus the project's env values (those a process env can hold)."""
    merged = dict(os.environ)
    for key, value in (env or {}).items():
        key, value = str(key), str(value)
        if key and "=" not in key and "\0" not in key and "\0" not in value:
            merged[key] = value
    return merged


def descendants(root_pid: int) -> list[int]:
    """Every process below ``root_pid`` (Linux /proc; empty elsewhere), to kill those that left the group."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
            parent = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(name))
    found, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL the worker's process group and every process below the supervisor (which is their
    subreaper, so a child that left the group and lost its parent is still found here)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for target in descendants(os.getpid()):
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def prctl(option: int, value: int) -> None:
    """Linux's prctl through ctypes; nothing elsewhere (the process group kill still applies)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError, ImportError):
        pass


PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36


def stack_location(dump: str, root: str) -> str | None:
    """The innermost frame of faulthandler's dump inside the project, as ``relative/path.py:line``."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', dump)
    for path, line in frames:  # most recent call first
        if path.startswith(root):
            return f"{os.path.relpath(path, root)}:{line}"
    return f"{frames[0][0]}:{frames[0][1]}" if frames else None


def supervise(config: dict, source: str, marker: str) -> int:
    """Run the worker under the deadline; print its document, or one that says why there is none."""
    timeout = float(config.get("probe_timeout") or DEFAULT_PROBE_TIMEOUT)
    root = os.path.abspath(config["manage_dir"])
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of the worker become ours, not init's
    started = time.monotonic()
    deadline = started + timeout
    # CLOCK_MONOTONIC is one clock for every process of the host: the worker aims at the same instant.
    worker_config = {**config, "role": "worker", "env": {}, "probe_deadline": deadline}
    worker = subprocess.Popen(
        [sys.executable or "python3", "-B", "-c", WORKER_BOOTSTRAP],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=worker_environment(config.get("env") or {}), start_new_session=True, close_fds=True,
    )
    out, diag = bytearray(), bytearray()
    timed_out = False
    try:
        try:
            worker.stdin.write((json.dumps(worker_config) + "\n" + source).encode("utf-8"))
            worker.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        timed_out = not read_until_exit(worker, out, diag, deadline)
    finally:
        kill_tree(worker.pid)  # the deadline passed, or leftovers of a project that forked
        worker.wait()
        drain(worker, out, diag)
    text = out.decode("utf-8", "replace")
    if marker in text and not timed_out:
        os.write(1, text[text.rfind(marker) - 1:].encode("utf-8"))
        return 0
    report = diag.decode("utf-8", "replace")
    stages = [line[len(STAGE_PREFIX):] for line in report.splitlines() if line.startswith(STAGE_PREFIX)]
    stage = stages[-1] if stages else "start"
    dumped = "Timeout (" in report
    elapsed = time.monotonic() - started
    if timed_out or dumped:
        error = {"kind": "timeout", "type": "ProbeTimeout",
                 "message": f"no answer within {timeout:g}s (stage: {stage}); the probe's processes were killed",
                 "where": stack_location(report, root) if dumped else None}
    else:
        code = worker.returncode
        how = f"was killed by {signal_name(-code)}" if code < 0 else f"exited with status {code}"
        last = [line for line in report.splitlines() if line.strip() and not line.startswith(STAGE_PREFIX)]
        error = {"kind": "killed", "type": "ProbeKilled", "signal": -code if code < 0 else None,
                 "message": f"the probe {how} during stage {stage}, before it could report"
                            + (f" ({last[-1].strip()[:200]})" if last and code >= 0 else ""),
                 "where": None}
    document = {"probe_version": config.get("probe_version"), "error": {"stage": stage, **error},
                "timings": {"total": round(elapsed * 1000, 1)}, "probe_timeout": timeout,
                "settings_module": config.get("settings")}
    os.write(1, f"\n{marker}{json.dumps(document)}\n".encode("utf-8"))
    return 0


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def read_until_exit(worker, out: bytearray, diag: bytearray, deadline: float) -> bool:
    """Collect the worker's output until it exits (True) or the deadline passes (False)."""
    selector = selectors.DefaultSelector()
    selector.register(worker.stdout, selectors.EVENT_READ, out)
    selector.register(worker.stderr, selectors.EVENT_READ, diag)
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(worker.pid)
            selector.register(pidfd, selectors.EVENT_READ, None)
        except OSError:
            pidfd = None
    try:
        while True:
            if worker.poll() is not None:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            for key, _ in selector.select(remaining if pidfd is not None else min(remaining, 0.05)):
                if key.data is None:
                    continue
                chunk = os.read(key.fd, 65536)
                if chunk:
                    key.data.extend(chunk)
                else:
                    selector.unregister(key.fileobj)
    finally:
        selector.close()
        if pidfd is not None:
            os.close(pidfd)


def drain(worker, out: bytearray, diag: bytearray) -> None:
    """What the worker wrote before it ended (its children are dead, so the pipes reach their end)."""
    for stream, sink in ((worker.stdout, out), (worker.stderr, diag)):
        try:
            os.set_blocking(stream.fileno(), False)
            while True:
                chunk = os.read(stream.fileno(), 65536)
                if not chunk:
                    break
                sink.extend(chunk)
        except (BlockingIOError, OSError):
            pass
        stream.close()


def worker_watchdog(config: dict, diag_fd: int) -> None:
    """In the worker: die with the supervisor (a killed supervisor must not leave the settings
    running), and dump the stack to it just before the deadline (faulthandler's own thread needs no
    GIL, so a stuck project cannot stop it)."""
    import faulthandler

    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the supervisor died before the line above
        os._exit(1)
    deadline = config.get("probe_deadline")
    if deadline is None:
        deadline = time.monotonic() + float(config.get("probe_timeout") or DEFAULT_PROBE_TIMEOUT)
    faulthandler.dump_traceback_later(max(0.05, deadline - time.monotonic() - DUMP_LEAD), file=diag_fd)


def report_stage(diag_fd: int | None, stage: str) -> None:
    if diag_fd is not None:
        try:
            os.write(diag_fd, f"{STAGE_PREFIX}{stage}\n".encode())
        except OSError:
            pass
