"""Immutable records of what the fake Personalize endpoints received."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["RecordedEvent", "RecordedRequest"]


@attrs.frozen(slots=True)
class RecordedRequest:
    """One call received by the fake, accepted or not.

    Attributes:
        operation: API operation name, e.g. ``"PutEvents"`` or ``"GetRecommendations"``.
        params: the decoded JSON request body with the API's camelCase names (``{}`` when the
            body was not a JSON object). Treat it as read-only.
        status: HTTP status code answered (200 on success).
        error_code: the error code answered (``x-amzn-ErrorType``), or ``None`` on success.
        region: AWS region the call was addressed to (from the host name in process, from the
            SigV4 credential scope in server mode; ``"us-east-1"`` if neither says).
        service: ``"personalize-events"`` or ``"personalize-runtime"``.
        error_message: the error message answered, or ``None`` on success.
        request_id: the ``x-amzn-RequestId`` answered.
        response: the decoded JSON body answered on success (``{}`` for the Put* calls), or
            ``None`` for an error. Treat it as read-only.
    """

    operation: str
    params: dict[str, Any]
    status: int
    error_code: str | None
    region: str
    service: str
    error_message: str | None = None
    request_id: str = ""
    response: dict[str, Any] | None = None

    @property
    def accepted(self) -> bool:
        """``True`` when the call was answered with HTTP 200."""
        return self.status == 200


@attrs.frozen(slots=True)
class RecordedEvent:
    """One interaction event of an accepted PutEvents call, as the service received it.

    Attributes:
        tracking_id: the call's ``trackingId``.
        session_id: the call's ``sessionId``.
        user_id: the call's ``userId``, or ``None`` for an anonymous session.
        event_type: ``eventType``.
        sent_at: ``sentAt`` as received, in epoch seconds (float; a fraction such as
            ``1714564800.123`` is kept when the client sends milliseconds).
        event_id: ``eventId`` or ``None``.
        item_id: ``itemId`` or ``None``.
        event_value: ``eventValue`` as a float, or ``None``.
        properties: ``properties``, the JSON object string exactly as received, or ``None``.
        recommendation_id: ``recommendationId`` or ``None``.
        impression: ``impression`` item ids as a tuple, or ``None``.
        metric_attribution_source: ``metricAttribution.eventAttributionSource`` or ``None``.
    """

    tracking_id: str
    session_id: str
    user_id: str | None
    event_type: str
    sent_at: float
    event_id: str | None = None
    item_id: str | None = None
    event_value: float | None = None
    properties: str | None = None
    recommendation_id: str | None = None
    impression: tuple[str, ...] | None = None
    metric_attribution_source: str | None = None

    @classmethod
    def from_wire(cls, call: dict[str, Any], event: dict[str, Any]) -> RecordedEvent:
        """Build a record from a validated PutEvents body and one member of its ``eventList``.

        Args:
            call: the decoded PutEvents request body.
            event: one decoded element of ``call["eventList"]``.

        Returns:
            The record.

        Raises:
            KeyError, TypeError, ValueError: if the input was not validated first.
        """
        value = event.get("eventValue")
        impression = event.get("impression")
        attribution = event.get("metricAttribution")
        return cls(
            tracking_id=call["trackingId"],
            session_id=call["sessionId"],
            user_id=call.get("userId"),
            event_type=event["eventType"],
            sent_at=float(event["sentAt"]),
            event_id=event.get("eventId"),
            item_id=event.get("itemId"),
            event_value=None if value is None else float(value),
            properties=event.get("properties"),
            recommendation_id=event.get("recommendationId"),
            impression=None if impression is None else tuple(impression),
            metric_attribution_source=(
                None if attribution is None else attribution.get("eventAttributionSource")
            ),
        )
