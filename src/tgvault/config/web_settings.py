"""``[web]``: reading the public web preview (``t.me/s/<channel>``) without an account."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from tgvault.config.section_model import SettingsSection


def _default_user_agent() -> str:
    from tgvault import __version__

    return f"tgvault/{__version__} (archiver of public Telegram channels; one request at a time)"


class WebSettings(SettingsSection):
    """``[web]``: the public web preview (``t.me/s/<channel>``), read without an account."""

    base_url: str = "https://t.me"
    request_delay: float = Field(default=1.0, ge=0)
    user_agent: str = Field(default_factory=_default_user_agent, min_length=1)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        split = urlsplit(value.strip())
        if split.scheme not in ("http", "https") or not split.netloc or split.query or split.fragment:
            raise ValueError(
                f"{value!r} is not an http(s) URL; expected 'https://t.me' (or a test server such as "
                "'http://127.0.0.1:8080')"
            )
        return value.strip().rstrip("/")

    @field_validator("user_agent")
    @classmethod
    def _check_user_agent(cls, value: str) -> str:
        if not value.strip() or any(ch in value for ch in "\r\n"):
            raise ValueError("the User-Agent must be one non-empty line of text")
        return value.strip()
