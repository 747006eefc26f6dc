"""What the format tests share: the vendored schemas (tests/schemas/README.md says where they come
from), a demo inside a git repository with a planted missing requirement, and readers for the
JUnit and SARIF documents."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

from conftest import copy_demo, make_git_repo

SCHEMAS = Path(__file__).resolve().parent / "schemas"
MISSING_REQUIREMENT = "remediation-test-not-installed-pkg>=1.0"


@lru_cache(maxsize=1)
def junit_schema():
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMAS / "jenkins-junit.xsd"))


@lru_cache(maxsize=1)
def sarif_schema() -> dict:
    return json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())


def validate_junit(text: str) -> ET.Element:
    junit_schema().validate(text)
    return ET.fromstring(text)


def validate_sarif(text: str) -> dict:
    import jsonschema

    document = json.loads(text)
    jsonschema.validate(document, sarif_schema(), format_checker=jsonschema.FormatChecker())
    return document


def repo_demo(tmp_path: Path) -> Path:
    """The demo at repo/thebot inside a git repository (so SARIF uris start with thebot/), with a
    requirement its interpreter lacks appended to backend/requirements.txt."""
    repo = tmp_path / "repo"
    repo.mkdir()
    project = copy_demo(repo / "thebot")
    requirements = project / "backend" / "requirements.txt"
    requirements.write_text(requirements.read_text() + MISSING_REQUIREMENT + "\n")
    make_git_repo(repo)
    return project


def line_of(path: Path, start: str) -> int:
    """The 1-based number of the first line of ``path`` starting with ``start``."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(start))


def results_by_rule(document: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for result in document["runs"][0]["results"]:
        found.setdefault(result["ruleId"], []).append(result)
    return found


def physical(result: dict) -> tuple[str, int | None, str | None]:
    place = result["locations"][0]["physicalLocation"]
    return (place["artifactLocation"]["uri"], (place.get("region") or {}).get("startLine"),
            place["artifactLocation"].get("uriBaseId"))


def junit_cases(root: ET.Element) -> list[ET.Element]:
    return root.findall("./testsuite/testcase")


def outcome(case: ET.Element) -> str:
    if case.find("failure") is not None:
        return "failed"
    if case.find("skipped") is not None:
        return "skipped"
    if case.find("error") is not None:
        return "error"
    return "passed"
