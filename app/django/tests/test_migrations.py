"""The migration linter app/run-tests runs (lintmigrations) reads the SQL
PostgreSQL would run: it refuses changes that break the release still
serving during a rolling deploy, and lets the expand step through."""

import pytest
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django_migration_linter.sql_analyser.analyser import (
    analyse_sql_statements,
    get_sql_analyser_class_from_db_vendor,
)

pytestmark = pytest.mark.django_db


def linter_errors(operation):
    """The linter's errors on the SQL of one operation on crm's current schema."""
    before = MigrationLoader(connection).project_state()
    after = before.clone()
    operation.state_forwards("crm", after)
    with connection.schema_editor(collect_sql=True) as editor:
        operation.database_forwards("crm", editor, before, after)
    analyser = get_sql_analyser_class_from_db_vendor(connection.vendor)
    errors, _ignored, _warnings = analyse_sql_statements(analyser, editor.collected_sql)
    return [error.code for error in errors]


@pytest.mark.parametrize("operation", [
    migrations.RenameField("client", "notes", "remarks"),
    migrations.AlterField("client", "notes", models.TextField(blank=True, db_column="remarks")),
    migrations.RemoveField("client", "notes"),
    migrations.AddField("client", "tier", models.IntegerField(default=1)),
], ids=["rename", "db-column", "drop", "not-null-without-db-default"])
def test_linter_refuses_what_breaks_the_serving_release(operation):
    assert connection.vendor == "postgresql"
    assert linter_errors(operation)


@pytest.mark.parametrize("operation", [
    migrations.AddField("client", "nickname", models.CharField(max_length=20, null=True)),
    migrations.AddField("client", "tier", models.IntegerField(db_default=1)),
], ids=["nullable", "db-default"])
def test_linter_lets_the_expand_step_through(operation):
    assert linter_errors(operation) == []
