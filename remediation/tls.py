"""A local certificate authority for staging and the tests: ``invoke tls --ca DIR [--host NAME ...]``.

The CA (``DIR/ca.key``, ``DIR/ca.crt``) is made once and reused; each host certificate
(``DIR/hosts/NAME.crt`` and ``.key``) is signed by it for the names given (DNS names and IP
addresses as subjectAltName, serverAuth) and issued again only when it is missing, expires within
``RENEW_WITHIN_DAYS``, names other hosts, or was not signed by this CA. Keys are EC P-256 (fast to
make, what browsers and nginx take), written 0600 atomically; the folders are 0700. Clients trust
the CA through ``SSL_CERT_FILE=DIR/ca.crt`` or an explicit CA bundle (``invoke verify --ca-file``),
never by turning verification off.

``certificate`` also makes the certificates no client should accept (expired, self-signed, for
another name), which the bad-input tests serve. All of it with ``cryptography``; nothing here
touches a remote host.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .transport import Local

RENEW_WITHIN_DAYS = 30
CA_DAYS = 3650
DEFAULT_DAYS = 90


class TlsError(ValueError):
    """Bad input for the CA (a name that is not a host name, a CA folder that is not ours): one line."""


@dataclass
class Issued:
    name: str
    cert: Path
    key: Path
    action: str  # created, reused, issued, re-issued, kept
    reason: str = ""
    not_after: datetime | None = None

    def line(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        until = f", valid until {self.not_after:%Y-%m-%d}" if self.not_after else ""
        return f"{self.name}: {self.action}{why}: {self.cert}{until}"


def host_name(value: str) -> str:
    """A DNS name (``localhost`` and single labels allowed: staging and tests use them) or an IP address."""
    text = str(value or "").strip().lower()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if not text or len(text) > 253 or not all(
            0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
            and not label.startswith("-") and not label.endswith("-") for label in labels):
        raise TlsError(f"--host: {value!r} is not a host name or an IP address")
    return ".".join(labels)


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def names_of(cert: x509.Certificate) -> list[str]:
    """The subjectAltName entries of a certificate, DNS names and IP addresses as text."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def certificate(names: list[str], *, issuer=None, days: int = DEFAULT_DAYS, not_before: datetime | None = None,
                ca: bool = False):
    """A new key and certificate for ``names``: signed by ``issuer`` (cert, key), or self-signed.

    ``not_before`` in the past with few ``days`` makes an expired certificate (bad-input tests).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or datetime.now(timezone.utc) - timedelta(minutes=5)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])])
    if ca:
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "django-remediation local CA"),
                             x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])])
    issuer_cert, issuer_key = issuer or (None, key)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(start)
               .not_valid_after(start + timedelta(days=days))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if ca:
        builder = (builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False, encipher_only=False,
                                                decipher_only=False), critical=True))
    else:
        builder = (builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False, encipher_only=False,
                                                decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(_san(names), critical=False))
    return builder.sign(issuer_key, hashes.SHA256()), key


def write_pair(cert, key, cert_path: Path, key_path: Path) -> None:
    """Key first (0600), then the certificate (0644): a reader never finds a certificate without its key."""
    local = Local()
    cert_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    local.write_atomic(str(key_path), _key_pem(key), mode=0o600)
    local.write_atomic(str(cert_path), cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _load(cert_path: Path, key_path: Path):
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return cert, key


def ensure_ca(ca_dir: str | Path) -> tuple[Issued, tuple]:
    """The CA in ``ca_dir``, made when missing; (what happened, (cert, key))."""
    folder = Path(ca_dir).expanduser().absolute()
    if folder.exists() and not folder.is_dir():
        raise TlsError(f"--ca: {folder}: not a directory")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path, key_path = folder / "ca.crt", folder / "ca.key"
    if cert_path.exists() and key_path.exists():
        try:
            cert, key = _load(cert_path, key_path)
        except (ValueError, TypeError) as exc:
            raise TlsError(f"--ca: {cert_path} or {key_path} is not a PEM certificate and key ({exc})") from None
        return Issued("CA", cert_path, key_path, "reused", not_after=cert.not_valid_after_utc), (cert, key)
    if cert_path.exists() or key_path.exists():
        raise TlsError(f"--ca: {folder} holds only one of ca.crt and ca.key; move it away or give another folder")
    cert, key = certificate(["django-remediation local CA"], days=CA_DAYS, ca=True)
    write_pair(cert, key, cert_path, key_path)
    return Issued("CA", cert_path, key_path, "created", not_after=cert.not_valid_after_utc), (cert, key)


def _stale(cert_path: Path, key_path: Path, names: list[str], ca_cert) -> str:
    """Why the host certificate must be issued again, or "" when it can stay."""
    if not cert_path.exists() or not key_path.exists():
        return "missing"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return "unreadable"
    if cert.issuer != ca_cert.subject:
        return "signed by another CA"
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):  # another key under the same name
        return "signed by another CA"
    if sorted(names_of(cert)) != sorted(names):
        return f"names changed (was {', '.join(names_of(cert))})"
    left = cert.not_valid_after_utc - datetime.now(timezone.utc)
    if left < timedelta(days=RENEW_WITHIN_DAYS):
        return f"expires within {RENEW_WITHIN_DAYS} days"
    return ""


def issue_host(ca_dir: str | Path, names: list[str], days: int = DEFAULT_DAYS) -> list[Issued]:
    """The CA (made when missing) and one certificate for ``names`` (the first names the files)."""
    names = list(dict.fromkeys(host_name(n) for n in names))
    ca_done, ca_pair = ensure_ca(ca_dir)
    done = [ca_done]
    if not names:
        return done
    if days < 1:
        raise TlsError("--days: give a whole number of days above 0")
    hosts = ca_done.cert.parent / "hosts"
    cert_path, key_path = hosts / f"{names[0]}.crt", hosts / f"{names[0]}.key"
    reason = _stale(cert_path, key_path, names, ca_pair[0])
    if not reason:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        done.append(Issued(names[0], cert_path, key_path, "kept", not_after=cert.not_valid_after_utc))
        return done
    cert, key = certificate(names, issuer=ca_pair, days=days)
    write_pair(cert, key, cert_path, key_path)
    action = "issued" if reason == "missing" else "re-issued"
    done.append(Issued(names[0], cert_path, key_path, action, "" if reason == "missing" else reason,
                       cert.not_valid_after_utc))
    return done


def bad_certificate(kind: str, names: list[str], folder: str | Path, ca_dir: str | Path | None = None) -> tuple[Path, Path]:
    """A certificate no client should accept, for tests and demonstrations: ``expired`` (signed by
    the CA, ended yesterday), ``self-signed`` (for the right names), ``wrong-name`` (signed by the
    CA for ``names``: serve it under another name). Returns (cert, key) paths in ``folder``."""
    folder = Path(folder)
    issuer = ensure_ca(ca_dir)[1] if ca_dir is not None else None
    if kind == "expired":
        cert, key = certificate(names, issuer=issuer, days=1, not_before=datetime.now(timezone.utc) - timedelta(days=3))
    elif kind == "self-signed":
        cert, key = certificate(names)
    elif kind == "wrong-name":
        cert, key = certificate(names, issuer=issuer)
    else:
        raise TlsError(f"unknown kind {kind!r} (expired, self-signed, wrong-name)")
    paths = folder / f"{kind}.crt", folder / f"{kind}.key"
    write_pair(cert, key, *paths)
    return paths


def tls_command(ca_dir, hosts, days) -> list[str]:
    """``invoke tls``: the lines to print; TlsError for bad input."""
    if ca_dir is None or not str(ca_dir).strip():
        raise TlsError("--ca: give the CA's folder (it is created when missing)")
    try:
        days = int(str(days).strip())
    except ValueError:
        raise TlsError(f"--days: {str(days)!r} is not a whole number") from None
    if not 0 < days <= 825:  # browsers refuse server certificates valid for longer
        raise TlsError("--days: give a whole number of days from 1 to 825")
    names = [host_name(h) for h in hosts or []]
    lines = [item.line() for item in issue_host(ca_dir, names, days)]
    ca_cert = Path(ca_dir).expanduser().absolute() / "ca.crt"
    lines.append(f"trust it with SSL_CERT_FILE={ca_cert} or --ca-file {ca_cert}")
    return lines


__all__ = ["Issued", "TlsError", "bad_certificate", "certificate", "ensure_ca", "issue_host", "names_of",
           "tls_command", "RENEW_WITHIN_DAYS"]
