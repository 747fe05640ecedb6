"""SigV4 for each request, by botocore's signer, with the session's credentials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import botocore.exceptions
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

__all__ = ["Signer"]


class _Request(AWSRequest):
    """An ``AWSRequest`` whose body is its bytes as given. ``AWSRequest.body`` prepares the
    whole request (URL, headers, body: ~20 µs) each time the signer reads it, to return the
    same bytes for a ``bytes`` body (``AWSRequestPreparer._prepare_body``)."""

    @property
    def body(self) -> Any:  # bytes (botocore-stubs say str, as for another data)
        return self.data


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
        ``X-Amz-Security-Token`` (the headers ``SigV4Auth.add_auth`` sets, read back one by
        one: listing all of botocore's email-based headers costs more).

        Raises:
            botocore.exceptions.NoCredentialsError: the session has no credentials (as the
                client raises it).
            Exception: what refreshing the credentials raises (botocore's own errors).
        """
        if self.credentials is None:
            raise botocore.exceptions.NoCredentialsError()
        request = _Request(method="POST", url=url, headers=headers, data=body)
        frozen = self.credentials.get_frozen_credentials()
        SigV4Auth(frozen, self.signing_name, self.region).add_auth(request)
        signed = dict(headers)
        added = request.headers
        signed["X-Amz-Date"] = added["X-Amz-Date"]
        signed["Authorization"] = added["Authorization"]
        if frozen.token:
            signed["X-Amz-Security-Token"] = added["X-Amz-Security-Token"]
        return signed
