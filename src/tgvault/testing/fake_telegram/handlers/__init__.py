"""The fake Telegram's TL request handlers, one class per area (account, login, updates, channels, history,
uploads): each answers requests by reading and changing a :class:`~tgvault.testing.fake_telegram.world.FakeWorld`
and lists the request types it answers in ``handlers()``, the table :class:`~tgvault.testing.FakeTelegram`
dispatches on."""

from tgvault.testing.fake_telegram.handlers.account import AccountRequests
from tgvault.testing.fake_telegram.handlers.channels import ChannelRequests
from tgvault.testing.fake_telegram.handlers.history import HistoryRequests
from tgvault.testing.fake_telegram.handlers.login import LOGIN_FREE, LoginRequests
from tgvault.testing.fake_telegram.handlers.updates import UpdateRequests
from tgvault.testing.fake_telegram.handlers.uploads import UploadRequests

__all__ = [
    "LOGIN_FREE",
    "AccountRequests",
    "ChannelRequests",
    "HistoryRequests",
    "LoginRequests",
    "UpdateRequests",
    "UploadRequests",
]
