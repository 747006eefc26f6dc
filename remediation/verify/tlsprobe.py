"""The TLS a browser gets: protocol version, whether the chain is valid for the host name, days to expiry.

Standard library ``ssl`` for the handshakes (the same context as the HTTP requests, so the same
trust) and ``cryptography`` to read the certificate. Three handshakes at most:

1. as a browser: verified against the trust store for the host name; gives the protocol, cipher
   and the certificate;
2. when (1) is refused, again without verification, only to *describe* the certificate the
   server sent (expired on, self-signed, issued for which names): what a browser's warning page
   shows. Nothing is ever requested over that connection;
3. a legacy probe allowing only TLS 1.0 and 1.1 (OpenSSL security level 0): whether the server
   still accepts protocols below 1.2 besides the one it negotiates.

With ``--resolve`` each handshake connects to the mapped address and still sends the URL's host
name as SNI and checks the certificate for it (``server_hostname``).
"""

from __future__ import annotations

import socket
import ssl
import warnings
from datetime import datetime, timezone

from cryptography import x509

from ..tls import names_of

LEGACY = "TLSv1.1 or older"


def _handshake(address: str, port: int, context: ssl.SSLContext, timeout: float, server_name: str | None):
    with socket.create_connection((address, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.version(), (tls.cipher() or ("",))[0], tls.getpeercert(binary_form=True)


def describe(der: bytes | None, host: str) -> dict:
    """Subject, issuer, names, validity and days left of a DER certificate (no verdict: the handshake gives it)."""
    if not der:
        return {}
    cert = x509.load_der_x509_certificate(der)
    now = datetime.now(timezone.utc)
    left = cert.not_valid_after_utc - now
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "names": names_of(cert),
        "not_before": cert.not_valid_before_utc.isoformat(timespec="seconds"),
        "not_after": cert.not_valid_after_utc.isoformat(timespec="seconds"),
        "days_left": left.days if left.total_seconds() >= 0 else -((-left).days + (1 if (-left).seconds else 0)),
        "self_signed": cert.issuer == cert.subject,
        "host": host,
    }


def _unverified() -> ssl.SSLContext:
    """Only for describing a certificate already refused by the verified handshake (step 2)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # deprecated on purpose: this context exists to see old protocols
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    try:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    return context


def legacy_accepted(address: str, port: int, server_name: str | None, timeout: float) -> str | None:
    """The old protocol (TLSv1 or TLSv1.1) the server at ``address`` still accepts, or None."""
    context = _unverified()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        version, _, _ = _handshake(address, port, context, timeout, server_name)
    except (OSError, ssl.SSLError):
        return None
    return version


def inspect(host: str, port: int, context: ssl.SSLContext, timeout: float, address: str | None = None) -> dict:
    """What the handshake showed: {version, cipher, verified, error, certificate, legacy}; ``address``:
    where to connect (``--resolve``), the certificate still checked for ``host``."""
    server_name = host  # an IP address sends no SNI; the name check then uses the certificate's IP SAN
    address = address or host
    found = {"host": host, "port": port, "version": None, "cipher": None, "verified": False, "error": None,
             "error_kind": None, "certificate": {}, "legacy": None}
    if address != host:
        found["address"] = address
    try:
        found["version"], found["cipher"], der = _handshake(address, port, context, timeout, server_name)
        found["verified"] = True
        found["certificate"] = describe(der, host)
    except ssl.SSLCertVerificationError as exc:
        found["error"], found["error_kind"] = exc.verify_message or exc.reason or str(exc), "certificate"
        try:
            found["version"], found["cipher"], der = _handshake(address, port, _unverified(), timeout, server_name)
            found["certificate"] = describe(der, host)
        except (OSError, ssl.SSLError):
            pass
    except ssl.SSLError as exc:
        found["error"], found["error_kind"] = f"handshake failed: {exc.reason or exc}", "handshake"
        try:  # a server that only speaks old protocols: name the one it speaks
            found["version"], found["cipher"], der = _handshake(address, port, _unverified(), timeout, server_name)
            found["certificate"] = describe(der, host)
        except (OSError, ssl.SSLError):
            pass
    except (OSError, ValueError) as exc:
        found["error"] = f"no TLS connection: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
        found["error_kind"] = "connect"
        return found
    found["legacy"] = legacy_accepted(address, port, server_name, timeout)
    return found
