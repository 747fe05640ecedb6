"""HTTPS through the lean transport's one-write exchange, against a loopback TLS server with a
certificate authority made for the test: the client's TLS settings apply (its CA bundle, the
hostname check, ``verify=False`` and its warning), and each failure classifies as through the
boto3 client (``lean/exchange.py``, ``lean/wire.py``)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lean_recording import SocketServer, read_request

from personalize_tracker import Event
from personalize_tracker._delivery.lean import lean_put_events
from personalize_tracker._delivery.putevents import PutEventsTransport
from personalize_tracker._errors import SendError


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_cert(
    folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


# digital_signature, content_commitment, key_encipherment, data_encipherment, key_agreement,
# key_cert_sign, crl_sign, encipher_only, decipher_only
CA_KEY_USAGE = x509.KeyUsage(False, False, False, False, False, True, True, False, False)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ca.pem``, and ``localhost`` / ``wronghost`` certificates (with keys) it signed."""
    folder = tmp_path_factory.mktemp("certs")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test CA"))
        .issuer_name(_name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_cert(folder, "ca", ca, ca_key)
    for host in ("localhost", "wronghost"):
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(host)]
        if host == "localhost":
            names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(host))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_cert(folder, host, cert, key)
    return folder


class TLSServer(SocketServer):
    """Serves 200 ``{}`` over TLS on 127.0.0.1 with ``stem``'s certificate; with ``handshake``
    False it accepts connections and never starts TLS."""

    def __init__(self, certs: Path, stem: str, handshake: bool = True) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certs / f"{stem}.pem", certs / f"{stem}.key")
        self.handshake = handshake
        self.stop = threading.Event()
        super().__init__()

    def talk(self, conn: socket.socket) -> None:
        if not self.handshake:
            self.stop.wait(30)
            conn.close()
            return
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls, tls.makefile("rb") as f:
                while (request := read_request(f)) is not None:
                    f.read(request[1])
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        except (OSError, ssl.SSLError):
            return  # the client refused the certificate

    def close(self) -> None:
        self.stop.set()
        super().close()


@pytest.fixture
def serve(certs: Path) -> Iterator[Any]:
    servers: list[TLSServer] = []

    def start(stem: str, handshake: bool = True) -> TLSServer:
        servers.append(TLSServer(certs, stem, handshake))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def client(url: str, verify: Any, connect: float = 5, read: float = 5) -> Any:
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x"
    )
    config = botocore.config.Config(
        retries={"total_max_attempts": 1}, connect_timeout=connect, read_timeout=read
    )
    return session.client("personalize-events", endpoint_url=url, verify=verify, config=config)


EVENTS = [Event(event_type="click", session_id="s", sent_at=1_796_286_601.0, event_id="e")]


def outcome(transport: Any) -> tuple[Any, list[str]]:
    """What a send gave (``ok``, or the error's code and whether it is retryable) and the
    warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            transport.send(("u", "s"), EVENTS)
            result: Any = "ok"
        except SendError as error:
            result = (error.code, error.retryable)
    return result, sorted({w.category.__name__ for w in caught})


def both(url: str, verify: Any, **timeouts: float) -> tuple[Any, Any]:
    made = client(url, verify, **timeouts)
    lean = lean_put_events(made, "t")
    assert lean.http_path == "exchange"  # not urlopen: what this file tests
    return outcome(lean), outcome(PutEventsTransport(made, "t"))


def test_the_clients_ca_bundle_is_used(serve: Any, certs: Path) -> None:
    server = serve("localhost")
    lean, boto = both(f"https://localhost:{server.port}", str(certs / "ca.pem"))
    assert lean == boto == ("ok", [])


def test_an_untrusted_certificate_is_refused_alike(serve: Any) -> None:
    server = serve("localhost")
    lean, boto = both(f"https://localhost:{server.port}", None)  # certifi: no test CA
    assert lean == boto == (("SSLError", True), [])


def test_a_certificate_for_another_host_is_refused_alike(serve: Any, certs: Path) -> None:
    server = serve("wronghost")
    lean, boto = both(f"https://localhost:{server.port}", str(certs / "ca.pem"))
    assert lean == boto == (("SSLError", True), [])


def test_verify_false_connects_and_warns_alike(serve: Any) -> None:
    server = serve("wronghost")
    lean, boto = both(f"https://localhost:{server.port}", False)
    assert lean == boto == ("ok", ["InsecureRequestWarning"])


def test_a_handshake_never_answered_is_a_read_timeout_alike(serve: Any, certs: Path) -> None:
    server = serve("localhost", handshake=False)
    started = time.monotonic()
    lean, boto = both(f"https://localhost:{server.port}", str(certs / "ca.pem"), connect=0.3)
    assert lean == boto == (("ReadTimeoutError", True), [])
    assert time.monotonic() - started < 5  # bounded by the timeouts, not the server
