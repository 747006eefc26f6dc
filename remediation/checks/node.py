"""Seed section 5: the front end's packages and build."""

from .base import LOW, MANUAL, MEDIUM, applies_when, finding_for

finding = finding_for("node")
HAS_PACKAGE_JSON = (lambda facts: bool(facts.node.package_json), "no package.json")


@applies_when(HAS_PACKAGE_JSON)
def modules_missing(facts):
    node = facts.node
    if not node.package_json or node.node_modules:
        return []
    folder = node.package_json.rsplit("/", 1)[0] if "/" in node.package_json else "."
    return [finding(id="node.modules_missing", severity=LOW, title="Front-end packages not installed",
                    detail=f"{node.package_json} present but no {folder}/node_modules; run npm ci",
                    fix=MANUAL, applies_from="development")]


@applies_when(HAS_PACKAGE_JSON)
def no_build_script(facts):
    node = facts.node
    if not node.package_json or "build" in node.scripts:
        return []
    return [finding(id="node.no_build_script", severity=MEDIUM, title="No build script",
                    detail=f"{node.package_json} has no 'build' script (has: {', '.join(node.scripts) or 'none'})",
                    fix=MANUAL)]


@applies_when(HAS_PACKAGE_JSON)
def build_missing(facts):
    node = facts.node
    if not node.package_json or node.build_output or "build" not in node.scripts:
        return []
    return [finding(id="node.build_missing", severity=MEDIUM, title="Front end not built",
                    detail=f"no dist/ or build/ beside {node.package_json}; run npm run build",
                    fix=MANUAL)]


CHECKS = (modules_missing, no_build_script, build_missing)
