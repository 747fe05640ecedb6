"""The lean transport: the request a boto3 client would send, built without its per-call
machinery.

A boto3 call spends most of its CPU on what our records do not need: parameter validation,
the event hooks, endpoint resolution per call, serialising already validated records, and
botocore's HTTP glue (``/work/shared/DESIGN.md``: ~983 µs per 10-event PutEvents call against
~379 µs for the same request built with ``json``, ``SigV4Auth`` and urllib3). The parts, each
botocore's where botocore owns the matter:

- ``endpoint.py``: the URL, headers and signing scope, from one dry run of the operation
  through the client (botocore's endpoint ruleset: region, FIPS, dual-stack,
  ``endpoint_url``), and what is hooked into the client that a lean request would skip;
- ``body.py``: the body, written from the records as botocore's serializer writes it;
- ``signing.py``: botocore's ``SigV4Auth`` per request, with the session's credentials;
- ``wire.py``: the client's own urllib3 pool (TLS, proxies, timeouts);
- ``answer.py``: an error answer parsed by botocore's parser, classified as the client's
  exception is.

``tests/delivery/lean/`` holds the proof that a lean request equals the client's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import botocore.handlers

from ..._record.event import Event
from ..._record.shared import GroupKey
from ...typing import Transport
from ..putevents import PutEventsTransport, send_error
from .answer import Answers
from .body import put_events_body
from .endpoint import LeanUnsupported, capture, foreign_hooks, mock_switch
from .signing import Signer
from .wire import Wire

__all__ = ["LeanTransport", "LeanUnsupported", "lean_kind", "lean_put_events"]

R = TypeVar("R")
K = TypeVar("K")

_trace_header = botocore.handlers.add_recursion_detection_header
_uuid4 = uuid.uuid4


class LeanTransport(Generic[R, K]):
    """Sends one batch in one signed request of ``operation``, as ``client`` would send it.

    Args:
        client: the boto3 client it stands in for (endpoint, credentials, HTTP session); kept
            as ``client``.
        operation: the operation's name, e.g. ``"PutEvents"``.
        body: the request body of one batch (``key``, ``records``) as botocore writes it;
            raises ``ValueError``/``TypeError`` for a record that cannot be sent.
        fallback: the boto3 transport of the same client, used for a call made while moto's
            mock is active (moto answers through the client, never over HTTP).
        sample: parameters of one call, for the dry run (see ``endpoint.capture``).
        tracking_id: the event tracker's ``trackingId`` for PutEvents (kept as
            ``tracking_id``, as the boto3 transport keeps it), else None.

    Raises:
        LeanUnsupported: something is hooked into the client that a lean request would skip
            (event handlers other than botocore's, a tracer wrapping botocore's calls), or the
            client is not the botocore this reads; the message says what.
    """

    __slots__ = (
        "_answers",
        "_body",
        "_fallback",
        "_later",
        "_signed",
        "_signer",
        "_switch",
        "_url",
        "_wire",
        "client",
        "tracking_id",
    )

    def __init__(
        self,
        client: Any,
        operation: str,
        body: Callable[[K, Sequence[R]], bytes],
        fallback: Transport[R, K],
        sample: Mapping[str, Any],
        tracking_id: str | None = None,
    ) -> None:
        hooks = foreign_hooks(client, operation)
        if hooks:
            raise LeanUnsupported(f"the client has hooks a lean request would skip: {hooks}")
        captured = capture(client, operation, sample)
        self.client = client
        self.tracking_id = tracking_id
        self._body = body
        self._fallback = fallback
        self._switch = mock_switch(client, operation)
        self._url = captured.url
        self._signed = dict(captured.signed_headers)
        self._later = dict(captured.later_headers)
        try:  # the credentials the client signs with (the session's, or the client's own)
            credentials = client._request_signer._credentials
        except AttributeError as exc:
            raise LeanUnsupported(f"cannot read the client's credentials ({exc})") from None
        self._signer = Signer(credentials, captured.signing_name, captured.region)
        self._wire = Wire(client, captured.url)
        self._answers = Answers(client, operation, captured.url)

    @property
    def http_path(self) -> str:
        """How requests go on the client's pool: ``"exchange"`` or ``"urlopen"`` (see
        ``wire.py``)."""
        return self._wire.path

    def send(self, key: K, records: Sequence[R]) -> None:
        """Make the call once for ``records``.

        Raises:
            SendError: the call failed, classified as the boto3 transport classifies the
                client's exception for the same answer (``putevents.send_error``): a record
                that cannot be written is ``invalid``; connection errors and timeouts are
                retryable; an error answer by its code and status.
        """
        switch = self._switch
        if switch is not None and switch.enabled:  # a moto mock is active: it answers
            self._fallback.send(key, records)
            return
        try:
            body = self._body(key, records)
            headers = self._signer.sign(self._url, self._signed, body)
            headers.update(self._later)
            headers["amz-sdk-invocation-id"] = str(_uuid4())
            _trace_header({"headers": headers})  # X-Amzn-Trace-Id in AWS Lambda, as botocore
            headers["Content-Length"] = str(len(body))
            status, answer_headers, data = self._wire.post(headers, body)
        except Exception as exc:
            raise send_error(exc) from exc
        if status >= 300:
            raise self._answers.error(status, answer_headers, data)


_SAMPLE_EVENTS = {
    "trackingId": "t",
    "sessionId": "s",
    "eventList": [{"eventId": "e", "eventType": "t", "sentAt": 0.0}],
}


def lean_put_events(client: Any, tracking_id: str) -> LeanTransport[Event, GroupKey]:
    """The lean PutEvents transport for ``client`` (see :class:`LeanTransport`), batches of
    one ``(userId, sessionId)``: the body of ``body.put_events_body``.

    Raises:
        LeanUnsupported: see :class:`LeanTransport`.
    """

    def body(key: GroupKey, records: Sequence[Event]) -> bytes:
        return put_events_body(tracking_id, key, records)

    fallback = PutEventsTransport(client, tracking_id)
    return LeanTransport(client, "PutEvents", body, fallback, _SAMPLE_EVENTS, tracking_id)


def lean_kind(client: Any, kind: str) -> LeanTransport[Any, str]:
    """The lean transport of a record kind other than events (``"items"``, ``"users"``,
    ``"actions"``, ``"action_interactions"``): the request its boto3 transport
    (``putdatasets.py``) would have the client send.

    Raises:
        LeanUnsupported: see :class:`LeanTransport`.
    """
    from .datasets import lean_kind_parts  # with the first pipeline of another kind

    operation, body, fallback, sample = lean_kind_parts(client, kind)
    return LeanTransport(client, operation, body, fallback, sample)
