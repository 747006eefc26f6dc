"""Seed section 4: the project's requirements against what its interpreter has installed."""

from .base import HIGH, LOW, MANUAL, MEDIUM, applies_when, finding_for

finding = finding_for("python")
HAS_REQUIREMENTS = (lambda facts: bool(facts.requirement_files), "no requirements file")


def no_requirements(facts):
    if facts.requirement_files:
        return []
    return [finding(id="python.no_requirements", severity=LOW, title="No requirements file",
                    detail="no requirements.txt at the project root or beside manage.py; installs are not reproducible",
                    fix=MANUAL, applies_from="staging")]


@applies_when(HAS_REQUIREMENTS)
def missing_packages(facts):
    missing = [r["name"] for r in facts.requirements if r["installed"] is None]
    if not missing:
        return []
    return [finding(id="python.missing", severity=HIGH, title="Required packages not installed",
                    detail=f"not installed in {facts.python}: {', '.join(missing)}",
                    fix=MANUAL, applies_from="development")]


@applies_when(HAS_REQUIREMENTS)
def version_mismatch(facts):
    wrong = [f"{r['name']} {r['installed']} (wants {r['specifier']})" for r in facts.requirements
             if r["installed"] is not None and not r["satisfied"]]
    if not wrong:
        return []
    return [finding(id="python.version_mismatch", severity=MEDIUM, title="Installed versions do not match requirements",
                    detail="; ".join(wrong), fix=MANUAL, applies_from="development")]


CHECKS = (no_requirements, missing_packages, version_mismatch)
