"""The world the fault tests deploy into (tests/test_deploy_faults.py, tests/test_deploy_kill.py),
shared by both modules: loaded with ``pytest_plugins``, so its session-scoped fixture is made once
(building the venv and the first deploy cost a minute) and both modules run on one xdist worker
(``xdist_group("deploy-faults")``). Nothing imports it but ``pytest_plugins`` (pytest rewrites its
asserts). web1 is deployed and stays live; web2 never gets a release (its env file is the fault of
the preflight cases).
"""

from __future__ import annotations

import time

import pytest
from deploy_checks import scratch_databases
from deploy_world import cleanup_tree, drop_role, make_world, world_root


@pytest.fixture(scope="session")
def faults_world(demo_python):
    import demo_venv
    import psycopg

    name = f"deploy_faults_{int(time.time() * 1000) % 10**9}"
    admin = psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    made = make_world(world_root("faults"), name, str(demo_venv.wheel_cache()))
    made.add_host("web1")
    made.add_host("web2")
    try:
        yield made
    finally:
        made.close()
        for database in [name, *scratch_databases(name)]:  # and what killed deploys left
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        drop_role(made.role)
        admin.close()
        cleanup_tree(made.root)
