"""envexec: start a service's program with the production env, pinned to one release.

Installed as DEPLOY_TO/bin/envexec (joined by launcher.py with python-dotenv's parser and
remediation/envparse.py, so it needs only the standard library) and run by the process manager:

    DEPLOY_TO/current/.venv/bin/python DEPLOY_TO/bin/envexec [ENV_FILE] -- PROGRAM ARG...

- ENV_FILE is read with python-dotenv's parser: the values ``facts.parse_env_text`` gives the
  controller (no ``${VAR}`` expansion; a key without ``=`` is skipped, as ``load_dotenv`` does),
  and they win over the manager's environment. Secrets stay in that 0600 file: never on a command
  line, never in the supervisord conf. systemd passes no ENV_FILE (``EnvironmentFile=`` does it).
- The release is pinned: service files name ``DEPLOY_TO/current/...``, and Python keeps
  unresolved paths (sys.prefix = ``current/.venv``; gunicorn puts ``$PWD`` on sys.path), so a lazy
  import after the next switch would load the next release's code into this one. PROGRAM's folder
  is resolved (``current/.venv/bin`` -> ``venvs/<hash>/bin``, an immutable venv) and ``PWD`` is
  set to the resolved working directory.
- ``os.execve``: the pid stays (systemd's LISTEN_PID, supervisord's pid), and so does fd 0
  (supervisord's fcgi socket).

A bad env file: one line on stderr, exit 78 (EX_CONFIG); bad usage: exit 64; PROGRAM missing: 127.
Written by hand: no launcher does "dotenv file, then exec" without its own second env parser.
"""

from __future__ import annotations

import os
import sys

from ..envparse import parse_env

EX_USAGE = 64
EX_CONFIG = 78
EX_NOTFOUND = 127


class EnvFileError(Exception):
    """The env file cannot be used; the message is one line, with no value in it."""


def load_env_file(path: str) -> dict:
    """KEY -> value from the env file, python-dotenv's parser; any unparsable line is refused."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise EnvFileError(f"{path}: cannot read the env file ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvFileError(f"{path}: not UTF-8 (byte {exc.start})") from None
    values = {}
    for binding in parse_env(text):
        if binding.error:
            raise EnvFileError(f"{path}:{binding.line}: cannot parse this line")
        if binding.key is None or binding.value is None:
            continue
        if "\0" in binding.value or "\0" in binding.key:
            raise EnvFileError(f"{path}:{binding.line}: {binding.key}: a NUL byte cannot be in the environment")
        values[binding.key] = binding.value
    return values


def pinned_program(program: str) -> str:
    """PROGRAM with its folder resolved: the venv of this release, not whatever ``current`` is later."""
    folder, name = os.path.split(program)
    return os.path.join(os.path.realpath(folder), name)


def envexec_main(argv: list) -> int:
    if "--" not in argv:
        sys.stderr.write("envexec: usage: envexec [ENV_FILE] -- PROGRAM [ARG...]\n")
        return EX_USAGE
    split = argv.index("--")
    before, command = argv[:split], argv[split + 1:]
    if len(before) > 1 or not command or not os.path.isabs(command[0]):
        sys.stderr.write("envexec: usage: envexec [ENV_FILE] -- /ABSOLUTE/PROGRAM [ARG...]\n")
        return EX_USAGE
    environ = dict(os.environ)
    if before:
        try:
            environ.update(load_env_file(before[0]))
        except EnvFileError as exc:
            sys.stderr.write(f"envexec: {exc}\n")
            return EX_CONFIG
    program = pinned_program(command[0])
    environ["PWD"] = os.getcwd()  # resolved by the kernel: the release, not `current`
    try:
        os.execve(program, [program, *command[1:]], environ)
    except OSError as exc:
        sys.stderr.write(f"envexec: {command[0]}: cannot run ({exc.strerror})\n")
        return EX_NOTFOUND
    return EX_NOTFOUND  # not reached: execve does not return


if __name__ == "__main__":
    sys.exit(envexec_main(sys.argv[1:]))
