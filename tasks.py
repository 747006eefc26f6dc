"""invoke tasks: parse flags, call remediation.cli, turn its status into the exit code."""

from invoke import Exit, task


def _exit(code: int) -> None:
    if code:
        raise Exit(code=code)


@task(
    help={
        "project": "Django project folder (manage.py here or one level down); default: the bundled demo",
        "python": "interpreter of the project (default: this one)",
        "env-file": "env file to audit (default: .env at the project root or beside manage.py)",
        "format": "text, markdown or json",
        "output": "write the report to this file instead of stdout",
        "fail-level": "lowest severity that blocks production: critical, high, medium, low, info",
    }
)
def audit(c, project=None, python=None, env_file=None, format="text", output=None, fail_level="high"):
    """Audit a Django project's production readiness (exit 0 ready, 1 blocked, 2 bad input)."""
    from remediation import cli

    _exit(cli.audit(project, python=python, env_file=env_file, fmt=format, output=output, fail_level=fail_level))


@task(help={"dest": "folder to copy the bundled demo project into"})
def demo(c, dest):
    """Copy the bundled THE_BOT demo project somewhere to try audit and fix-prod on it."""
    from remediation import cli

    _exit(cli.demo(dest))
