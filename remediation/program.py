"""The ``django-remediation`` console script: invoke's ``Program`` with the tasks' namespace, so every
task and flag is the one ``invoke`` shows in a checkout, runnable from any folder after pip install."""

from importlib.metadata import PackageNotFoundError, version

from invoke import Program

from .tasks import ns


def _version() -> str:
    try:
        return version("django-remediation")
    except PackageNotFoundError:  # a checkout on sys.path, not installed
        return "unknown"


program = Program(namespace=ns, version=_version(), name="django-remediation", binary="django-remediation")
