"""The server side of two-step verification: an account's password kept as an SRP-2048 verifier.

Written from the spec (https://core.telegram.org/api/srp): the account stores only the verifier
v = g^x mod p, where x = PH2(password, salt1, salt2); account.getPassword hands out B = k*v + g^b with a
fresh b per srp_id, and auth.checkPassword recomputes S = (A * v^u)^b, K = H(S) and
M1 = H(H(p) xor H(g) | H(salt1) | H(salt2) | A | B | K).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from telethon.tl import types

from tgvault.testing.fake_telegram.rpc import TL

__all__ = ["SRP_G", "SRP_P", "SrpPassword", "srp_pad"]

SRP_P = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F"
    "48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C37"
    "20FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"
    "2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4"
    "A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754"
    "FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"
    "E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"
    "0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B",
    16,
)
"""The 2048-bit safe prime Telegram uses for SRP (and for DH key exchange); ``g = 3``."""
SRP_G = 3
_SRP_BYTES = 256
_SRP_MIN_BITS = 2048 - 64  # "g^a, g^b must be at least 2^(2048-64) and at most p - 2^(2048-64)"


def srp_pad(number: int) -> bytes:
    """``number`` as 256 big-endian bytes, as SRP hashes and sends it."""
    return number.to_bytes(_SRP_BYTES, "big")


def _srp_h(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def _srp_good_power(value: int) -> bool:
    return value.bit_length() >= _SRP_MIN_BITS and (SRP_P - value).bit_length() >= _SRP_MIN_BITS


def _srp_password_hash(password: str, salt1: bytes, salt2: bytes) -> int:
    """``x = PH2(password, salt1, salt2)`` as a number: SH(data, salt) = H(salt | data | salt),
    PH1 = SH(SH(password, salt1), salt2), PH2 = SH(pbkdf2(sha512, PH1, salt1, 100000), salt2)."""
    ph1 = _srp_h(salt2, _srp_h(salt1, password.encode(), salt1), salt2)
    ph2 = _srp_h(salt2, hashlib.pbkdf2_hmac("sha512", ph1, salt1, 100_000), salt2)
    return int.from_bytes(ph2, "big")


@dataclass(eq=False)
class SrpPassword:
    """What the server keeps for an account's 2FA password: the salts and the verifier, never the password."""

    salt1: bytes
    salt2: bytes
    verifier: int
    hint: str | None
    pending: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    """``srp_id`` -> ``(b, B)`` handed out by ``account.getPassword`` and not used yet."""

    @classmethod
    def create(cls, password: str, hint: str | None) -> SrpPassword:
        """The verifier of ``password`` with fresh salts."""
        salt1, salt2 = secrets.token_bytes(40), secrets.token_bytes(16)
        x = _srp_password_hash(password, salt1, salt2)
        return cls(salt1, salt2, pow(SRP_G, x, SRP_P), hint)

    @property
    def algo(self) -> TL:
        """The ``PasswordKdfAlgo`` clients derive the password hash with."""
        return types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=self.salt1, salt2=self.salt2, g=SRP_G, p=srp_pad(SRP_P)
        )

    def _k(self) -> int:
        return int.from_bytes(_srp_h(srp_pad(SRP_P), srp_pad(SRP_G)), "big")

    def challenge(self) -> tuple[int, bytes]:
        """A new ``(srp_id, B)``: ``B = k*v + g^b mod p`` with a fresh secret ``b``."""
        while True:
            b = int.from_bytes(secrets.token_bytes(_SRP_BYTES), "big")
            g_b = pow(SRP_G, b, SRP_P)
            if not _srp_good_power(g_b):
                continue
            big_b = (self._k() * self.verifier + g_b) % SRP_P
            if big_b != 0:
                break
        srp_id = secrets.randbits(63)
        encoded = srp_pad(big_b)
        self.pending[srp_id] = (b, encoded)
        return srp_id, encoded

    def check(self, srp_id: int, a_bytes: bytes, m1: bytes) -> str | None:
        """``None`` when the client proved it knows the password, else the Telegram error to answer."""
        issued = self.pending.pop(srp_id, None)
        if issued is None:
            return "SRP_ID_INVALID"
        b, b_bytes = issued
        big_a = int.from_bytes(a_bytes, "big")
        if len(a_bytes) != _SRP_BYTES or not _srp_good_power(big_a):
            return "PASSWORD_HASH_INVALID"
        u = int.from_bytes(_srp_h(a_bytes, b_bytes), "big")
        shared = pow(big_a * pow(self.verifier, u, SRP_P) % SRP_P, b, SRP_P)
        key = _srp_h(srp_pad(shared))
        hp, hg = _srp_h(srp_pad(SRP_P)), _srp_h(srp_pad(SRP_G))
        expected = _srp_h(
            bytes(x ^ y for x, y in zip(hp, hg, strict=True)),
            _srp_h(self.salt1),
            _srp_h(self.salt2),
            a_bytes,
            b_bytes,
            key,
        )
        return None if hmac.compare_digest(expected, m1) else "PASSWORD_HASH_INVALID"
