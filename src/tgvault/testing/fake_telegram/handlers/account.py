"""Connection and account requests: ``help.getConfig`` (where every DC lives) and ``users.getUsers``."""

from __future__ import annotations

from datetime import timedelta

from telethon.tl import functions, types

from tgvault.testing.fake_telegram.rpc import TL, RequestHandler, rpc_error
from tgvault.testing.fake_telegram.world import FakeWorld

__all__ = ["AccountRequests"]


class AccountRequests:
    """Answers ``help.getConfig`` and ``users.getUsers`` for the world's account."""

    def __init__(self, world: FakeWorld) -> None:
        """Answer for ``world``."""
        self.world = world

    def handlers(self) -> dict[type, RequestHandler]:
        """The requests answered here, by type."""
        return {
            functions.help.GetConfigRequest: self.get_config,
            functions.users.GetUsersRequest: self.get_users,
        }

    def config(self) -> TL:
        """A realistic ``types.Config``: every DC (1-5) at ``host:port``, ``this_dc`` = the session's DC."""
        world = self.world
        options = [types.DcOption(id=dc, ip_address=world.host, port=world.port) for dc in range(1, 6)]
        options += [
            types.DcOption(id=dc, ip_address=world.host, port=world.port, media_only=True) for dc in (2, 4)
        ]
        return types.Config(
            date=world.clock,
            expires=world.clock + timedelta(hours=1),
            test_mode=False,
            this_dc=world.dc_id,
            dc_options=options,
            dc_txt_domain_name="apv3.stel.com",
            chat_size_max=200,
            megagroup_size_max=200_000,
            forwarded_count_max=100,
            online_update_period_ms=210_000,
            offline_blur_timeout_ms=5_000,
            offline_idle_timeout_ms=30_000,
            online_cloud_timeout_ms=300_000,
            notify_cloud_delay_ms=30_000,
            notify_default_delay_ms=1_500,
            push_chat_period_ms=60_000,
            push_chat_limit=2,
            edit_time_limit=172_800,
            revoke_time_limit=2_147_483_647,
            revoke_pm_time_limit=2_147_483_647,
            rating_e_decay=2_419_200,
            stickers_recent_limit=200,
            channels_read_media_period=604_800,
            call_receive_timeout_ms=20_000,
            call_ring_timeout_ms=90_000,
            call_connect_timeout_ms=30_000,
            call_packet_timeout_ms=10_000,
            me_url_prefix="https://t.me/",
            caption_length_max=1024,
            message_length_max=4096,
            webfile_dc_id=4,
            default_p2p_contacts=True,
            revoke_pm_inbox=True,
            tmp_sessions=None,
            gif_search_username="gif",
            venue_search_username="foursquare",
            img_search_username="pic",
            reactions_default=types.ReactionEmoji("👍"),
        )

    def get_config(self, request: TL) -> TL:
        """``help.getConfig``: :meth:`config`."""
        return self.config()

    def get_users(self, request: TL) -> TL:
        """``users.getUsers``: the account itself and known users (their access hash checked)."""
        world = self.world
        found = []
        for item in request.id:
            if isinstance(item, types.InputUserSelf) or getattr(item, "user_id", None) == world.self_user.id:
                found.append(world.self_user)
            elif isinstance(item, types.InputUser) and item.user_id in world.users:
                user = world.users[item.user_id]
                if user.access_hash != item.access_hash:
                    raise rpc_error(request, "USER_ID_INVALID")
                found.append(user)
        return found
