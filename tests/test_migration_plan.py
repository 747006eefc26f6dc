"""database.migrations_broken also covers a plan that cannot be built in memory: a migration that
uses a model its dependencies do not provide, a dependency that does not exist. Checked by a real
audit of demo copies (no database needed), and by the pure check on facts."""

from __future__ import annotations

import json

from conftest import invoke, tree_digest
from factories import make_facts

from remediation.checks.database import migrations_broken

NOTE = (
    "from django.db import migrations, models\n\n\n"
    "class Migration(migrations.Migration):\n"
    "    dependencies = [('materials', '0001_initial')]\n"
    "    operations = [migrations.CreateModel(name='Note', fields=[('id', models.BigAutoField(primary_key=True))])]\n"
)
INVOICE_NOTE = (
    "import django.db.models.deletion\nfrom django.db import migrations, models\n\n\n"
    "class Migration(migrations.Migration):\n"
    "    dependencies = [('invoices', '0005_fix_enrollment_reference'){extra}]\n"
    "    operations = [migrations.AddField(model_name='invoice', name='note', field=models.ForeignKey(\n"
    "        null=True, on_delete=django.db.models.deletion.SET_NULL, to='materials.note'))]\n"
)


def audit(project):
    run = invoke("audit", "--project", str(project), "--format", "json")
    assert run.returncode == 1, run.stderr
    return {f["id"]: f for f in json.loads(run.stdout)["hosts"][0]["findings"]}


def test_a_model_its_dependencies_do_not_provide(demo):
    migrations = demo / "backend"
    (migrations / "materials" / "migrations" / "0002_note.py").write_text(NOTE)
    (migrations / "invoices" / "migrations" / "0006_invoice_note.py").write_text(INVOICE_NOTE.format(extra=""))
    before = tree_digest(demo)
    found = audit(demo)
    assert found["database.migrations_broken"]["detail"] == (
        "invoices.0006_invoice_note uses materials.note, which its dependencies do not provide (created by "
        "materials.0002_note); add ('materials', '0002_note') to its dependencies "
        "(invoices/migrations/0006_invoice_note.py)")
    assert tree_digest(demo) == before
    # The repair the finding names makes it go away.
    (migrations / "invoices" / "migrations" / "0006_invoice_note.py").write_text(
        INVOICE_NOTE.format(extra=", ('materials', '0002_note')"))
    assert "database.migrations_broken" not in audit(demo)


def test_a_dependency_that_does_not_exist_names_the_migration_file(demo):
    (demo / "backend" / "invoices" / "migrations" / "0006_orphan.py").write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        "    dependencies = [('invoices', '0005_fix_enrollment_reference'), ('accounts', '0009_gone')]\n"
        "    operations = []\n")
    found = audit(demo)
    assert found["database.migrations_broken"]["detail"] == (
        "NodeNotFoundError: Migration invoices.0006_orphan dependencies reference nonexistent parent node "
        "('accounts', '0009_gone') at invoices/migrations/0006_orphan.py")


PROBLEM = {"migration": "shop.0007_price", "type": "PlanError",
           "message": "shop.0007_price uses catalog.currency, which no migration creates",
           "where": "shop/migrations/0007_price.py", "fix": None}


def test_check_reports_each_plan_problem():
    other = {"migration": "bot.0002_x", "type": "KeyError", "message": "'x'", "where": None, "fix": None}
    facts = make_facts(probe={"migrations": {"apps": {}, "plan": [], "error": None, "conflicts": {}, "model_changes": {},
                                             "plan_check": {"problems": [PROBLEM, other], "checked": 2, "total": 2}}})
    [finding] = migrations_broken(facts)
    assert (finding.id, str(finding.severity), finding.fix) == ("database.migrations_broken", "high", "manual")
    assert finding.detail == ("shop.0007_price uses catalog.currency, which no migration creates "
                              "(shop/migrations/0007_price.py); bot.0002_x: KeyError: 'x'")


def test_check_is_silent_when_the_plan_builds():
    facts = make_facts(probe={"migrations": {"apps": {}, "plan": [], "error": None, "conflicts": {}, "model_changes": {},
                                             "plan_check": {"problems": [], "checked": 3, "total": 3}}})
    assert migrations_broken(facts) == []
