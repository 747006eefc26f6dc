"""Installing an nginx site on a host, through the transport: tested before it counts, reloaded
(never restarted), the previous one back byte for byte when nginx refuses the new one.

    1. unchanged (same bytes as the live site, and nginx accepted and reloaded exactly those): nothing
       is written, nothing reloaded;
    2. ``nginx -t`` before the change, so that a configuration nginx already refuses is not blamed
       on the new site (the new site is still tried: it may be the fix of a broken live one);
    3. the previous site is copied to DEPLOY_TO/.deploy/nginx/<name>.previous (outside every folder
       nginx includes: a copy next to the live site would be read as a second site), then the new
       one is written under a temp name next to the live one and renamed over it (atomic);
    4. ``nginx -T`` with the new site in place: on failure the previous bytes go back (or the new
       file goes, when there was none) and nginx's error line is the message; the dump also proves
       nginx's configuration includes the site at all;
    5. ``nginx -s reload``: the master re-reads its configuration and replaces its workers gracefully
       (open connections finish; nothing is dropped). The reload counts once new workers appear;
       a master that cannot apply the configuration keeps the old workers, and that is reported;
    6. the digest of what nginx accepted and reloaded is recorded (<name>.installed), so a run killed
       between the rename and the reload is finished by the next one instead of being taken as
       unchanged.

By hand because no library drives nginx: this is its documented command line (-t, -T, -s reload).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import time

from ..transport import TransportError, encode
from .edge import EdgeError

RELOAD_SECONDS = 10.0
PID_DIRECTIVE = re.compile(r"^\s*pid\s+([^;\s]+)\s*;", re.M)


def _lines(result) -> list[str]:
    return [line.strip() for line in f"{result.stderr}\n{result.stdout}".splitlines() if line.strip()]


def error_line(result) -> str:
    """nginx's own reason: its [emerg]/[alert]/[crit]/[error] line, else its last line."""
    lines = _lines(result)
    picked = [line for line in lines if re.search(r"\[(emerg|alert|crit|error)\]", line)]
    line = (picked or lines or [f"exit status {result.returncode}"])[0]
    found = re.search(r"\[(?:emerg|alert|crit|error)\]\s*(?:\d+#\d+:\s*)?(.*)$", line)
    return (found.group(1) if found else line)[:400]


def run_nginx(transport, argv: list[str], *args: str, timeout: float = 60):
    try:
        return transport.run([*argv, *args], timeout=timeout)
    except TransportError as exc:
        raise EdgeError(f"{argv[0]}: {exc}") from None


def included_files(dump: str) -> set[str]:
    return {line[len("# configuration file "):].rstrip(":").strip()
            for line in dump.splitlines() if line.startswith("# configuration file ")}


def pid_file(transport, argv: list[str], dump: str) -> str | None:
    """Where the master writes its pid: the ``pid`` directive of the main configuration (the
    first file of the dump), else the compiled-in default; relative paths are under the prefix."""
    found = PID_DIRECTIVE.search(dump.split("\n# configuration file ", 1)[0])
    version = run_nginx(transport, argv, "-V")
    built = f"{version.stderr}\n{version.stdout}"
    path = found.group(1) if found else (re.search(r"--pid-path=(\S+)", built) or [None, None])[1]
    if not path:
        return None
    if path.startswith("/"):
        return path
    prefix = argv[argv.index("-p") + 1] if "-p" in argv[:-1] else (re.search(r"--prefix=(\S+)", built) or [None, "/"])[1]
    return posixpath.join(prefix, path)


def workers(transport, master: int) -> set[int] | None:
    result = transport.run(["ps", "-o", "pid=", "--ppid", str(master)], timeout=30)
    if result.returncode not in (0, 1):
        return None
    return {int(word) for word in result.stdout.split() if word.isdigit()}


def master_pid(transport, path: str | None) -> int | None:
    text = transport.read_text(path) if path else None
    return int(text.strip()) if text and text.strip().isdigit() else None


def reload(transport, argv: list[str], dump: str) -> str:
    """``nginx -s reload``, then wait until the master runs new workers (it took the new config)."""
    try:
        path = pid_file(transport, argv, dump)
        master = master_pid(transport, path)
        before = workers(transport, master) if master else None
    except (TransportError, ValueError):
        master, before = None, None
    result = run_nginx(transport, argv, "-s", "reload")
    if result.returncode != 0:
        raise EdgeError(f"nginx -s reload failed (is nginx running?): {error_line(result)}")
    if not master or before is None:
        return "reload signalled (not confirmed: nginx's master pid or its workers could not be read)"
    deadline = time.monotonic() + RELOAD_SECONDS
    while time.monotonic() < deadline:
        now = workers(transport, master) or set()
        if now - before:
            return "reloaded (new workers; open connections finish on the old ones)"
        time.sleep(0.1)
    raise EdgeError(f"nginx did not take the new configuration within {RELOAD_SECONDS:g}s (no new workers): "
                    "its error log says why (a port in use?)")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install(transport, argv: list[str], site: str, text: str, state_dir: str) -> str:
    """Put ``text`` at ``site`` the safe way (module docstring); one line saying what happened."""
    new = encode(text)
    name = posixpath.basename(site)
    previous_copy, installed = posixpath.join(state_dir, f"{name}.previous"), posixpath.join(state_dir, f"{name}.installed")
    live = transport.read_bytes(site)
    if live == new and (transport.read_text(installed) or "").strip() == digest(new):
        return f"{site} unchanged"
    folder = posixpath.dirname(site)
    if transport.lstat(folder) is None:
        raise EdgeError(f"{folder} does not exist: is nginx installed? (nginx_site must be in a folder its nginx.conf includes)")
    broken_before = None
    if live != new:
        before = run_nginx(transport, argv, "-t")
        broken_before = error_line(before) if before.returncode != 0 else None
        transport.makedirs(state_dir, 0o700)
        if live is not None:
            transport.write_atomic(previous_copy, live, 0o644)
        transport.write_atomic(site, new, 0o644)
    test = run_nginx(transport, argv, "-T")
    problem = None
    if test.returncode != 0 and broken_before:  # not the new site's fault (but a fix of the old one may pass)
        problem = f"nginx -t fails with or without the new site: {broken_before}"
    elif test.returncode != 0:
        problem = f"nginx -t refused the new site: {error_line(test)}"
    elif not included_files(test.stdout) & {site, transport.realpath(site)}:
        problem = f"nginx's configuration does not include {site} (its include lines decide where sites go)"
    if problem:
        restore(transport, site, live)
        raise EdgeError(problem + ("; the previous site is back" if live is not None else "; the new file is removed"))
    line = reload(transport, argv, test.stdout)
    transport.makedirs(state_dir, 0o700)
    transport.write_atomic(installed, digest(new) + "\n", 0o644)
    return f"{site} installed (nginx -t ok); {line}"


def restore(transport, site: str, live: bytes | None) -> None:
    if live is None:
        transport.remove(site)
        return
    transport.write_atomic(site, live)
    if transport.read_bytes(site) != live:
        raise EdgeError(f"{site}: the previous site could not be put back byte for byte; see "
                        "DEPLOY_TO/.deploy/nginx/ for its copy")
