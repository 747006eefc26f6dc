"""Many hosts at once: one transport (one SSH connection) per host, hosts in parallel threads,
one broken host never stopping the others, and a recap like Ansible's PLAY RECAP.

The work done on each host is a function ``work(host, transport) -> result``; the same audit and
fix-prod code runs for local and remote hosts, only the transport differs.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from .inventory import Host
from .runner import UsageError
from .transport import Local, Transport, TransportError

OK, UNREACHABLE, FAILED = "ok", "unreachable", "failed"


@dataclass
class SshOptions:
    known_hosts: str | None = None
    accept_new_host_keys: bool = False
    connect_timeout: float = 10
    ask_become_pass: bool = False  # prompt once for the sudo password (else REMEDIATION_SUDO_PASSWORD)
    become_password: str | None = field(default=None, repr=False)


def becomes(host: Host) -> bool:
    """Ansible's ``become`` / ``ansible_become`` host var: run commands through sudo."""
    value = host.vars.get("become", host.vars.get("ansible_become", False))
    return value is True or str(value).lower() in ("true", "yes", "1")


@dataclass
class HostRun:
    host: Host
    status: str = OK
    result: object = None
    error: str | None = None
    seconds: float = 0.0
    secrets: set = field(default_factory=set)


def transport_for(host: Host, ssh: SshOptions) -> Transport:
    if host.local:
        return Local()
    from .ssh import Ssh

    return Ssh(host.name, host.address, host.port, host.user, host.key_file, known_hosts=ssh.known_hosts,
               accept_new_host_keys=ssh.accept_new_host_keys, connect_timeout=ssh.connect_timeout,
               become=becomes(host), sudo_password=ssh.become_password if becomes(host) else None)


class Progress:
    """One line per host on stderr as it starts and ends, so stdout stays machine-readable."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self.done = enabled, total, 0
        self.lock = threading.Lock()

    def say(self, text: str) -> None:
        if self.enabled:
            with self.lock:
                print(text, file=sys.stderr, flush=True)

    def finished(self, run: HostRun, summary: str) -> None:
        with self.lock:
            self.done += 1
            done = self.done
        self.say(f"[{done}/{self.total}] {run.host.name}: {run.status} in {run.seconds:.1f}s{summary}")


def run_hosts(hosts: list[Host], work: Callable, ssh: SshOptions, forks: int = 5, progress: bool = True,
              summarize: Callable = lambda result: "", keep: dict | None = None,
              reuse: dict | None = None) -> list[HostRun]:
    """Run ``work`` on every host, ``forks`` at a time; results in inventory order.

    Connections carried from one pass to the next (host name -> open transport): with ``keep`` a
    host that succeeds leaves its connection there, open; with ``reuse`` a host found there is
    worked on over that connection (taken out, closed after). The caller closes what is left
    (``close_kept``)."""
    if forks < 1:
        raise UsageError("--forks must be at least 1")
    if any(becomes(h) and not h.local for h in hosts) and ssh.become_password is None:
        from .ssh import sudo_password_from_env

        ssh.become_password = sudo_password_from_env(prompt=ssh.ask_become_pass)  # asked once, before the threads
    bar = Progress(progress, len(hosts))

    def one(host: Host) -> HostRun:
        run = HostRun(host)
        start = time.perf_counter()
        bar.say(f"[{host.name}] started")
        transport = reuse.pop(host.name, None) if reuse is not None else None
        try:
            if transport is None:
                transport = transport_for(host, ssh)
                transport.open()
            run.result = work(host, transport)
            if keep is not None:
                keep[host.name], transport = transport, None
        except TransportError as exc:
            run.status, run.error = UNREACHABLE, str(exc)
        except UsageError as exc:
            run.status, run.error = FAILED, str(exc)
        except Exception as exc:  # one host's bug must not take the fleet down
            run.status, run.error = FAILED, f"internal error: {type(exc).__name__}: {exc}"
        finally:
            if transport is not None and hasattr(transport, "close"):
                transport.close()
            run.seconds = time.perf_counter() - start
        bar.finished(run, summarize(run.result) if run.status == OK else f": {run.error}")
        return run

    with ThreadPoolExecutor(max_workers=min(forks, max(1, len(hosts)))) as pool:
        return list(pool.map(one, hosts))


def close_kept(keep: dict) -> None:
    """Close the connections ``run_hosts(keep=...)`` left open."""
    while keep:
        _, transport = keep.popitem()
        if hasattr(transport, "close"):
            transport.close()
