"""SQL pieces the reports need that Django has no portable form of."""

from __future__ import annotations

from django.db.models import Func, IntegerField


class Millis(Func):
    """`end - start` in whole milliseconds, as an integer (NULL if either is).

    Both ends are rounded to whole milliseconds first (SQLite's date functions
    keep milliseconds), so SQLite and PostgreSQL give the same number.
    """

    arity = 2
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        template = "CAST(ROUND((julianday(%(end)s) - julianday(%(start)s)) * 86400000.0) AS INTEGER)"
        return self._render(compiler, connection, template)

    def as_postgresql(self, compiler, connection, **extra_context):
        template = (
            "CAST(ROUND(EXTRACT(EPOCH FROM %(end)s) * 1000) - ROUND(EXTRACT(EPOCH FROM %(start)s) * 1000)"
            " AS BIGINT)"
        )
        return self._render(compiler, connection, template)

    def as_sql(self, compiler, connection, **extra_context):  # pragma: no cover - other backends
        raise NotImplementedError(f"reports support SQLite and PostgreSQL, not {connection.vendor}")

    def _render(self, compiler, connection, template):
        end, start = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return template % {"end": end_sql, "start": start_sql}, (*end_params, *start_params)


class UtcHour(Func):
    """The hour of day (0 to 23, UTC) of a stored datetime, as an integer.

    Django's ExtractHour calls a Python function per row on SQLite; this is SQL on both.
    """

    arity = 1
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"CAST(strftime('%%H', {sql}) AS INTEGER)", params

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"CAST(EXTRACT(HOUR FROM {sql} AT TIME ZONE 'UTC') AS INTEGER)", params

    def as_sql(self, compiler, connection, **extra_context):  # pragma: no cover - other backends
        raise NotImplementedError(f"reports support SQLite and PostgreSQL, not {connection.vendor}")


class MessageCount(Func):
    """How many messages of one sender a conversation has (its id given): a
    count on the index (conversation, sender, status), no row read."""

    output_field = IntegerField()

    def __init__(self, conversation_id, *, sender: str):
        super().__init__(conversation_id)
        self.sender = sender

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        table = connection.ops.quote_name("chat_message")
        return (
            f"(SELECT COUNT(*) FROM {table} WHERE {table}.conversation_id = {sql} AND {table}.sender = %s)",
            (*params, self.sender),
        )
