"""The fixed values every fake world shares: API credentials, the pre-shared auth key, the DC and the clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

__all__ = [
    "DEFAULT_LOGIN_CODE",
    "DEFAULT_NOW",
    "EPOCH",
    "FAKE_API_HASH",
    "FAKE_API_ID",
    "FAKE_AUTH_KEY",
    "SESSION_DC_ID",
]

SESSION_DC_ID = 2
"""The data center every fake session lives in; all fake media carries this ``dc_id``."""

FAKE_API_ID = 20_250_101
FAKE_API_HASH = "7467766175c7466616b65617069686173"
FAKE_AUTH_KEY = hashlib.shake_256(b"tgvault fake telegram auth key").digest(256)
"""The pre-shared 256-byte auth key fake sessions carry."""

DEFAULT_NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
"""The fake world's clock starts here (deterministic; advance it with :meth:`FakeTelegram.advance`)."""

DEFAULT_LOGIN_CODE = "12345"
"""The login code the fake "sends" to the account's other apps (see :meth:`FakeTelegram.require_login`)."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The Unix epoch (Telethon sends a missing date as the epoch)."""
