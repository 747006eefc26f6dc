"""invoke's entry point in this checkout: the tasks ship inside the package (remediation/tasks.py),
so that a project can reuse them with one import and the console script runs them from anywhere."""

from remediation.tasks import ns  # noqa: F401 - invoke looks for `ns`
