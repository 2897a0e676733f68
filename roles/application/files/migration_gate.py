# Run by `manage.py shell -c` in the release about to be migrated
# (tasks/migration-gate.yml): prints, as JSON, the pending migrations'
# operations that break the release still serving during a rolling deploy
# (old and new code share one database until every host has switched), and
# those to review by hand. Exit status 3 when any operation is unsafe.
# Tables created by the same pending migrations are free: no running
# release uses them. APP_MIGRATION_GATE_LARGE_ROWS: from how many rows an
# index built without CONCURRENTLY counts as unsafe (writes wait for it).
import json
import os
import sys

from django.db import connection
from django.db.migrations import operations
from django.db.migrations.executor import MigrationExecutor
from django.db.models import NOT_PROVIDED

UNSAFE = {
    operations.RemoveField: "drops a column the running release still reads and writes",
    operations.DeleteModel: "drops a table the running release still uses",
    operations.RenameField: "renames a column the running release still uses by its old name",
    operations.RenameModel: "renames a table the running release still uses by its old name",
    operations.AlterModelTable: "moves a table the running release still uses by its old name",
}
REVIEW = {
    operations.RunSQL: "runs SQL: check by hand that the running release copes",
    operations.RunPython: "runs Python: check by hand that the running release copes",
    # The contract step of a drop: the model lost the field a release ago.
    operations.SeparateDatabaseAndState: "changes the database apart from the models: check that no running release uses it",
}

LARGE_ROWS = int(os.environ.get("APP_MIGRATION_GATE_LARGE_ROWS", "100000"))
INDEXING = (operations.AddIndex, operations.AddConstraint, operations.AlterUniqueTogether)


def table_rows(state, app_label, model_name):
    """PostgreSQL's estimate of a table's rows (0 when it does not exist)."""
    model = state.models.get((app_label, model_name))
    table = (model.options.get("db_table") if model else None) or f"{app_label}_{model_name}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE((SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)), 0)", [table])
        return max(cursor.fetchone()[0], 0)


def column(field, name):
    return field.db_column or name


executor = MigrationExecutor(connection)
plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
# The schema as the running release knows it, advanced operation by operation.
state = executor.loader.project_state(tuple(executor.loader.applied_migrations), at_end=True)
found = {"unsafe": [], "review": []}
created = set()
for migration, backwards in plan:
    where = f"{migration.app_label}.{migration.name}"
    if backwards:
        found["unsafe"].append(f"{where}: unapplies a migration")
        continue
    for operation in migration.operations:
        what = f"{where}: {operation.describe()}"
        model_name = getattr(operation, "model_name_lower", None) or getattr(operation, "name_lower", None)
        if isinstance(operation, operations.CreateModel):
            created.add((migration.app_label, operation.name_lower))
        elif isinstance(operation, operations.RenameModel) and (migration.app_label, operation.old_name_lower) in created:
            created.add((migration.app_label, operation.new_name_lower))
        if (migration.app_label, model_name) in created:
            operation.state_forwards(migration.app_label, state)
            continue
        reason = next((why for kind, why in UNSAFE.items() if isinstance(operation, kind)), None)
        field = getattr(operation, "field", None)
        model = state.models.get((migration.app_label, model_name)) if model_name else None
        old = model.fields.get(operation.name) if model and isinstance(operation, operations.AlterField) else None
        if isinstance(operation, operations.AddField) and not (
                field.null or field.many_to_many or getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED):
            reason = "adds a NOT NULL column without a database default (db_default): the running release's inserts fail"
        elif old is not None and column(old, operation.name) != column(field, operation.name):
            reason = (f"renames column {column(old, operation.name)} to {column(field, operation.name)}: "
                      "the running release still uses the old name")
        elif old is not None and old.null and not field.null:
            reason = "makes a column NOT NULL that the running release may leave empty"
        # AddIndexConcurrently and AddConstraintNotValid (contrib.postgres) hold no long lock.
        concurrent = type(operation).__name__.endswith(("Concurrently", "NotValid"))
        if not reason and not concurrent and (isinstance(operation, INDEXING) or (
                isinstance(operation, (operations.AddField, operations.AlterField))
                and (field.db_index or field.unique) and not (old is not None and (old.db_index or old.unique)))):
            rows = table_rows(state, migration.app_label, model_name)
            if rows >= LARGE_ROWS:
                reason = (f"locks a table of about {rows} rows while it builds an index or checks a constraint: "
                          "its writes wait (AddIndexConcurrently in a migration with atomic = False, "
                          "AddConstraintNotValid then ValidateConstraint)")
        if reason:
            found["unsafe"].append(f"{what}: {reason}")
        else:
            review = next((why for kind, why in REVIEW.items() if isinstance(operation, kind)), None)
            if review:
                found["review"].append(f"{what}: {review}")
        operation.state_forwards(migration.app_label, state)
print(json.dumps(found))
sys.exit(3 if found["unsafe"] else 0)
