"""Several report formats from one run, as InSpec's reporters: ``--format text --format
sarif:audit.sarif --format junit:audit.xml``. At most one format goes to stdout; ``--output FILE``
names the file of the one format without a ``:PATH``. Every path is checked before any work is
done (a directory, a missing or unwritable folder, a block device, the same file twice: one line,
exit 2, nothing written); the files are written only after the run, each atomically
(options.write_report), all rendered from the same reports.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .options import not_empty, write_report
from .runner import UsageError


@dataclass(frozen=True)
class Output:
    fmt: str
    path: Path | None = None  # None: stdout

    @property
    def color(self) -> bool:
        return self.path is None and self.fmt == "text" and sys.stdout.isatty()


def parse_outputs(formats, choices, output: str | None = None, default: str = "text") -> list[Output]:
    """``--format`` values (a string or a list: the task's repeatable flag) as checked outputs."""
    values = [formats] if isinstance(formats, str) else list(formats or [])
    outputs = [parse_one(str(value), choices) for value in values] or [Output(default)]
    not_empty("--output", output)
    pathless = [o for o in outputs if o.path is None]
    if output is not None:
        if len(pathless) != 1:
            raise UsageError("--output names the file of the one --format without :PATH; give each format its own "
                             "FORMAT:PATH instead")
        index = outputs.index(pathless[0])
        outputs[index] = Output(pathless[0].fmt, checked_path(output, "--output"))
    elif len(pathless) > 1:
        names = ", ".join(o.fmt for o in pathless)
        raise UsageError(f"--format: {names} would all go to stdout; give all but one a file (FORMAT:PATH)")
    seen: dict[str, str] = {}
    for item in outputs:
        if item.path is not None:
            key = os.path.realpath(item.path)
            if key in seen and not is_special(Path(key)):
                raise UsageError(f"--format: {item.path}: named twice ({seen[key]} and {item.fmt})")
            seen[key] = item.fmt
    return outputs


def parse_one(value: str, choices) -> Output:
    name, colon, path = value.partition(":")
    name = name.strip()
    if name not in choices:
        raise UsageError(f"--format: unknown format {name!r} (choose from {', '.join(choices)})")
    if not colon:
        return Output(name)
    if not path.strip():
        raise UsageError(f"--format {name}: empty path after ':' (leave it out for stdout)")
    return Output(name, checked_path(path, f"--format {name}"))


def is_special(path: Path) -> bool:
    """A character device or a pipe (/dev/null, a fifo): written in place, never replaced."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def checked_path(value: str, flag: str) -> Path:
    """The absolute path, if a report can be written there; UsageError otherwise. Writability is
    tried, not guessed from mode bits (root ignores them): a temporary file is made in the folder
    and removed at once, an existing file is opened for appending and closed unwritten."""
    path = Path(value).expanduser().absolute()
    real = Path(os.path.realpath(path))
    if real.is_dir():
        raise UsageError(f"{flag}: {path}: is a directory (name a file)")
    if not real.parent.is_dir():
        raise UsageError(f"{flag}: {path.parent}: no such directory")
    try:
        mode = real.stat().st_mode if real.exists() else None
    except OSError as exc:
        raise UsageError(f"{flag}: {path}: {exc.strerror or exc}") from None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise UsageError(f"{flag}: {path}: not a regular file (a block device or a socket)")
    try:
        if mode is not None and stat.S_ISREG(mode):
            with open(real, "a", encoding="utf-8"):
                pass
        if mode is None or stat.S_ISREG(mode):  # the atomic write needs a temporary file beside it
            with tempfile.NamedTemporaryFile(dir=real.parent, prefix=".remediation-probe-", delete=True):
                pass
        elif not os.access(real, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise UsageError(f"{flag}: {path}: cannot be written ({exc.strerror or exc})") from None
    return path


def write_outputs(outputs: list[Output], render) -> str | None:
    """``render(output) -> text`` for each output; files first (atomically), stdout last. Returns an
    error line if a file could not be written after all (the disk filled meanwhile), else None."""
    rendered = [(item, render(item)) for item in outputs]
    for item, text in rendered:
        if item.path is None:
            continue
        try:
            write_report(item.path, text)
        except OSError as exc:
            return f"{item.path}: {exc.strerror or exc}"
    for item, text in rendered:
        if item.path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
    return None
