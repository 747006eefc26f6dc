"""The probe's entry point: one process in the target project's Python that gathers every Django fact.

The probe is the standalone script assembled by ``remediation.probe.source()`` from
``remediation/masking.py`` and the modules of this package (standard library + the project's own
Django), streamed to any interpreter, local or remote, over stdin, leaving nothing on the host.
It imports the settings once and asks Django itself: the check framework (``deploy=True``), the
migration loader and executor, the autodetector, the staticfiles finders. The project's own
stdout and stderr (banners, warnings, logging) are diverted at the file-descriptor level, so the
one JSON document printed at the end is never polluted. No secret value leaves this process:
secret settings are reduced to "set or not" (SECRET_KEY to its quality), URLs lose their
passwords, and the final document is scrubbed of every secret value the probe knows.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

from ..masking import is_secret_name, plausible_secret, scrub, secret_values
from .common import error_info, settings_module_from_manage
from .configuration import REPORTED_PACKAGES, configuration_facts
from .database import check_messages, database_facts, migration_facts
from .environ import install_env_recorder, recorded_environ
from .services import redis_facts, static_facts, url_facts
from .settings_facts import read_settings
from .sources import settings_source
from .supervise import report_stage, supervise, worker_watchdog

PROBE_VERSION = 1
MARKER = "@@REMEDIATION-PROBE@@"



class Probe:
    def __init__(self, config: dict):
        self.config = config
        self.root = os.path.abspath(config["manage_dir"])
        self.result: dict = {"probe_version": PROBE_VERSION, "error": None, "timings": {}}
        self.secrets: set[str] = set()
        self._started = time.perf_counter()
        self.diag: int | None = None  # the supervisor's channel: stage names, the stack at the deadline

    def timed(self, stage: str, func):
        report_stage(self.diag, stage)
        start = time.perf_counter()
        try:
            return func()
        finally:
            self.result["timings"][stage] = round((time.perf_counter() - start) * 1000, 1)

    def fail(self, stage: str, exc: BaseException) -> dict:
        self.result["error"] = {"stage": stage, **error_info(exc, self.root)}
        self.secrets |= secrets_in_frames(exc, self.root)
        return self.result

    def run(self) -> dict:
        self.result["python"] = {
            "version": ".".join(map(str, sys.version_info[:3])),
            "executable": sys.executable,
        }
        self.prepare_environment()
        install_env_recorder(self.root)
        self.result["packages"] = self.packages()
        try:
            import django
        except Exception as exc:  # an interpreter without Django
            return self.fail("django", exc)
        self.result["django"] = {"version": django.get_version()}
        report_stage(self.diag, "settings")
        try:
            from django.conf import settings

            self.timed("settings", lambda: settings.INSTALLED_APPS)
        except BaseException as exc:  # settings may raise anything, even SystemExit
            return self.fail("settings", exc)
        try:
            self.timed("setup", django.setup)
        except BaseException as exc:
            return self.fail("setup", exc)
        self.collect_secrets(settings)
        self.result["settings"] = self.timed("read_settings", lambda: read_settings(self, settings))
        try:  # where each setting is assigned (SARIF locations): a failure costs the locations only
            self.result["settings_source"] = settings_source(self.root, self.result.get("settings_module"))
        except Exception as exc:
            self.result["settings_source"] = {"error": error_info(exc, self.root)}
        self.result["database"] = self.timed("database", lambda: database_facts(self))
        self.result["checks"] = self.timed("checks", lambda: check_messages(self))
        self.result["migrations"] = self.timed("migrations", lambda: migration_facts(self))
        self.result["static"] = self.timed("static", lambda: static_facts(self, settings))
        self.result["redis"] = self.timed("redis", lambda: redis_facts(self, settings))
        self.result["urls"] = self.timed("urls", lambda: url_facts(self))
        self.result["configuration"] = self.timed("configuration", lambda: configuration_facts(self, settings))
        return self.result

    def prepare_environment(self) -> None:
        os.chdir(self.root)
        sys.path.insert(0, self.root)
        sys.argv = [os.path.join(self.root, "manage.py"), "check", "--deploy"]
        sys.dont_write_bytecode = True
        for key, value in (self.config.get("env") or {}).items():
            os.environ[key] = value
        module = self.config.get("settings") or os.environ.get("DJANGO_SETTINGS_MODULE")
        if not module:
            module = settings_module_from_manage(os.path.join(self.root, "manage.py"))
        if module:
            os.environ["DJANGO_SETTINGS_MODULE"] = module
        self.result["settings_module"] = module
        self.secrets |= secret_values(os.environ)

    def packages(self) -> dict:
        from importlib import metadata

        found = {}
        # The requirements' names and those the report names, looked up before the settings may fail.
        for name in sorted(set(self.config.get("packages") or []) | set(REPORTED_PACKAGES)):
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                found[name] = None
            except Exception:
                found[name] = None
        return found

    def collect_secrets(self, settings) -> None:
        self.secrets.add(getattr(settings, "SECRET_KEY", "") or "")
        self.secrets |= set(getattr(settings, "SECRET_KEY_FALLBACKS", None) or [])
        for db in getattr(settings, "DATABASES", {}).values():
            self.secrets.add(db.get("PASSWORD") or "")
        for name in dir(settings):
            if name.isupper():
                self.secrets |= secrets_of_setting(name, getattr(settings, name, None))


def secrets_of_setting(name: str, value) -> set[str]:
    """The secret values a setting holds: the value of a secret-named one, the secrets of URLs."""
    if isinstance(value, str):
        found = secret_values({name: value})
        return found
    if isinstance(value, (list, tuple)) and is_secret_name(name):
        return {item for item in value if isinstance(item, str) and plausible_secret(item)}
    return set()


def secrets_in_frames(exc: BaseException, root: str) -> set[str]:
    """Secrets the settings module had defined when it raised: its namespace is gone from
    sys.modules, but the traceback's frames in the project still hold it."""
    found: set[str] = set()
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename.startswith(root):
            for namespace in (frame.f_globals, frame.f_locals):
                for name, value in list(namespace.items()):
                    if isinstance(name, str) and name.isupper():
                        found |= secrets_of_setting(name, value)
        tb = tb.tb_next
    return found

def main() -> int:
    config = globals().get("PROBE_CONFIG")
    if config is None:
        config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {"manage_dir": os.getcwd()}
    source = globals().get("PROBE_SOURCE")
    if config.get("role") != "worker" and source is not None:
        return supervise({**config, "probe_version": PROBE_VERSION}, source, MARKER)
    diag = os.dup(2) if config.get("role") == "worker" else None
    if diag is not None:
        worker_watchdog(config, diag)
    real_stdout = os.dup(1)
    sys.stdout.flush()
    sys.stderr.flush()
    # The project's banners, warnings and logging go to an unlinked temp file, counted, never shown.
    captured = tempfile.TemporaryFile()
    os.dup2(captured.fileno(), 1)
    os.dup2(captured.fileno(), 2)
    probe = Probe(config)
    probe.diag = diag
    try:
        result = probe.run()
    except BaseException as exc:  # never let the project crash the probe
        result = probe.fail("probe", exc)
    sys.stdout.flush()
    sys.stderr.flush()
    result["environ"] = recorded_environ()
    result["project_output_bytes"] = os.fstat(captured.fileno()).st_size
    result["timings"]["total"] = round((time.perf_counter() - probe._started) * 1000, 1)
    document = scrub(json.dumps(result, default=str), probe.secrets)
    os.write(real_stdout, f"\n{MARKER}{document}\n".encode())
    return 0


if __name__ == "__main__":
    os._exit(main())
