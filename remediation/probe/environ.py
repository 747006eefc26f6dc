"""Which environment variables the project reads: recorded while the probe imports its settings.

The audit must ask the project what it needs rather than assume THE_BOT's variables, so the probe
swaps the class of the one ``os.environ`` object for a subclass that notes every read by name
(``os.environ[...]``, ``.get``, ``os.getenv``, ``in``, ``.setdefault``) before anything of the
project is imported. Swapping the class rather than the object keeps every existing reference
working: django-environ's ``Env.ENVIRON``, python-decouple and dj-database-url hold ``os.environ``
itself, so their reads are seen too, with the default they were given when their frame shows it.
``set`` means set to a non-empty value when first read. A read counts when the innermost frame outside these reader libraries is project code (below
``manage_dir``, not in site-packages); Django's and other libraries' own reads are left out.
No library records environment reads, hence this module.
"""

from __future__ import annotations

import functools
import os
import re
import sys

from ..masking import MASK, is_secret_name, mask_url, url_password

# Modules that read os.environ on behalf of their caller: the read is the caller's.
ENV_READER_MODULES = ("os", "environ", "environs", "decouple", "dj_database_url", "dj_email_url", "django_cache_url",
                      "configurations")
ENV_READS: dict = {}
ENV_RECORDER = {"root": None, "installed": False}
TOKEN_LIKE = re.compile(r"^[A-Za-z0-9_\-+/=.:]{20,}$")


def default_looks_secret(value: str) -> bool:
    """A default that is plausibly a credential: a URL password, or a long token mixing letters and digits."""
    if url_password(value):
        return True
    if "://" in value or "/" in value or not TOKEN_LIKE.match(value):
        return False
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def reportable_default(name: str, default) -> str | None:
    if default is None:
        return None
    if not isinstance(default, str):
        default = str(default)
    if not default or default in ("True", "False", "None"):
        return default
    if is_secret_name(name) or default_looks_secret(default):
        return mask_url(default) if url_password(default) and not is_secret_name(name) else MASK
    return default


@functools.lru_cache(maxsize=None)  # per file, not per read: python-dotenv copies os.environ once per binding
def is_project_file(filename: str, root: str) -> bool:
    if not filename or filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    if "site-packages" in path or "dist-packages" in path:
        return False
    return any(path == r or path.startswith(r + os.sep) for r in project_roots(root))


def project_roots(root: str) -> tuple:
    return tuple(dict.fromkeys((os.path.abspath(root), os.path.realpath(root))))


def reader_module(frame) -> bool:
    module = frame.f_globals.get("__name__") or ""
    return module.split(".", 1)[0] in ENV_READER_MODULES


def library_default(frame):
    """The default a reader library was called with (django-environ, decouple), if its frame shows one."""
    while frame is not None and reader_module(frame):
        if frame.f_code.co_name in ("get_value", "get", "__call__") and "default" in frame.f_locals:
            value = frame.f_locals["default"]
            if type(value).__name__ not in ("NoValue", "Undefined", "_Missing") and value is not None:
                return value
        frame = frame.f_back
    return None


def record_env_read(name, default, present: bool) -> None:
    root = ENV_RECORDER["root"]
    if root is None or not isinstance(name, str):
        return
    frame = sys._getframe(2)  # skip record_env_read and the RecordingEnviron method
    outer = frame
    while outer is not None and reader_module(outer):
        outer = outer.f_back
    if outer is None or outer.f_globals is globals() or not is_project_file(outer.f_code.co_filename, root):
        return  # the probe's own reads (it runs from the project folder) are not the project's
    if default is None:
        default = library_default(frame)
    where = f"{os.path.relpath(os.path.abspath(outer.f_code.co_filename), root)}:{outer.f_lineno}"
    entry = ENV_READS.get(name)
    if entry is None:
        ENV_READS[name] = {"default": reportable_default(name, default), "where": where, "set": present}
        return
    if entry["default"] is None and default is not None:
        entry["default"] = reportable_default(name, default)


class RecordingEnviron(os._Environ):
    """``os.environ`` that notes each read; behaves exactly like the original otherwise."""

    def present(self, key) -> bool:
        """Set to a non-empty value: ``TOKEN=`` in an env file gives the settings nothing to use."""
        data = self._data.get(self.encodekey(key))
        return bool(data)

    def __getitem__(self, key):
        present = self.present(key)
        record_env_read(key, None, present)
        return os._Environ.__getitem__(self, key)

    def get(self, key, default=None):
        present = self.present(key)
        record_env_read(key, default, present)
        return os._Environ.__getitem__(self, key) if present else default

    def __contains__(self, key):
        present = self.present(key)
        record_env_read(key, None, present)
        return present

    def setdefault(self, key, value):
        present = self.present(key)
        if not reader_module(sys._getframe(1)):  # django-environ's read_env fills the env: not a read
            record_env_read(key, value, present)
        return os._Environ.setdefault(self, key, value)


def install_env_recorder(root: str) -> None:
    """Start recording; call before the settings (or django-environ) are imported."""
    ENV_RECORDER["root"] = os.path.abspath(root)
    if not isinstance(os.environ, RecordingEnviron):
        os.environ.__class__ = RecordingEnviron
    ENV_RECORDER["installed"] = True


def recorded_environ() -> dict:
    """The probe document's ``environ``: every variable the project read, in the order first read."""
    if not ENV_RECORDER["installed"]:
        return {"recorded": False, "read": {}}
    return {"recorded": True, "read": {name: dict(entry) for name, entry in ENV_READS.items()}}
