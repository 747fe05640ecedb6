"""Limits of the PutEvents API, read from botocore's service model for personalize-events.

Reading them at import time keeps our validation in step with the API description that ships with
the installed botocore, instead of numbers copied by hand. The model is read with botocore's data
loader alone (~1 ms): a whole ``botocore.session.Session`` costs ~25 ms more at import, listing
every service and registering handlers we do not use here.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

import attrs
import botocore.loaders
import botocore.model
import botocore.session

__all__ = ["DATASET_LIMITS", "LIMITS", "DatasetLimits", "PutEventsLimits"]


@attrs.frozen
class PutEventsLimits:
    """The PutEvents limits this library validates against.

    Every length is in characters; every count is a number of items. Each value comes from the
    ``personalize-events`` service model (the ``min``/``max``/``pattern`` traits of the
    ``PutEvents`` input shapes).
    """

    max_events_per_call: int  #: ``eventList`` max (10)
    tracking_id_max: int  #: ``trackingId`` max length (256)
    session_id_max: int  #: ``sessionId`` max length (256)
    user_id_max: int  #: ``userId`` max length (256)
    event_id_max: int  #: ``eventId`` max length (256)
    event_type_max: int  #: ``eventType`` max length (256)
    item_id_max: int  #: ``itemId`` max length (256)
    properties_max: int  #: ``properties`` max length (1024)
    recommendation_id_max: int  #: ``recommendationId`` max length (40)
    impression_max_items: int  #: ``impression`` max ids (25)
    attribution_source_max: int  #: ``eventAttributionSource`` max length (1024)
    attribution_source_pattern: re.Pattern[str]  #: printable ASCII, not blank


def _trait(shape: Any, name: str, default: int) -> int:
    value = shape.metadata.get(name, default)
    return int(value)


_SERVICE = "personalize-events"


@functools.lru_cache(maxsize=1)  # read once for both sets of limits
def _service_model() -> botocore.model.ServiceModel:
    """The personalize-events model, as ``botocore.session.get_session()`` would load it.

    The same search path (``~/.aws/models``, ``AWS_DATA_PATH``, botocore's data; not a
    ``data_path`` set in the AWS config file, which would need the session) and the latest API
    version, without the session's listing of every installed service. Falls back to the session
    if the shortcut fails.
    """
    try:
        loader = botocore.loaders.create_loader(os.environ.get("AWS_DATA_PATH"))
        version = loader.determine_latest_version(_SERVICE, "service-2")
        data = loader.load_data(f"{_SERVICE}/{version}/service-2")
        return botocore.model.ServiceModel(data, service_name=_SERVICE)
    except Exception:  # any surprise: the slower, general way
        return botocore.session.get_session().get_service_model(_SERVICE)


def _load() -> PutEventsLimits:
    model = _service_model()
    request: Any = model.operation_model("PutEvents").input_shape
    event: Any = request.members["eventList"].member
    members = event.members
    source = members["metricAttribution"].members["eventAttributionSource"]
    pattern = source.metadata.get("pattern", r"^[\x20-\x7E]*[\x21-\x7E]+[\x20-\x7E]*$")
    return PutEventsLimits(
        max_events_per_call=_trait(request.members["eventList"], "max", 10),
        tracking_id_max=_trait(request.members["trackingId"], "max", 256),
        session_id_max=_trait(request.members["sessionId"], "max", 256),
        user_id_max=_trait(request.members["userId"], "max", 256),
        event_id_max=_trait(members["eventId"], "max", 256),
        event_type_max=_trait(members["eventType"], "max", 256),
        item_id_max=_trait(members["itemId"], "max", 256),
        properties_max=_trait(members["properties"], "max", 1024),
        recommendation_id_max=_trait(members["recommendationId"], "max", 40),
        impression_max_items=_trait(members["impression"], "max", 25),
        attribution_source_max=_trait(source, "max", 1024),
        attribution_source_pattern=re.compile(pattern),
    )


#: The limits of the installed botocore's PutEvents model.
LIMITS: PutEventsLimits = _load()


@attrs.frozen
class DatasetLimits:
    """The limits of PutItems, PutUsers, PutActions and PutActionInteractions this library
    validates against, from the same ``personalize-events`` service model (the ``min``/``max``
    traits of each operation's input shapes). Lengths in characters, counts in records.
    """

    records_per_call: int  #: ``items``/``users``/``actions``/``actionInteractions`` max (10)
    dataset_arn_max: int  #: ``datasetArn`` max length (256)
    dataset_arn_pattern: re.Pattern[str]  #: ``arn:([a-z\\d-]+):personalize:.*:.*:.+``
    item_id_max: int  #: ``Item.itemId`` max length (256)
    item_properties_max: int  #: ``Item.properties`` max length (32,000)
    user_id_max: int  #: ``User.userId`` max length (256)
    user_properties_max: int  #: ``User.properties`` max length (24,000)
    action_id_max: int  #: ``Action.actionId`` max length (256)
    action_properties_max: int  #: ``Action.properties`` max length (32,000)
    interaction_properties_max: int  #: ``ActionInteraction.properties`` max length (1,024)
    interaction_recommendation_id_max: int  #: ``ActionInteraction.recommendationId`` (40)
    interaction_impression_max_items: int  #: ``ActionInteraction.impression`` max ids (25)


def _entry(model: botocore.model.ServiceModel, operation: str, name: str) -> Any:
    shape: Any = model.operation_model(operation).input_shape
    return shape.members[name].member


def _load_datasets() -> DatasetLimits:
    model = _service_model()
    items: Any = model.operation_model("PutItems").input_shape
    arn = items.members["datasetArn"]
    item = _entry(model, "PutItems", "items").members
    user = _entry(model, "PutUsers", "users").members
    action = _entry(model, "PutActions", "actions").members
    interaction = _entry(model, "PutActionInteractions", "actionInteractions").members
    pattern = arn.metadata.get("pattern", r"arn:([a-z\d-]+):personalize:.*:.*:.+")
    return DatasetLimits(
        records_per_call=_trait(items.members["items"], "max", 10),
        dataset_arn_max=_trait(arn, "max", 256),
        dataset_arn_pattern=re.compile(pattern),
        item_id_max=_trait(item["itemId"], "max", 256),
        item_properties_max=_trait(item["properties"], "max", 32_000),
        user_id_max=_trait(user["userId"], "max", 256),
        user_properties_max=_trait(user["properties"], "max", 24_000),
        action_id_max=_trait(action["actionId"], "max", 256),
        action_properties_max=_trait(action["properties"], "max", 32_000),
        interaction_properties_max=_trait(interaction["properties"], "max", 1024),
        interaction_recommendation_id_max=_trait(interaction["recommendationId"], "max", 40),
        interaction_impression_max_items=_trait(interaction["impression"], "max", 25),
    )


#: The limits of the installed botocore's PutItems, PutUsers, PutActions and
#: PutActionInteractions models.
DATASET_LIMITS: DatasetLimits = _load_datasets()
