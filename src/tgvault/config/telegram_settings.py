"""``[telegram]``: the MTProto client settings and its secrets (from the environment or 0600 files)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from tgvault.config.paths import resolve_path
from tgvault.config.secret_files import check_secret_file, read_secret_file
from tgvault.config.section_model import SettingsSection
from tgvault.errors import ConfigError

SECRET_FIELDS: Final = frozenset({"api_hash", "session_string"})


class TelegramSettings(SettingsSection):
    """``[telegram]``: the MTProto client. Secrets come only from the environment or 0600 files."""

    api_id: int | None = Field(default=None, gt=0)
    # The *_file fields are declared before the secrets so the secret validators can see them.
    api_hash_file: Path | None = None
    api_hash: SecretStr | None = None
    session_file: Path = Path("data/tgvault.session")
    session_string_file: Path | None = None
    session_string: SecretStr | None = None
    request_delay: float = Field(default=1.0, ge=0)
    flood_sleep_threshold: int = Field(default=60, ge=0)

    @field_validator("api_hash_file", "session_string_file")
    @classmethod
    def _check_secret_file(cls, value: Path | None) -> Path | None:
        if value is None or not str(value).strip():
            return None
        path = resolve_path(value)
        check_secret_file(path)
        return path

    @field_validator("api_hash", "session_string")
    @classmethod
    def _load_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            return SecretStr(value.get_secret_value().strip())
        path = info.data.get(f"{info.field_name}_file")
        if isinstance(path, Path):
            return SecretStr(read_secret_file(path))
        return None

    _resolve_session = field_validator("session_file")(resolve_path)

    def api_credentials(self) -> tuple[int, str]:
        """``(api_id, api_hash)``, or :class:`ConfigError` saying how to provide the missing one."""
        problems = []
        if self.api_id is None:
            problems.append(
                "telegram.api_id is not set; get one at https://my.telegram.org and set it in [telegram] "
                "or as TGVAULT_TELEGRAM__API_ID"
            )
        if self.api_hash is None:
            problems.append(
                "telegram.api_hash is not set; set TGVAULT_TELEGRAM__API_HASH or telegram.api_hash_file "
                "(a file readable only by you, chmod 600)"
            )
        if self.api_id is None or self.api_hash is None:
            raise ConfigError("\n".join(problems))
        return self.api_id, self.api_hash.get_secret_value()
