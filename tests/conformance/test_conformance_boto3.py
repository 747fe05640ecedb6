"""The conformance table, through boto3: in process (under moto's ``mock_aws()``) and over HTTP."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conformance_cases import CASES, Case
from conformance_endpoint import (  # noqa: F401 (the fixtures)
    Endpoint,
    endpoint_fixture,
    in_process_endpoint_fixture,
)

# The endpoint is what is tested: botocore's own checks are off, so every case reaches it.
CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=False)


def call(endpoint: Endpoint, case: Case, params: dict[str, Any]) -> tuple[int, str | None]:
    client = boto3.client(  # type: ignore[call-overload]
        case.service,
        region_name="us-east-1",
        endpoint_url=endpoint.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=CONFIG,
    )
    if case.raw is not None:
        body = case.raw

        def replace(request: Any, **_: Any) -> None:
            request.data = body  # signed as sent

        client.meta.events.register_first("before-sign", replace)
        params = _minimal[case.operation]
    method = getattr(client, boto3.session.botocore.xform_name(case.operation))
    try:
        answer = method(**params)
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]
    return answer["ResponseMetadata"]["HTTPStatusCode"], None


# What the client is called with when a raw body replaces what it would send.
_minimal: dict[str, dict[str, Any]] = {
    "PutEvents": {"trackingId": "t", "sessionId": "s", "eventList": []},
    "GetRecommendations": {"campaignArn": "arn:aws:personalize:::campaign/c", "userId": "u"},
}

BOTO3_CASES = [c for c in CASES if "boto3" in c.clients]


@pytest.mark.parametrize("case", BOTO3_CASES, ids=lambda c: c.name)
def test_boto3_in_process(in_process_endpoint: Endpoint, case: Case) -> None:
    params = in_process_endpoint.prepare(case)
    status, code = call(in_process_endpoint, case, params)
    in_process_endpoint.check(case, params, status, code)


@pytest.mark.parametrize("case", BOTO3_CASES, ids=lambda c: c.name)
def test_boto3_over_http(endpoint: Endpoint, case: Case) -> None:
    params = endpoint.prepare(case)
    status, code = call(endpoint, case, params)
    endpoint.check(case, params, status, code)
