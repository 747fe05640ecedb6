"""2 — Accepting a record: the lock-free inbox (``inbox``), the decision for a record that does
not fit (``admission``: drop, block or spill), and the buffer that groups records into batches
(``buffer``).

Imports only leaves and ``_record``; never ``_delivery`` or ``_outcomes`` (the pipeline wires them
together).
"""
