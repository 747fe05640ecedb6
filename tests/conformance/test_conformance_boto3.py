"""The conformance table, through boto3 (in this process, over HTTP to the local endpoint)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conformance_cases import CASES, Case
from conformance_endpoint import Endpoint, endpoint_fixture  # noqa: F401 (the fixture)

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
    method = getattr(client, boto3.session.botocore.xform_name(case.operation))
    try:
        answer = method(**params)
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]
    return answer["ResponseMetadata"]["HTTPStatusCode"], None


@pytest.mark.parametrize("case", [c for c in CASES if "boto3" in c.clients], ids=lambda c: c.name)
def test_boto3(endpoint: Endpoint, case: Case) -> None:
    params = endpoint.prepare(case)
    status, code = call(endpoint, case, params)
    endpoint.check(case, params, status, code)
