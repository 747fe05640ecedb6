"""The Amazon Personalize resources the fake knows: dataset groups, datasets, event trackers,
solutions, campaigns and recommenders, and the control-plane calls that create and describe them.

moto's ``personalize`` has only the schema calls; these add, under the same service
(``AmazonPersonalize.<Operation>`` at ``POST /``): CreateDatasetGroup, DescribeDatasetGroup,
ListDatasetGroups, CreateDataset, DescribeDataset, CreateEventTracker, DescribeEventTracker,
CreateSolution, DescribeSolution, ListSolutions, CreateCampaign, DescribeCampaign,
CreateRecommender, DescribeRecommender and ListRecommenders. A resource is ``ACTIVE`` at once
(no test waits for training); :meth:`FakeResources.set_status` sets another status, such as
``"CREATE PENDING"``, to test code that waits for one.

With ``strict_resources`` the data-plane calls check what they name against these records, as
the service does: an unknown (or not ``ACTIVE``) tracking id, dataset, campaign or recommender is
answered 404 ``ResourceNotFoundException`` (the error both data-plane models list for every
operation).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ._protocol import ServiceError

__all__ = ["CONTROL_PLANE", "DEFAULT_ACCOUNT_ID", "FakeResources"]

#: The account in the ARNs made here: moto's (``MOTO_ACCOUNT_ID`` or 123456789012).
DEFAULT_ACCOUNT_ID = "123456789012"

# kind -> (ARN resource type, the ARN member's name, the Describe answer's member)
_KINDS: dict[str, tuple[str, str, str]] = {
    "dataset_group": ("dataset-group", "datasetGroupArn", "datasetGroup"),
    "dataset": ("dataset", "datasetArn", "dataset"),
    "event_tracker": ("event-tracker", "eventTrackerArn", "eventTracker"),
    "solution": ("solution", "solutionArn", "solution"),
    "campaign": ("campaign", "campaignArn", "campaign"),
    "recommender": ("recommender", "recommenderArn", "recommender"),
}
# The members a List* summary holds (the model's *Summary shapes).
_SUMMARY = {
    "dataset_group": ("name", "datasetGroupArn", "status", "domain"),
    "solution": ("name", "solutionArn", "status", "recipeArn"),
    "recommender": ("name", "recommenderArn", "datasetGroupArn", "recipeArn", "status"),
}


def _not_found(what: str) -> ServiceError:
    return ServiceError(404, "ResourceNotFoundException", f"Resource {what} does not exist.")


class FakeResources:
    """The resources of one fake endpoint, keyed by ARN. Thread-safe.

    Reached as ``handle.resources``; the control-plane calls of a boto3 ``personalize`` client
    (or the AWS CLI) land here too. Every ``create_*`` returns the new ARN and raises
    ``ServiceError`` (``ResourceAlreadyExistsException``, ``ResourceNotFoundException``) the way
    the service's call does.

    Args:
        account_id: the account in the ARNs (default: ``MOTO_ACCOUNT_ID`` or 123456789012).
    """

    def __init__(self, account_id: str | None = None) -> None:
        self.account_id = account_id or os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
        self._lock = threading.Lock()
        self._by_arn: dict[str, dict[str, Any]] = {}
        self._kind_of: dict[str, str] = {}

    # -- creating ------------------------------------------------------------------------------

    def _add(self, kind: str, region: str, path: str, fields: dict[str, Any]) -> str:
        arn_type, arn_member, _ = _KINDS[kind]
        arn = f"arn:aws:personalize:{region}:{self.account_id}:{arn_type}/{path}"
        now = time.time()
        record = {"name": fields.pop("name", path), arn_member: arn, "status": "ACTIVE"}
        record.update({k: v for k, v in fields.items() if v is not None})
        record.update(creationDateTime=now, lastUpdatedDateTime=now)
        with self._lock:
            if arn in self._by_arn:
                raise ServiceError(
                    400, "ResourceAlreadyExistsException", f"Resource {arn} already exists."
                )
            self._by_arn[arn] = record
            self._kind_of[arn] = kind
        return arn

    def _parent(self, kind: str, arn: str) -> dict[str, Any]:
        with self._lock:
            if self._kind_of.get(arn) != kind:
                raise _not_found(arn)
            return dict(self._by_arn[arn])

    @staticmethod
    def _region(arn: str) -> str:
        parts = arn.split(":")
        return parts[3] if len(parts) > 5 and parts[3] else "us-east-1"

    def create_dataset_group(
        self, name: str, *, region: str = "us-east-1", domain: str | None = None
    ) -> str:
        """Create a dataset group; ``domain`` is ``"ECOMMERCE"``, ``"VIDEO_ON_DEMAND"`` or
        ``None`` (custom). Returns its ARN ``arn:aws:personalize:<region>:<account>:
        dataset-group/<name>``."""
        return self._add("dataset_group", region, name, {"name": name, "domain": domain})

    def create_dataset(
        self,
        dataset_group_arn: str,
        dataset_type: str,
        *,
        name: str | None = None,
        schema_arn: str | None = None,
    ) -> str:
        """Create a dataset of ``dataset_type`` (``"Interactions"``, ``"Items"``, ``"Users"``,
        ``"Actions"``, ``"Action_Interactions"``) in a dataset group; returns its ARN
        ``.../dataset/<group name>/<TYPE>``.

        Raises:
            ServiceError: 404 if the dataset group does not exist.
        """
        group = self._parent("dataset_group", dataset_group_arn)
        path = f"{group['name']}/{dataset_type.upper()}"
        fields = {
            "name": name or f"{group['name']}-{dataset_type.lower()}",
            "datasetGroupArn": dataset_group_arn,
            "datasetType": dataset_type,
            "schemaArn": schema_arn,
        }
        return self._add("dataset", self._region(dataset_group_arn), path, fields)

    def create_event_tracker(self, dataset_group_arn: str, *, name: str = "tracker") -> str:
        """Create an event tracker for a dataset group; returns its ARN (the tracking id is in
        ``describe(arn)["trackingId"]``, or use :meth:`tracking_id_of`).

        Raises:
            ServiceError: 404 if the dataset group does not exist.
        """
        self._parent("dataset_group", dataset_group_arn)
        fields = {
            "name": name,
            "datasetGroupArn": dataset_group_arn,
            "trackingId": str(uuid.uuid4()),
            "accountId": self.account_id,
        }
        path = uuid.uuid4().hex[:12]
        return self._add("event_tracker", self._region(dataset_group_arn), path, fields)

    def create_solution(
        self, dataset_group_arn: str, *, name: str, recipe_arn: str | None = None
    ) -> str:
        """Create a solution (``recipe_arn`` e.g. ``"arn:aws:personalize:::recipe/
        aws-user-personalization"``); returns its ARN.

        Raises:
            ServiceError: 404 if the dataset group does not exist.
        """
        self._parent("dataset_group", dataset_group_arn)
        fields = {"name": name, "datasetGroupArn": dataset_group_arn, "recipeArn": recipe_arn}
        return self._add("solution", self._region(dataset_group_arn), name, fields)

    def create_campaign(self, solution_version_arn: str, *, name: str) -> str:
        """Create a campaign on a solution version (any ARN: versions are not modelled); returns
        its ARN, in the solution version's region."""
        fields = {"name": name, "solutionVersionArn": solution_version_arn}
        return self._add("campaign", self._region(solution_version_arn), name, fields)

    def create_recommender(self, dataset_group_arn: str, *, name: str, recipe_arn: str) -> str:
        """Create a recommender (``recipe_arn`` a domain use case, e.g. ``"arn:aws:personalize:::
        recipe/aws-ecomm-recommended-for-you"``) in a dataset group; returns its ARN.

        Raises:
            ServiceError: 404 if the dataset group does not exist.
        """
        self._parent("dataset_group", dataset_group_arn)
        fields = {"name": name, "datasetGroupArn": dataset_group_arn, "recipeArn": recipe_arn}
        return self._add("recommender", self._region(dataset_group_arn), name, fields)

    # -- reading and changing ------------------------------------------------------------------

    def set_status(self, arn: str, status: str) -> None:
        """Set a resource's ``status`` (``"ACTIVE"``, ``"CREATE PENDING"``, ``"CREATE FAILED"``
        ...). Raises ``KeyError`` for an unknown ARN."""
        with self._lock:
            record = self._by_arn[arn]
            record["status"] = status
            record["lastUpdatedDateTime"] = time.time()

    def describe(self, arn: str) -> dict[str, Any]:
        """A copy of a resource's record, with the members of its Describe call's answer.

        Raises:
            KeyError: unknown ARN.
        """
        with self._lock:
            return dict(self._by_arn[arn])

    def tracking_id_of(self, event_tracker_arn: str) -> str:
        """The tracking id of an event tracker (for ``Tracker(tracking_id, ...)``)."""
        return str(self.describe(event_tracker_arn)["trackingId"])

    def listed(self, kind: str, dataset_group_arn: str | None = None) -> list[dict[str, Any]]:
        """The records of one kind (``"solution"``...), of one dataset group when given, oldest
        first."""
        with self._lock:
            return [
                dict(record)
                for arn, record in self._by_arn.items()
                if self._kind_of[arn] == kind
                and (
                    dataset_group_arn is None or record.get("datasetGroupArn") == dataset_group_arn
                )
            ]

    def active(self, kind: str, arn: str) -> bool:
        """Whether ``arn`` names an ``ACTIVE`` resource of ``kind``."""
        with self._lock:
            return self._kind_of.get(arn) == kind and self._by_arn[arn]["status"] == "ACTIVE"

    def active_tracking_id(self, tracking_id: str) -> bool:
        """Whether an ``ACTIVE`` event tracker has this tracking id."""
        with self._lock:
            return any(
                record.get("trackingId") == tracking_id and record["status"] == "ACTIVE"
                for arn, record in self._by_arn.items()
                if self._kind_of[arn] == "event_tracker"
            )

    def clear(self) -> None:
        """Forget every resource."""
        with self._lock:
            self._by_arn.clear()
            self._kind_of.clear()

    # -- the control plane ---------------------------------------------------------------------

    def call(self, operation: str, params: dict[str, Any], region: str) -> dict[str, Any]:
        """Answer one control-plane call of :data:`CONTROL_PLANE` (input already shape-checked).

        Raises:
            ServiceError: what the service answers (not found, already exists).
        """
        return _CALLS[operation](self, params, region)

    def _describe_call(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        _, arn_member, answer = _KINDS[kind]
        return {answer: self._parent(kind, params[arn_member])}

    def _list_call(self, kind: str, params: dict[str, Any], answer: str) -> dict[str, Any]:
        members = (*_SUMMARY[kind], "creationDateTime", "lastUpdatedDateTime")
        records = self.listed(kind, params.get("datasetGroupArn"))
        return {answer: [{k: r[k] for k in members if k in r} for r in records]}


def _create_dataset(r: FakeResources, p: dict[str, Any], region: str) -> dict[str, Any]:
    arn = r.create_dataset(
        p["datasetGroupArn"], p["datasetType"], name=p["name"], schema_arn=p["schemaArn"]
    )
    return {"datasetArn": arn}


def _create_event_tracker(r: FakeResources, p: dict[str, Any], region: str) -> dict[str, Any]:
    arn = r.create_event_tracker(p["datasetGroupArn"], name=p["name"])
    return {"eventTrackerArn": arn, "trackingId": r.tracking_id_of(arn)}


_Call = Callable[[FakeResources, dict[str, Any], str], dict[str, Any]]
_CALLS: dict[str, _Call] = {
    "CreateDatasetGroup": lambda r, p, region: {
        "datasetGroupArn": r.create_dataset_group(p["name"], region=region, domain=p.get("domain")),
        **({"domain": p["domain"]} if p.get("domain") else {}),
    },
    "DescribeDatasetGroup": lambda r, p, _: r._describe_call("dataset_group", p),
    "ListDatasetGroups": lambda r, p, _: r._list_call("dataset_group", {}, "datasetGroups"),
    "CreateDataset": _create_dataset,
    "DescribeDataset": lambda r, p, _: r._describe_call("dataset", p),
    "CreateEventTracker": _create_event_tracker,
    "DescribeEventTracker": lambda r, p, _: r._describe_call("event_tracker", p),
    "CreateSolution": lambda r, p, _: {
        "solutionArn": r.create_solution(
            p["datasetGroupArn"], name=p["name"], recipe_arn=p.get("recipeArn")
        )
    },
    "DescribeSolution": lambda r, p, _: r._describe_call("solution", p),
    "ListSolutions": lambda r, p, _: r._list_call("solution", p, "solutions"),
    "CreateCampaign": lambda r, p, _: {
        "campaignArn": r.create_campaign(p["solutionVersionArn"], name=p["name"])
    },
    "DescribeCampaign": lambda r, p, _: r._describe_call("campaign", p),
    "CreateRecommender": lambda r, p, _: {
        "recommenderArn": r.create_recommender(
            p["datasetGroupArn"], name=p["name"], recipe_arn=p["recipeArn"]
        )
    },
    "DescribeRecommender": lambda r, p, _: r._describe_call("recommender", p),
    "ListRecommenders": lambda r, p, _: r._list_call("recommender", p, "recommenders"),
}

#: The control-plane operations the fake adds to moto's ``personalize``.
CONTROL_PLANE = frozenset(_CALLS)
