"""Trusted timestamps (RFC 3161) of each channel's ledger head, asked of a TSA and checked offline.

The message a TSA is asked to stamp is the head entry's canonical bytes, so the token's message imprint
*is* the entry's sha256: ``openssl ts -verify -digest <entry_sha256> -in head.tsr -CAfile tsa-ca.pem``
checks a token with nothing but the entry's hash. Each token is kept with the TSA's CA certificate
(``[ledger] tsa_ca_file``), so ``verify`` needs no network.

A TSA may embed several certificates in its reply (its own and the intermediate CAs up to the root).
Such replies are kept as sent, but checked in DER order: rfc3161-client (1.0.9, the latest) refuses a
``SignedData.certificates`` set whose members are not sorted as DER requires, which is how OpenSSL and
many TSAs write it. The set is not covered by the signature, so putting it in order (asn1crypto) changes
nothing that is checked; the certificates it holds serve as the chain from the TSA to the CA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
import structlog
from asn1crypto import cms, tsp
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from tgvault.errors import SourceError, StorageError
from tgvault.storage.ledger_records import Entry, LedgerStamp, canonical_bytes, entry_fields
from tgvault.storage.tables import utcnow
from tgvault.storage.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TimestampAuthority:
    """A TSA at ``url`` whose tokens are checked against the CA certificates ``ca_pem``."""

    url: str
    ca_pem: bytes
    timeout: float = 30.0

    @classmethod
    def from_files(cls, url: str, ca_file: Path, timeout: float = 30.0) -> TimestampAuthority:
        """The TSA of ``[ledger]``; raises StorageError when the CA file cannot be read."""
        try:
            pem = ca_file.read_bytes()
            x509.load_pem_x509_certificates(pem)
        except (OSError, ValueError) as error:
            raise StorageError(
                f"[ledger] tsa_ca_file {ca_file}: not a readable PEM certificate ({error})"
            ) from None
        return cls(url, pem, timeout)

    def stamp(self, entry: Entry) -> bytes:
        """A time-stamp response (DER) over the entry, checked before it is returned."""
        builder = TimestampRequestBuilder().data(canonical_bytes(entry_fields(entry)))
        request = builder.hash_algorithm(HashAlgorithm.SHA256).cert_request(cert_request=True).build()
        try:
            answer = httpx.post(
                self.url,
                content=request.as_bytes(),
                headers={"Content-Type": "application/timestamp-query"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as error:
            raise SourceError(f"the time-stamping authority {self.url} cannot be reached ({error})") from None
        if answer.status_code != 200:
            raise SourceError(f"the time-stamping authority {self.url} answered HTTP {answer.status_code}")
        problem = token_problem(answer.content, self.ca_pem, entry.entry_sha256, nonce=request.nonce)
        if problem is not None:
            raise SourceError(
                f"the time-stamping authority {self.url} sent a token that does not check: {problem}"
            )
        return answer.content


def token_problem(token: bytes, ca_pem: bytes, entry_sha256: str, *, nonce: int | None = None) -> str | None:
    """Why ``token`` is not a valid RFC 3161 response over ``entry_sha256`` under ``ca_pem`` (None: valid)."""
    try:
        response = decode_timestamp_response(in_der_order(token))
        roots = x509.load_pem_x509_certificates(ca_pem)
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        if nonce is not None:
            builder = builder.nonce(nonce)
        builder.build().verify(response, bytes.fromhex(entry_sha256))
    except VerificationError as error:
        return _short(str(error)) or "the signature does not check"
    except ValueError as error:
        return f"unreadable ({_short(str(error))})"
    return None


def in_der_order(token: bytes) -> bytes:
    """The time-stamp response with the certificates it embeds sorted as DER sorts a SET OF (the same
    bytes when they already are, or when it cannot be read: the verifier then says why)."""
    try:
        response = tsp.TimeStampResp.load(token)
        signed = response["time_stamp_token"]["content"]
        certificates = list(signed["certificates"])
        encoded = [certificate.dump() for certificate in certificates]
        if encoded == sorted(encoded):
            return token
        signed["certificates"] = cms.CertificateSet(
            [certificates[k] for k in sorted(range(len(encoded)), key=encoded.__getitem__)]
        )
        return bytes(response.dump())
    except (ValueError, TypeError, KeyError, AttributeError):
        return token


def _short(reason: str) -> str:
    """The first line of a verifier's reason, cut to a readable length."""
    line = reason.strip().splitlines()[0] if reason.strip() else ""
    return line if len(line) <= 160 else line[:157] + "..."


def stamp_heads(
    uow_factory: Callable[[], UnitOfWork],
    authority: TimestampAuthority,
    channel_ids: Iterable[int] | None = None,
) -> int:
    """Stamp the head of every channel (or of ``channel_ids``) that moved since its last token; returns how many."""
    stamped = 0
    with uow_factory() as uow:
        wanted = list(channel_ids) if channel_ids is not None else uow.ledger.channels()
    for channel_id in wanted:
        with uow_factory() as uow:
            seq, _ = uow.ledger.head(channel_id)
            if seq == 0 or uow.ledger.last_stamped(channel_id) >= seq:
                continue
            entry = uow.ledger.entry(channel_id, seq)
            if entry is None:
                continue
            token = authority.stamp(entry)
            uow.ledger.add_stamp(
                LedgerStamp(
                    channel_id, seq, entry.entry_sha256, authority.url, token, authority.ca_pem, utcnow()
                )
            )
            uow.commit()
        stamped += 1
        log.info("ledger head timestamped", channel_id=channel_id, seq=seq, tsa=authority.url)
    return stamped
