"""One registry says which findings each fix repairs; every check agrees with it.

The checks' ``fix=`` values are read from their source (every ``finding(id=..., fix=...)`` call),
so a finding that no demo produces is held to the rule too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

from remediation.findings import MANUAL
from remediation.fixes import ACTION_FIXES, BY_NAME, ENV_FIXES, REGISTRY, SETTINGS_FIXES, fix_for, repairs

CHECKS = REPO / "remediation" / "checks"


def declared_findings() -> list[tuple[str, str, str]]:
    """(finding id, fix, file:line) for every finding a check module constructs with literals."""
    found = []
    for path in sorted(CHECKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            if "id" not in keywords or "fix" not in keywords:
                continue
            fix = keywords["fix"]
            fix_value = MANUAL if isinstance(fix, ast.Name) and fix.id == "MANUAL" else getattr(fix, "value", None)
            id_value = getattr(keywords["id"], "value", None)
            found.append((id_value, fix_value, f"{path.name}:{node.lineno}"))
    return found


def test_checks_are_found():
    found = {(i, fix) for i, fix, _ in declared_findings()}
    assert {("env.secret_key", "secret_key"), ("database.migrations_unapplied", "migrate"),
            ("django.static_root", MANUAL), ("git.unpushed", "git_push")} <= found
    assert len(found) > 40


def test_every_fix_a_check_names_exists_or_is_manual():
    wrong = [(i, fix, where) for i, fix, where in declared_findings() if fix != MANUAL and fix not in BY_NAME]
    assert wrong == []


def test_a_check_names_the_fix_the_registry_says_repairs_it():
    """Where the id is a literal: the registry's fix for it is the check's (``manual``: none claims it)."""
    wrong = []
    for finding_id, fix, where in declared_findings():
        if not isinstance(finding_id, str) or "{" in finding_id:
            continue
        claimed = fix_for(finding_id)
        if (claimed or MANUAL) != fix:
            wrong.append((finding_id, fix, claimed, where))
    assert wrong == []


def test_every_repaired_id_is_one_a_check_reports_with_that_fix():
    declared = {(i, fix) for i, fix, _ in declared_findings() if isinstance(i, str)}
    dynamic = {fix for i, fix, _ in declared_findings() if not isinstance(i, str)}  # ids built at run time
    missing = [(name, finding_id) for name, ids in repairs().items() for finding_id in ids
               if (finding_id, name) not in declared and name not in dynamic]
    assert missing == []


def test_the_registry_is_ordered_and_unique():
    names = [fix.NAME for fix in REGISTRY]
    assert len(names) == len(set(names))
    assert names == ["secret_key", "env_file", "redis", "external", "database", "settings_env", "security_flags",
                     "migrate", "copy_data", "collectstatic", "git_push"]
    assert set(REGISTRY) == set(ENV_FIXES) | set(SETTINGS_FIXES) | set(ACTION_FIXES) | {BY_NAME["settings_env"]}
    claimed = [i for ids in repairs().values() for i in ids]
    assert len(claimed) == len(set(claimed)), "a finding is repaired by one fix only"


def test_fix_prod_reports_every_registered_fix_in_order(tmp_path):
    """The JSON of a run lists the fixes in the registry's order, each with what it repairs."""
    from remediation.fixprod.applying import results
    from remediation.fixprod.planning import ordered
    from remediation.fixes.base import OK, Outcome

    outcomes = ordered({fix.NAME: Outcome(OK) for fix in reversed(REGISTRY)})
    listed = results(outcomes, repairs())
    assert [r.name for r in listed] == [fix.NAME for fix in REGISTRY]
    assert dict((r.name, r.repairs) for r in listed) == repairs()
    assert Path(CHECKS).is_dir()
