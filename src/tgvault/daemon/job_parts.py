"""What a channel's scheduled jobs (syncs and audits) share: the service's parts they run with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tgvault.config import ChannelConfig, Settings
from tgvault.daemon.channel_states import ChannelStates
from tgvault.daemon.options import ServiceOptions
from tgvault.daemon.rebuilds import RebuildQueue
from tgvault.daemon.shared_sources import ChannelArchivers
from tgvault.daemon.turns import ChannelTurns
from tgvault.errors import AccountError
from tgvault.services.plans import ChannelPlan


def _no_account_watch(channel: ChannelConfig, error: AccountError) -> None:
    return None


def _no_account_failure(channel: ChannelConfig) -> AccountError | None:
    return None


@dataclass(frozen=True)
class ChannelJobParts:
    """The config in force, the channels' archivers, states, turns and rebuilds, the service's options and
    clock, and how to ask whether a channel is still this worker's, whether the service is stopping and
    whether the account has failed (a job stops its channel at once when it has)."""

    settings: Callable[[], Settings]
    archivers: ChannelArchivers
    plan_for: Callable[[Settings, str], ChannelPlan]
    states: ChannelStates
    turns: ChannelTurns
    rebuilds: RebuildQueue
    options: ServiceOptions
    clock: Callable[[], datetime]
    serves: Callable[[str], bool]
    stopping: Callable[[], bool]
    on_account_failure: Callable[[ChannelConfig, AccountError], None] = _no_account_watch
    account_failure: Callable[[ChannelConfig], AccountError | None] = _no_account_failure
