"""``invoke deploy --setup``: the host's surroundings for the release that is live now, and no new
release: no upload, no venv, no migration, no switch.

Per host, under the deploy lock: read the production env and the current release's facts (as a
rollback does), run the edge gate, install the service files (when one changed, the services
restart the way a deploy restarts them, for the current release; unchanged, nothing restarts), then
install the nginx site (nginx -t, reload; a first Let's Encrypt certificate when certbot is there),
check certbot's renewal, and run the health checks. A host with nothing deployed yet is told so in
one line: the site and the services are made from a release's settings.
"""

from __future__ import annotations

import posixpath

from ..changes import ChangeFailed
from ..lock import holder_info
from . import edge_host, phases, records, revert, services, serving, verify_step
from .hostrun import CHANGED, FAILED, OK, UNREACHABLE, HostDeploy
from .options import DeployOptions


class Context:
    """What check_health and the service spec read from a deploy (no bundle, no commit)."""

    def __init__(self, dep):
        self.options: DeployOptions = dep.options
        self.beat_host = dep.beat_host
        self.manage_rel = ""


def setup_host(run: HostDeploy, dep) -> None:
    ctx = Context(dep)
    run.step("env", lambda: phases.read_env(run))
    rid = records.history(run.transport, run.layout).current
    if rid is None:
        run.step("current", _nothing_deployed)
    run.previous = rid
    run.facts = run.step("read release", lambda: revert.release_facts(run, rid))
    release_dir = run.layout.release(rid)
    ctx.manage_rel = posixpath.relpath(str(run.facts.manage_dir), release_dir)
    if edge_host.wanted(run):
        run.step("edge gate", lambda: edge_host.gate(run, release_dir))
    spec = serving.spec_for(run.config, run.facts, ctx.manage_rel, beat=run.name == dep.beat_host)
    run.step("services", lambda: install_services(run, spec, release_dir))
    if edge_host.wanted(run):
        edge_host.steps(run, release_dir)
    else:
        run.skip("edge", "no nginx_site host var: no nginx site")
    run.step("health", lambda: phases.check_health(run, ctx, rid))
    verify_step.step(run)  # what a browser receives (never fatal)
    run.status = CHANGED


def _nothing_deployed():
    raise ChangeFailed("nothing is deployed here yet: run invoke deploy first (--setup works on the live release)")


def install_services(run: HostDeploy, spec, release_dir: str) -> str:
    try:
        changed = services.install(run.transport, spec)
    except (services.ServiceError, services.ServiceSpecError) as exc:
        raise ChangeFailed(str(exc)) from None
    if not changed:
        return "service files unchanged; nothing restarted"
    return serving.install_and_restart(run.transport, spec, release_dir)


def run_setup(dep) -> int:
    """Deployment.run for --setup: connect, lock, set up every host at once, unlock."""
    from ..fleet import transport_for
    from .run import in_parallel

    with dep.display:
        dep.display.line("setup: the nginx site and service files for the release live on each host; no new release")
        in_parallel(dep.runs, lambda r: phases.connect(r, transport_for(r.host, dep.ssh)))
        in_parallel(dep.alive(), lambda r: phases.lock(r, holder_info("deploy --setup")))
        if any(r.lock_refused for r in dep.runs):
            dep.outcome = "another deploy holds the lock: nothing was done"
        else:
            in_parallel(dep.alive(), lambda r: setup_host(r, dep))
            bad = [r.name for r in dep.runs if r.status in (FAILED, UNREACHABLE)]
            dep.outcome = (f"setup failed on {', '.join(bad)}" if bad else
                           "setup: the nginx site and service files are in place; the live release is healthy")
        for run in dep.runs:
            phases.unlock(run)
            if run.transport is not None:
                run.transport.close()
    return 0 if all(r.status in (OK, CHANGED) for r in dep.runs) else 1

