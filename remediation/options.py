"""What comes in on the command line, checked before any work is done: one line and exit status 2
for each mistake (an empty path, a directory where a file belongs, a bad number, a domain that is
not a host name, a database URL that would be written wrong), and where the report may be written.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .findings import Severity
from .runner import UsageError


def write_report(path: Path, text: str) -> None:
    """The report through the same atomic write as every other file, so a reader never sees half of
    it; through a symlink to its target (the link stays a link); in place onto anything that is not
    a regular file (``/dev/null``, a device, a pipe), which a rename would replace."""
    from .transport import Local

    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    Local().write_atomic(str(target), text)


def not_empty(flag: str, value: str | None) -> None:
    """An empty string is a mistake (an unset shell variable), never "use the default"."""
    if value is not None and not str(value).strip():
        raise UsageError(f"{flag}: empty value (leave the flag out to use the default)")


def path_options(project=None, python=None, env_file=None) -> None:
    not_empty("--project", project)
    not_empty("--python", python)
    not_empty("--env-file", env_file)
    if env_file and Path(env_file).expanduser().is_dir():
        raise UsageError(f"--env-file: {Path(env_file).expanduser().absolute()}: is a directory, not an env file")


def forks_option(forks) -> int:
    try:
        value = int(str(forks).strip())
    except ValueError:
        raise UsageError(f"--forks: {str(forks)!r} is not a whole number") from None
    if value < 1:
        raise UsageError("--forks must be at least 1")
    return value


def probe_timeout_option(value) -> None:
    """``--probe-timeout SECONDS``: passed on to every probe of this run (REMEDIATION_PROBE_TIMEOUT)."""
    from .transport import PROBE_TIMEOUT_ENV

    if value is None:
        return
    try:
        seconds = float(str(value).strip())
    except ValueError:
        raise UsageError(f"--probe-timeout: {str(value)!r} is not a number of seconds") from None
    if not 0 < seconds <= 86400:
        raise UsageError("--probe-timeout: give a number of seconds above 0 (at most 86400)")
    os.environ[PROBE_TIMEOUT_ENV] = repr(seconds)


def host_probe_timeout(host, transport) -> None:
    """The host var ``probe_timeout`` bounds that host's probes (else --probe-timeout, else the default)."""
    value = host.vars.get("probe_timeout")
    if value is None:
        return
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{host.name}: probe_timeout must be a number of seconds, got {value!r}") from None
    if seconds <= 0:
        raise UsageError(f"{host.name}: probe_timeout must be above 0")
    transport.probe_timeout = seconds


def output_options(fmt: str, formats, fail_level: str, output: str | None) -> tuple[Severity, Path | None]:
    """Check --format, --fail-level and --output before any work is done; UsageError otherwise."""
    if fmt not in formats:
        raise UsageError(f"--format: unknown format {fmt!r} (choose from {', '.join(formats)})")
    try:
        level = Severity.parse(fail_level)
    except ValueError as exc:
        raise UsageError(f"--fail-level: {exc}") from None
    not_empty("--output", output)
    out_path = Path(output).expanduser().absolute() if output else None
    if out_path is not None:
        if out_path.is_dir():
            raise UsageError(f"--output: {out_path}: is a directory (name a file)")
        if not Path(os.path.realpath(out_path)).parent.is_dir():
            raise UsageError(f"--output: {out_path.parent}: no such directory")
    return level, out_path


def fix_prod_options(options) -> None:
    """Check what becomes configuration before anything runs: paths, domains, the database URL."""
    from .domains import DomainError, normalize_domains
    from .masking import mask_url

    path_options(options.project, options.python, options.env_file)
    not_empty("--secrets", options.secrets_file)
    try:
        options.domains = normalize_domains(options.domains)
    except DomainError as exc:
        raise UsageError(str(exc)) from None
    url = options.database_url
    if url is not None:
        shown = repr(mask_url(url))
        if not url.strip():
            raise UsageError("--database-url: empty value (leave the flag out to keep the database)")
        if any(char in url for char in "'\"\\ \t\r\n`"):
            raise UsageError(f"--database-url: {shown} holds a quote, a space or a line break: percent-encode "
                             "them (a password with ' becomes %27)")


def secrets_of_options(options) -> set[str]:
    """The secrets the command line itself carries (the database URL's password)."""
    from .masking import secret_values

    return secret_values({"DATABASE_URL": options.database_url or ""})
