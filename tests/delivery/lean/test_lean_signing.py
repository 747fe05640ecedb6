"""The lean signer keeps a day's signing key and the signed host: its ``Authorization`` stays
the one botocore's ``SigV4Auth`` writes for the same request, across days and credentials."""

from __future__ import annotations

import datetime
from typing import Any

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from personalize_tracker._delivery.lean.signing import Signer

URL = "https://personalize-events.eu-west-1.amazonaws.com/events"
HEADERS = {"Content-Type": "application/json", "User-Agent": "test"}


class Swappable:
    """Credentials whose frozen value a test changes (as a refresh would)."""

    def __init__(self, secret: str) -> None:
        self.frozen = Credentials("AKIDEXAMPLE", secret)

    def get_frozen_credentials(self) -> Credentials:
        return self.frozen


def botocores(credentials: Credentials, body: bytes) -> str:
    request = AWSRequest(method="POST", url=URL, headers=dict(HEADERS), data=body)
    SigV4Auth(credentials, "personalize", "eu-west-1").add_auth(request)
    return str(request.headers["Authorization"])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime.datetime]:
    now = [datetime.datetime(2026, 12, 3, 23, 59, 59)]
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now[0])
    return now


def test_signatures_stay_botocores_across_days_and_credentials(clock: Any) -> None:
    credentials = Swappable("secret-1")
    signer = Signer(credentials, "personalize", "eu-west-1")
    seen = set()
    for n, (moment, secret) in enumerate(
        [
            (datetime.datetime(2026, 12, 3, 23, 59, 59), "secret-1"),
            (datetime.datetime(2026, 12, 3, 23, 59, 59), "secret-1"),  # the kept key
            (datetime.datetime(2026, 12, 4, 0, 0, 1), "secret-1"),  # a new day: a new key
            (datetime.datetime(2026, 12, 4, 0, 0, 2), "secret-2"),  # refreshed: a new key
        ]
    ):
        clock[0] = moment
        credentials.frozen = Credentials("AKIDEXAMPLE", secret)
        body = f'{{"n":{n}}}'.encode()
        authorization = signer.sign(URL, HEADERS, body)["Authorization"]
        assert authorization == botocores(credentials.frozen, body)
        seen.add(authorization)
    assert len(seen) == 4
    assert signer.key is not None
    assert signer.key[:2] == ("secret-2", "20261204")
