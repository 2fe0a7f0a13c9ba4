"""`save()` for the rows written on every widget message, without the ORM's SQL compiler.

Compiling an INSERT or UPDATE costs several times what the database takes to run it, and the
answer path is bound by that Python time (`make bench-answer`). The SQL is built once per model
and field list; values go through each field's own `pre_save` and `get_db_prep_save`, as in
`Model.save()`. No signals are sent: the models written here have no receivers.
"""

from functools import cache

from django.db import connection
from django.db.models import Model


@cache
def _insert_sql(model: type[Model]) -> tuple[str, tuple]:
    fields = tuple(field for field in model._meta.concrete_fields if not field.primary_key)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    pk = connection.ops.quote_name(model._meta.pk.column)
    table = connection.ops.quote_name(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {pk}", fields


@cache
def _update_sql(model: type[Model], names: tuple[str, ...]) -> tuple[str, tuple]:
    fields = tuple(model._meta.get_field(name) for name in names)
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in fields)
    pk = connection.ops.quote_name(model._meta.pk.column)
    table = connection.ops.quote_name(model._meta.db_table)
    return f"UPDATE {table} SET {assignments} WHERE {pk} = %s AND tenant_id = %s", fields


def insert_row(instance: Model) -> Model:
    """Store a new tenant-owned `instance` (defaults and `auto_now_add` applied) and set its primary key."""
    sql, fields = _insert_sql(type(instance))
    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding, instance._state.db = False, connection.alias
    return instance


def update_row(instance: Model, fields: list[str]) -> None:
    """`instance.save(update_fields=fields)` for a stored tenant-owned row (`auto_now` fields are refreshed)."""
    sql, model_fields = _update_sql(type(instance), tuple(fields))
    values = [field.get_db_prep_save(field.pre_save(instance, False), connection) for field in model_fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, instance.pk, instance.tenant_id])
