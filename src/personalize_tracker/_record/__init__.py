"""1 — What a record is: the :class:`Event`, its field checks, contextual metadata in camelCase,
event ids, the composition of an event from a session's context and a schema, and the shared id
strings that keep queued events small.

Imports only leaves (``_errors``, ``_limits``, ``_failure``, ``typing``).
"""
