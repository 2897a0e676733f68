# Run by `manage.py shell -c` in the release about to be migrated
# (tasks/migration-gate.yml): prints, as JSON, the pending migrations'
# operations that break the release still serving during a rolling deploy
# (old and new code share one database until every host has switched), and
# those to review by hand. Exit status 3 when any operation is unsafe.
import json
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

executor = MigrationExecutor(connection)
plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
# The schema as the running release knows it, advanced operation by operation.
state = executor.loader.project_state(tuple(executor.loader.applied_migrations), at_end=True)
found = {"unsafe": [], "review": []}
for migration, backwards in plan:
    where = f"{migration.app_label}.{migration.name}"
    if backwards:
        found["unsafe"].append(f"{where}: unapplies a migration")
        continue
    for operation in migration.operations:
        what = f"{where}: {operation.describe()}"
        reason = next((why for kind, why in UNSAFE.items() if isinstance(operation, kind)), None)
        field = getattr(operation, "field", None)
        if isinstance(operation, operations.AddField) and not (
                field.null or field.many_to_many or getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED):
            reason = "adds a NOT NULL column without a database default (db_default): the running release's inserts fail"
        elif isinstance(operation, operations.AlterField):
            model = state.models.get((migration.app_label, operation.model_name_lower))
            old = model.fields.get(operation.name) if model else None
            if old is not None and old.null and not field.null:
                reason = "makes a column NOT NULL that the running release may leave empty"
        if reason:
            found["unsafe"].append(f"{what}: {reason}")
        else:
            review = next((why for kind, why in REVIEW.items() if isinstance(operation, kind)), None)
            if review:
                found["review"].append(f"{what}: {review}")
        operation.state_forwards(migration.app_label, state)
print(json.dumps(found))
sys.exit(3 if found["unsafe"] else 0)
