"""4 — Settling: the ledger (``ledger``: counts, ``stats()``, the invariant tracked = delivered +
failed + dropped + pending), what is on the wire and who waits for it (``wire``), reporting
(``report``: dead letters, ``on_failure``, rate-limited logs), and the spool on disk (``spool``,
kept by ``keeper``).

Imports only leaves and ``_record``; never ``_intake`` or ``_delivery`` (the pipeline wires them
together).
"""
