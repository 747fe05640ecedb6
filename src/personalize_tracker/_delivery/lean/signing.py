"""SigV4 for each request, by botocore's signer, with the session's credentials.

Two things botocore recomputes for every request are computed once here, with botocore's own
code: the ``host`` it signs (``_host_from_url`` of the one URL, handed to the signer as a
header, so that it does not split the URL again for it), and the signing key of a day (four
HMACs of the secret key, the date, the region and the service: the same key until the date or
the credentials change). Everything else, the signature included, is ``SigV4Auth``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import botocore.auth
import botocore.exceptions
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

__all__ = ["Signer"]

_auth: Any = botocore.auth  # ``_host_from_url``: private, so not in botocore's stubs


class _Request(AWSRequest):
    """An ``AWSRequest`` whose body is its bytes as given. ``AWSRequest.body`` prepares the
    whole request (URL, headers, body: ~20 µs) each time the signer reads it, to return the
    same bytes for a ``bytes`` body (``AWSRequestPreparer._prepare_body``)."""

    @property
    def body(self) -> Any:  # bytes (botocore-stubs say str, as for another data)
        return self.data


class _SigV4(SigV4Auth):
    """``SigV4Auth`` that takes the signing key from its :class:`Signer`'s cache (``signature``
    as botocore's, the key derived as botocore derives it, once per secret key and day)."""

    def __init__(self, credentials: Any, signer: Signer) -> None:
        super().__init__(credentials, signer.signing_name, signer.region)
        self._signer = signer

    def signature(self, string_to_sign: str, request: Any) -> str:
        auth: Any = self  # botocore's private members, which its stubs do not declare
        secret: str = auth.credentials.secret_key
        day: str = request.context["timestamp"][0:8]
        cached = self._signer.key
        if cached is None or cached[0] != secret or cached[1] != day:
            k_date = auth._sign(f"AWS4{secret}".encode(), day)
            k_region = auth._sign(k_date, auth._region_name)
            k_service = auth._sign(k_region, auth._service_name)
            cached = (secret, day, auth._sign(k_service, "aws4_request"))
            self._signer.key = cached
        signature: str = auth._sign(cached[2], string_to_sign, hex=True)
        return signature


class Signer:
    """Signs one request as botocore's ``RequestSigner`` does for the client: ``SigV4Auth`` with
    the credentials frozen at that moment (``get_frozen_credentials()`` refreshes refreshable
    credentials when they are about to expire, as botocore does before each signature).

    Args:
        credentials: the boto3 session's credentials (``Session.get_credentials()``, the object
            its clients sign with), or None when it has none.
        signing_name: SigV4 service name (``personalize``).
        region: SigV4 region.

    Attributes:
        key: the last signing key, with the secret key and day (``YYYYMMDD``) it is for, or
            None.
    """

    __slots__ = ("_hosts", "credentials", "key", "region", "signing_name")

    def __init__(self, credentials: Any, signing_name: str, region: str) -> None:
        self.credentials = credentials
        self.signing_name = signing_name
        self.region = region
        self.key: tuple[str, str, bytes] | None = None
        self._hosts: dict[str, str] = {}

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
        host = self._hosts.get(url)
        if host is None:
            host = self._hosts[url] = _auth._host_from_url(url)
        request = _Request(method="POST", url=url, headers={**headers, "host": host}, data=body)
        frozen = self.credentials.get_frozen_credentials()
        _SigV4(frozen, self).add_auth(request)
        signed = dict(headers)
        added = request.headers
        signed["X-Amz-Date"] = added["X-Amz-Date"]
        signed["Authorization"] = added["Authorization"]
        if frozen.token:
            signed["X-Amz-Security-Token"] = added["X-Amz-Security-Token"]
        return signed
