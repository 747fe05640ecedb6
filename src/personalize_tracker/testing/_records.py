"""Immutable records of what the fake Personalize endpoints received."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = [
    "RecordedAction",
    "RecordedActionInteraction",
    "RecordedEvent",
    "RecordedItem",
    "RecordedRequest",
    "RecordedUser",
]


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


@attrs.frozen(slots=True)
class RecordedItem:
    """One item of an accepted PutItems call, as the service received it.

    Attributes:
        dataset_arn: the call's ``datasetArn`` (the Items dataset).
        item_id: ``itemId`` (1-256 characters).
        properties: ``properties``, the JSON object string exactly as received (at most
            32,000 characters), or ``None``.
    """

    dataset_arn: str
    item_id: str
    properties: str | None = None

    @classmethod
    def from_wire(cls, call: dict[str, Any], item: dict[str, Any]) -> RecordedItem:
        """Build a record from a validated PutItems body and one member of its ``items``.

        Raises:
            KeyError: if the input was not validated first.
        """
        return cls(call["datasetArn"], item["itemId"], item.get("properties"))


@attrs.frozen(slots=True)
class RecordedUser:
    """One user of an accepted PutUsers call, as the service received it.

    Attributes:
        dataset_arn: the call's ``datasetArn`` (the Users dataset).
        user_id: ``userId`` (1-256 characters).
        properties: ``properties``, the JSON object string exactly as received (at most
            24,000 characters), or ``None``.
    """

    dataset_arn: str
    user_id: str
    properties: str | None = None

    @classmethod
    def from_wire(cls, call: dict[str, Any], user: dict[str, Any]) -> RecordedUser:
        """Build a record from a validated PutUsers body and one member of its ``users``.

        Raises:
            KeyError: if the input was not validated first.
        """
        return cls(call["datasetArn"], user["userId"], user.get("properties"))


@attrs.frozen(slots=True)
class RecordedAction:
    """One action of an accepted PutActions call, as the service received it.

    Attributes:
        dataset_arn: the call's ``datasetArn`` (the Actions dataset).
        action_id: ``actionId`` (1-256 characters).
        properties: ``properties``, the JSON object string exactly as received (at most
            32,000 characters), or ``None``.
    """

    dataset_arn: str
    action_id: str
    properties: str | None = None

    @classmethod
    def from_wire(cls, call: dict[str, Any], action: dict[str, Any]) -> RecordedAction:
        """Build a record from a validated PutActions body and one member of its ``actions``.

        Raises:
            KeyError: if the input was not validated first.
        """
        return cls(call["datasetArn"], action["actionId"], action.get("properties"))


@attrs.frozen(slots=True)
class RecordedActionInteraction:
    """One action interaction of an accepted PutActionInteractions call, as received.

    Unlike PutEvents, each action interaction carries its own session (and user).

    Attributes:
        tracking_id: the call's ``trackingId``.
        action_id: ``actionId``.
        session_id: ``sessionId`` (of this interaction, not of the call).
        event_type: ``eventType``: ``"Viewed"``, ``"Taken"`` or ``"Not Taken"``.
        timestamp: ``timestamp`` as received, in epoch seconds (float, fractions kept).
        user_id: ``userId`` or ``None``.
        event_id: ``eventId`` or ``None``.
        recommendation_id: ``recommendationId`` (at most 40 characters) or ``None``.
        impression: ``impression`` action ids as a tuple (1-25), or ``None``.
        properties: ``properties``, the JSON object string exactly as received (at most
            1,024 characters), or ``None``.
    """

    tracking_id: str
    action_id: str
    session_id: str
    event_type: str
    timestamp: float
    user_id: str | None = None
    event_id: str | None = None
    recommendation_id: str | None = None
    impression: tuple[str, ...] | None = None
    properties: str | None = None

    @classmethod
    def from_wire(
        cls, call: dict[str, Any], interaction: dict[str, Any]
    ) -> RecordedActionInteraction:
        """Build a record from a validated PutActionInteractions body and one member of its
        ``actionInteractions``.

        Raises:
            KeyError, TypeError, ValueError: if the input was not validated first.
        """
        impression = interaction.get("impression")
        return cls(
            tracking_id=call["trackingId"],
            action_id=interaction["actionId"],
            session_id=interaction["sessionId"],
            event_type=interaction["eventType"],
            timestamp=float(interaction["timestamp"]),
            user_id=interaction.get("userId"),
            event_id=interaction.get("eventId"),
            recommendation_id=interaction.get("recommendationId"),
            impression=None if impression is None else tuple(impression),
            properties=interaction.get("properties"),
        )
