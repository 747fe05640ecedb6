"""3 — Sending: the sender pool (``pool``: threads, adaptive concurrency), one batch's send
(``send``: the call, retries, the poison split), the retry policy (``retry``), the request-rate
limit (``ratelimit``), and the PutEvents transport with the boto3 client (``putevents``) behind
the :class:`~personalize_tracker.typing.Transport` protocol.

Imports only leaves and ``_record``; never ``_intake`` or ``_outcomes`` (the pipeline wires them
together).
"""
