"""Signing the account in: ``auth.sendCode``, ``auth.signIn``, ``account.getPassword`` and
``auth.checkPassword`` (real SRP), with the login state they keep."""

from __future__ import annotations

import secrets

from telethon.tl import functions, types

from tgvault.testing.fake_telegram.defaults import FAKE_API_HASH, FAKE_API_ID
from tgvault.testing.fake_telegram.rpc import TL, RequestHandler, rpc_error
from tgvault.testing.fake_telegram.srp import SRP_G, SRP_P, SrpPassword, srp_pad
from tgvault.testing.fake_telegram.world import FakeWorld

__all__ = ["LOGIN_FREE", "LoginRequests"]

LOGIN_FREE: tuple[type, ...] = (
    functions.help.GetConfigRequest,
    functions.help.GetNearestDcRequest,
    functions.auth.SendCodeRequest,
    functions.auth.SignInRequest,
    functions.auth.CheckPasswordRequest,
    functions.account.GetPasswordRequest,
)
"""Requests Telegram answers for an auth key that is not signed in yet."""


class LoginRequests:
    """The account's login: codes handed out, the 2FA password (an SRP verifier) and the requests that
    sign in (``world.authorized`` and ``world.login_code`` are the world's)."""

    def __init__(self, world: FakeWorld) -> None:
        """No code handed out, no password."""
        self.world = world
        self.password: SrpPassword | None = None
        self.code_hashes: dict[str, str] = {}
        self.awaiting_password = False

    def handlers(self) -> dict[type, RequestHandler]:
        """The requests answered here, by type."""
        return {
            functions.auth.SendCodeRequest: self.send_code,
            functions.auth.SignInRequest: self.sign_in,
            functions.account.GetPasswordRequest: self.get_password,
            functions.auth.CheckPasswordRequest: self.check_password,
        }

    def forget_codes(self) -> None:
        """Forget the codes handed out and a sign-in waiting for the password."""
        self.code_hashes.clear()
        self.awaiting_password = False

    def set_password(self, password: str | None, *, hint: str | None = None) -> None:
        """Turn two-step verification on with ``password`` (stored as an SRP verifier only), or off."""
        self.password = None if password is None else SrpPassword.create(password, hint)

    def _phone_of(self, request: TL, phone: str) -> str:
        digits = phone.lstrip("+")
        if not digits.isdigit() or not 5 <= len(digits) <= 15:
            raise rpc_error(request, "PHONE_NUMBER_INVALID")
        return digits

    def send_code(self, request: TL) -> TL:
        """``auth.sendCode``: a code hash for the phone (the code goes to the account's other apps)."""
        if request.api_id != FAKE_API_ID or request.api_hash != FAKE_API_HASH:
            raise rpc_error(request, "API_ID_INVALID")
        phone = self._phone_of(request, request.phone_number)
        code_hash = secrets.token_hex(9)
        self.code_hashes[phone] = code_hash
        return types.auth.SentCode(
            type=types.auth.SentCodeTypeApp(length=len(self.world.login_code)), phone_code_hash=code_hash
        )

    def sign_in(self, request: TL) -> TL:
        """``auth.signIn``: the right code signs in (or asks for the password)."""
        phone = self._phone_of(request, request.phone_number)
        if not request.phone_code_hash:
            raise rpc_error(request, "PHONE_CODE_HASH_EMPTY")
        if self.code_hashes.get(phone) != request.phone_code_hash:
            raise rpc_error(request, "PHONE_CODE_EXPIRED")
        if not request.phone_code:
            raise rpc_error(request, "PHONE_CODE_EMPTY")
        if request.phone_code != self.world.login_code:
            raise rpc_error(request, "PHONE_CODE_INVALID")
        del self.code_hashes[phone]
        if phone != self.world.self_user.phone:
            return types.auth.AuthorizationSignUpRequired()
        if self.password is not None:
            self.awaiting_password = True
            raise rpc_error(request, "SESSION_PASSWORD_NEEDED", 401)
        return self._signed_in()

    def _signed_in(self) -> TL:
        self.world.authorized = True
        self.awaiting_password = False
        return types.auth.Authorization(user=self.world.self_user)

    def get_password(self, request: TL) -> TL:
        """``account.getPassword``: the password settings, with a fresh SRP challenge when one is set."""
        new_algo = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=secrets.token_bytes(8), salt2=secrets.token_bytes(16), g=SRP_G, p=srp_pad(SRP_P)
        )
        secure_algo = types.SecurePasswordKdfAlgoPBKDF2HMACSHA512iter100000(salt=secrets.token_bytes(8))
        stored = self.password
        if stored is None:
            return types.account.Password(
                new_algo=new_algo, new_secure_algo=secure_algo, secure_random=secrets.token_bytes(32)
            )
        srp_id, srp_b = stored.challenge()
        return types.account.Password(
            new_algo=new_algo,
            new_secure_algo=secure_algo,
            secure_random=secrets.token_bytes(32),
            has_password=True,
            current_algo=stored.algo,
            srp_B=srp_b,
            srp_id=srp_id,
            hint=stored.hint,
        )

    def check_password(self, request: TL) -> TL:
        """``auth.checkPassword``: an SRP proof of the password signs in."""
        stored = self.password
        if stored is None or not (self.awaiting_password or self.world.authorized):
            raise rpc_error(request, "AUTH_KEY_UNREGISTERED", 401)
        check = request.password
        if not isinstance(check, types.InputCheckPasswordSRP):
            raise rpc_error(request, "PASSWORD_HASH_INVALID")
        problem = stored.check(check.srp_id, check.A, check.M1)
        if problem is not None:
            raise rpc_error(request, problem)
        return self._signed_in()
