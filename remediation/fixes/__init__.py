"""Fixes: one module per fix, and the one ordered registry of them.

The registry is the only place that says which findings a fix repairs (each module's
``REPAIRS``); a check names in ``fix`` the registry fix that repairs its finding, or ``manual``
(tests/test_fix_registry.py holds every check to that). The order is the order of a run:

- ``ENV_FIXES`` plan values in the production env document, in memory;
- ``settings_env`` converges that env: what the settings themselves demand when they raise;
- ``SETTINGS_FIXES`` decide, from a probe under the planned env, whether a settings file is needed;
- ``ACTION_FIXES`` run after every file is written, in this order (a failure skips the rest).
"""

from __future__ import annotations

from . import (
    collectstatic,
    copy_data,
    database,
    env_file,
    external,
    git_push,
    migrate,
    redis,
    secret_key,
    security_flags,
    settings_env,
)

ENV_FIXES = (secret_key, env_file, redis, external, database)
SETTINGS_FIXES = (security_flags,)
ACTION_FIXES = (migrate, copy_data, collectstatic, git_push)
REGISTRY = (*ENV_FIXES, settings_env, *SETTINGS_FIXES, *ACTION_FIXES)
BY_NAME = {fix.NAME: fix for fix in REGISTRY}


def repairs() -> dict[str, tuple[str, ...]]:
    """Fix name -> the finding ids it repairs, in registry order."""
    return {fix.NAME: tuple(getattr(fix, "REPAIRS", ())) for fix in REGISTRY}


def fix_for(finding_id: str) -> str | None:
    """The registry fix that repairs this finding, or None when only a person can."""
    for fix in REGISTRY:
        if finding_id in getattr(fix, "REPAIRS", ()) or any(
                r.endswith(".*") and finding_id.startswith(r[:-1]) for r in getattr(fix, "REPAIRS", ())):
            return fix.NAME
    return None
