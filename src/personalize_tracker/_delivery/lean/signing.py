"""SigV4 for each request, by botocore's signer, with the session's credentials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import botocore.exceptions
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

__all__ = ["Signer"]


class Signer:
    """Signs one request as botocore's ``RequestSigner`` does for the client: ``SigV4Auth`` with
    the credentials frozen at that moment (``get_frozen_credentials()`` refreshes refreshable
    credentials when they are about to expire, as botocore does before each signature).

    Args:
        credentials: the boto3 session's credentials (``Session.get_credentials()``, the object
            its clients sign with), or None when it has none.
        signing_name: SigV4 service name (``personalize``).
        region: SigV4 region.
    """

    __slots__ = ("credentials", "region", "signing_name")

    def __init__(self, credentials: Any, signing_name: str, region: str) -> None:
        self.credentials = credentials
        self.signing_name = signing_name
        self.region = region

    def sign(self, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        """The headers of a signed ``POST`` of ``body`` to ``url``: ``headers`` plus
        ``X-Amz-Date``, ``Authorization`` and, with temporary credentials,
        ``X-Amz-Security-Token``.

        Raises:
            botocore.exceptions.NoCredentialsError: the session has no credentials (as the
                client raises it).
            Exception: what refreshing the credentials raises (botocore's own errors).
        """
        if self.credentials is None:
            raise botocore.exceptions.NoCredentialsError()
        request = AWSRequest(method="POST", url=url, headers=dict(headers), data=body)
        frozen = self.credentials.get_frozen_credentials()
        SigV4Auth(frozen, self.signing_name, self.region).add_auth(request)
        return dict(request.headers.items())
