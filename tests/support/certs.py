"""Test certificates: a private CA, server certificates it signs, and untrusted self-signed ones.

EC P-256 keys keep generation instant; SANs carry both DNS names and IP literals so clients
can verify ``localhost`` as well as ``127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = timedelta(days=30)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _stem(names: list[str]) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", names[0])


def _server_builder(names: list[str], issuer: x509.Name) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(issuer)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(_san(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )


@dataclass(frozen=True)
class CertificateAuthority:
    """A throwaway CA; point clients at ``cert_path`` to trust what it issues."""

    cert_path: Path
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def issue(self, directory: Path, names: list[str]) -> tuple[Path, Path]:
        """A server certificate for ``names`` (DNS names or IPs): ``(cert_path, key_path)``."""
        key = _new_key()
        cert = (
            _server_builder(names, self.cert.subject)
            .public_key(key.public_key())
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = _stem(names)
        return (
            _write_cert(directory / f"{stem}.crt", cert),
            _write_key(directory / f"{stem}.key", key),
        )


def make_ca(directory: Path, common_name: str = "inboxlink test CA") -> CertificateAuthority:
    """A new CA whose certificate is written to ``directory/ca.crt``."""
    key = _new_key()
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    return CertificateAuthority(_write_cert(directory / "ca.crt", cert), key, cert)


def self_signed(directory: Path, names: list[str]) -> tuple[Path, Path]:
    """A server certificate signed by its own key, which no client trusts by default."""
    key = _new_key()
    cert = (
        _server_builder(names, _name(names[0]))
        .public_key(key.public_key())
        .sign(key, hashes.SHA256())
    )
    stem = f"{_stem(names)}-self-signed"
    return (
        _write_cert(directory / f"{stem}.crt", cert),
        _write_key(directory / f"{stem}.key", key),
    )
