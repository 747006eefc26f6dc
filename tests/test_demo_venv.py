"""The demo venv is what the quick start installs: the demo extra, psycopg2 and no psycopg 3."""

import json
import subprocess


def test_demo_python_has_exactly_the_demo_extra(demo_python):
    script = (
        "import importlib.metadata as m, importlib.util as u, json;"
        "print(json.dumps({'dists': sorted(d.metadata['Name'].lower() for d in m.distributions()),"
        " 'psycopg': u.find_spec('psycopg') is not None, 'psycopg2': u.find_spec('psycopg2') is not None}))"
    )
    done = subprocess.run([demo_python, "-c", script], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found["psycopg2"] is True and found["psycopg"] is False
    assert "psycopg2-binary" in found["dists"] and "psycopg" not in found["dists"]
    for name in ("django-remediation", "django", "djangorestframework", "celery", "channels", "daphne"):
        assert name in found["dists"]
    assert "pytest" not in found["dists"]  # the test extra is not there
