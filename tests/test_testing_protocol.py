"""The protocol edges of the local endpoint: AWS's auth errors, unknown paths and operations."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from personalize_tracker.testing import (
    CONTROL_PLANE,
    PersonalizeEventsMock,
    mock_personalize_events,
    serve_personalize_events,
)
from personalize_tracker.testing._protocol import auth_error

BODY = json.dumps(
    {"trackingId": "t", "sessionId": "s", "eventList": [{"eventType": "c", "sentAt": 1}]}
).encode()
SIGV4 = "AWS4-HMAC-SHA256 Credential={key}/20240501/us-east-1/{service}/aws4_request, "
SIGV4 += "SignedHeaders=host;x-amz-date, Signature=abc"


@pytest.fixture
def server() -> Iterator[PersonalizeEventsMock]:
    with serve_personalize_events() as handle:
        yield handle


def post(
    handle: PersonalizeEventsMock,
    path: str,
    body: bytes = BODY,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, str], bytes]:
    """One raw request to the server; returns status, headers (lower-case names) and body."""
    assert handle.endpoint_url is not None
    where = urlsplit(handle.endpoint_url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def signed(
    handle: PersonalizeEventsMock, path: str, service: str, body: bytes = BODY
) -> dict[str, str]:
    """Headers of a real SigV4 signature of a POST to ``path`` for ``service``."""
    request = AWSRequest("POST", f"{handle.endpoint_url}{path}", data=body)
    SigV4Auth(Credentials("testing", "testing"), service, "us-east-1").add_auth(request)
    return dict(request.headers.items())


def aws_error(response: tuple[int, dict[str, str], bytes]) -> tuple[int, str, str]:
    status, headers, body = response
    assert headers["content-type"] in ("application/json", "application/x-amz-json-1.1")
    assert headers["x-amzn-requestid"]
    return status, headers["x-amzn-errortype"], json.loads(body)["message"]


# ---------------------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "MissingAuthenticationTokenException"),
        (
            {"Authorization": "Basic dXNlcjpwYXNz", "X-Amz-Date": "x"},
            "IncompleteSignatureException",
        ),
        (
            {"Authorization": SIGV4.format(key="k", service="personalize")},
            "IncompleteSignatureException",
        ),
        (
            {"Authorization": "AWS4-HMAC-SHA256 Signature=abc", "X-Amz-Date": "x"},
            "IncompleteSignatureException",
        ),
        (
            {"Authorization": SIGV4.format(key="", service="personalize"), "X-Amz-Date": "x"},
            "UnrecognizedClientException",
        ),
    ],
)
def test_auth_errors(headers: dict[str, str], code: str) -> None:
    for in_process in (True, False):
        error = auth_error(headers, in_process=in_process)
        assert error is not None
        assert (error.status, error.code) == (403, code)


def test_a_signature_for_another_service_is_refused_in_process_only() -> None:
    headers = {"Authorization": SIGV4.format(key="k", service="s3"), "X-Amz-Date": "x"}
    error = auth_error(headers, in_process=True)
    assert error is not None
    assert (error.status, error.code) == (403, "InvalidSignatureException")
    assert auth_error(headers, in_process=False) is None
    good = {"Authorization": SIGV4.format(key="k", service="personalize"), "X-Amz-Date": "x"}
    assert auth_error(good, in_process=True) is None


# ---------------------------------------------------------------------------- over HTTP


@pytest.mark.parametrize("path", ["/events", "/recommendations", "/"])
def test_unsigned_requests_get_403_json(server: PersonalizeEventsMock, path: str) -> None:
    headers = {"X-Amz-Target": "AmazonPersonalize.DescribeDatasetGroup"} if path == "/" else {}
    status, code, message = aws_error(post(server, path, headers=headers))
    assert (status, code, message) == (
        403,
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    )
    assert server.requests == []


def test_badly_signed_requests_get_403_json(server: PersonalizeEventsMock) -> None:
    basic = {"Authorization": "Basic dXNlcjpwYXNz", "X-Amz-Date": "20240501T000000Z"}
    assert aws_error(post(server, "/events", headers=basic))[:2] == (
        403,
        "IncompleteSignatureException",
    )
    no_key = signed(server, "/events", "personalize")
    no_key["Authorization"] = no_key["Authorization"].replace("Credential=testing/", "Credential=/")
    assert aws_error(post(server, "/events", headers=no_key))[:2] == (
        403,
        "UnrecognizedClientException",
    )


def test_a_well_signed_raw_request_is_answered(server: PersonalizeEventsMock) -> None:
    status, _, body = post(server, "/events", headers=signed(server, "/events", "personalize"))
    assert (status, body) == (200, b"")
    assert len(server.events) == 1


def test_unknown_path_or_method_is_unknown_operation_as_json(server: PersonalizeEventsMock) -> None:
    status, code, message = aws_error(
        post(server, "/no-such-thing", headers=signed(server, "/no-such-thing", "personalize"))
    )
    assert (status, code) == (404, "UnknownOperationException")
    assert "/no-such-thing" in message
    headers = signed(server, "/events", "personalize")
    status, code, message = aws_error(post(server, "/events", headers=headers, method="PUT"))
    assert (status, code, message) == (404, "UnknownOperationException", "PutEvents takes POST")


def test_requests_signed_for_other_services_still_reach_moto(server: PersonalizeEventsMock) -> None:
    """Over HTTP moto routes by signing name: a request to /events signed for S3 is S3's."""
    status, headers, _ = post(server, "/events", body=b"", headers=signed(server, "/events", "s3"))
    assert headers.get("x-amzn-errortype") is None
    assert status != 403
    assert server.requests == []
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=server.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="still-moto")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["still-moto"]


# ---------------------------------------------------------------------------- real clients


def _client(handle: PersonalizeEventsMock, service: str, **config: Any) -> Any:
    extra: dict[str, Any] = {}
    if handle.endpoint_url is not None:
        extra = {
            "endpoint_url": handle.endpoint_url,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
    return boto3.client(  # type: ignore[call-overload]
        service, region_name="us-east-1", config=Config(**config), **extra
    )


@pytest.mark.parametrize("mode", ["in_process", "server"])
def test_an_unsigned_client_gets_one_final_403_and_no_retries(mode: str) -> None:
    context = mock_personalize_events if mode == "in_process" else serve_personalize_events
    with context() as handle:
        client = _client(
            handle,
            "personalize-events",
            signature_version=UNSIGNED,
            retries={"mode": "standard", "total_max_attempts": 5},
        )
        sent: list[Any] = []
        client.meta.events.register("before-send", lambda request, **_: sent.append(request))
        with pytest.raises(ClientError) as excinfo:
            client.put_events(
                trackingId="t", sessionId="s", eventList=[{"eventType": "c", "sentAt": 1}]
            )
        response = excinfo.value.response
        assert response["Error"]["Code"] == "MissingAuthenticationTokenException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert len(sent) == 1
        assert handle.requests == []


@pytest.mark.parametrize("mode", ["in_process", "server"])
def test_control_plane_names_what_it_implements(mode: str) -> None:
    context = mock_personalize_events if mode == "in_process" else serve_personalize_events
    with context() as handle:
        control = _client(handle, "personalize", retries={"total_max_attempts": 1})
        with pytest.raises(ClientError) as excinfo:
            control.list_campaigns()
        response = excinfo.value.response
        assert response["Error"]["Code"] == "UnknownOperationException"
        message = response["Error"]["Message"]
        assert "AmazonPersonalize.ListCampaigns" in message
        for operation in [*sorted(CONTROL_PLANE), "CreateSchema", "ListSchemas"]:
            assert operation in message
        # moto's own calls still answer
        control.create_schema(name="s", schema='{"type": "record", "name": "x", "fields": []}')
        assert [s["name"] for s in control.list_schemas()["schemas"]] == ["s"]


# ---------------------------------------------------------------------------- moto versions


def test_handlers_read_either_kind_of_request() -> None:
    """moto 5.2 hands an in-process handler a werkzeug-style request (``get_data()``); 5.0 and
    5.1 hand it botocore's ``AWSPreparedRequest`` (``body``: bytes, str, a file or None)."""
    import io

    from botocore.awsrequest import AWSPreparedRequest

    from personalize_tracker.testing._moto import request_body

    class WerkzeugLike:
        def get_data(self) -> bytes:
            return BODY

    assert request_body(WerkzeugLike()) == BODY
    for body in (BODY, BODY.decode(), io.BytesIO(BODY)):
        prepared = AWSPreparedRequest("POST", "https://x/events", {}, body, None)
        assert request_body(prepared) == BODY
    assert request_body(AWSPreparedRequest("POST", "https://x/events", {}, None, None)) == b""
