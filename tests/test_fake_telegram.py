"""The fake Telegram behaves like Telegram as seen through real, unmodified Telethon code.

Every test drives a real ``TelegramClient`` whose sender is the in-process ``FakeSender``: Telethon's own
pagination, entity cache, chunked downloads, flood-wait sleeping and error mapping all run. No network.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from telethon import errors
from telethon.extensions import BinaryReader
from telethon.sessions import StringSession
from telethon.tl import functions, types

from tgvault.testing import (
    FAKE_AUTH_KEY,
    SESSION_DC_ID,
    FakeChannel,
    FakeTelegram,
    TextBuilder,
    UnsupportedRequestError,
    add_post,
    build_realistic_channel,
    document_media,
    fake_client,
    photo_media,
    utf16_len,
)

T = TypeVar("T")
GetHistory = functions.messages.GetHistoryRequest


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion in a fresh event loop (no pytest-asyncio here)."""
    return asyncio.run(coro)


def with_client(
    world: FakeTelegram, body: Callable[[Any], Awaitable[T]], *, flood_sleep_threshold: int = 60
) -> T:
    """Connect a real TelegramClient to ``world``, run ``body(client)``, disconnect."""

    async def main() -> T:
        async with fake_client(world, flood_sleep_threshold=flood_sleep_threshold) as client:
            return await body(client)

    return run(main())


def plain_channel(world: FakeTelegram, n: int, username: str = "plain_channel") -> FakeChannel:
    """A channel with posts 1..n, one minute apart."""
    channel = world.add_channel(username)
    for i in range(1, n + 1):
        add_post(channel, f"post {i}", date=channel.date + timedelta(minutes=i))
    return channel


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The substring an entity covers (strict decoding fails if it splits a surrogate pair)."""
    return text.encode("utf-16-le")[2 * offset : 2 * (offset + length)].decode("utf-16-le")


# -- connecting ---------------------------------------------------------------------------------------------


def test_connect_runs_telethons_login_sequence_and_exposes_a_real_disconnected_future() -> None:
    """connect() sends GetConfig (wrapped), GetUsers(self), GetState, GetDifference; ``disconnected`` is a
    real future that is pending while connected and resolves on disconnect."""
    world = FakeTelegram()

    async def main() -> tuple[list[str], bool, bool, str]:
        async with fake_client(world) as client:
            disconnected = client.disconnected
            assert isinstance(disconnected, asyncio.Future)
            pending = not disconnected.done()
            me = await client.get_me()
            names = [type(r).__name__ for r in world.requests[:4]]
        await asyncio.sleep(0)
        return names, pending, disconnected.done(), me.username

    names, pending, done, username = run(main())
    assert ["GetConfigRequest", "GetUsersRequest", "GetStateRequest", "GetDifferenceRequest"] == names
    assert pending
    assert done
    assert "tgvault_keeper" == username


def test_session_string_and_config_point_at_the_local_dc_2() -> None:
    """The StringSession carries DC 2 at 127.0.0.1:port and the pre-shared key; help.getConfig agrees."""
    world = FakeTelegram(port=12345)
    session = StringSession(world.session_string())
    assert (SESSION_DC_ID, "127.0.0.1", 12345) == (session.dc_id, session.server_address, session.port)
    assert FAKE_AUTH_KEY == session.auth_key.key

    config = with_client(world, lambda client: client(functions.help.GetConfigRequest()))
    assert 2 == config.this_dc
    assert {("127.0.0.1", 12345)} == {(o.ip_address, o.port) for o in config.dc_options}
    assert {1, 2, 3, 4, 5} <= {o.id for o in config.dc_options}


def test_unknown_request_raises_an_error_naming_it() -> None:
    """A request the fake cannot answer fails loudly, naming the request type."""
    world = FakeTelegram()

    async def body(client: Any) -> None:
        await client(functions.help.GetNearestDcRequest())

    with pytest.raises(UnsupportedRequestError, match="GetNearestDcRequest"):
        with_client(world, body)


# -- history ------------------------------------------------------------------------------------------------


def test_iter_messages_returns_all_250_posts_newest_first_in_exactly_3_requests() -> None:
    """Telethon's pagination over a 250-post channel: every id once, descending, 100 + 100 + 50."""
    world = FakeTelegram()
    channel = build_realistic_channel(world, 250, seed=1)

    async def body(client: Any) -> list[int]:
        return [m.id async for m in client.iter_messages(f"@{channel.username}", wait_time=0)]

    ids = with_client(world, body)
    assert list(range(250, 0, -1)) == ids
    assert 3 == world.count(GetHistory)


def test_iter_messages_min_id_max_id_offset_id_and_reverse_behave() -> None:
    """The ranges Telethon users rely on come out exactly as from Telegram."""
    world = FakeTelegram()
    plain_channel(world, 250)

    async def body(client: Any) -> dict[str, list[int]]:
        async def ids(**kwargs: Any) -> list[int]:
            return [m.id async for m in client.iter_messages("@plain_channel", wait_time=0, **kwargs)]

        return {
            "min_id": await ids(min_id=200),
            "max_id": await ids(max_id=50),
            "min_and_max": await ids(min_id=100, max_id=110),
            "offset_id": await ids(offset_id=100, limit=10),
            "reverse": await ids(reverse=True),
            "reverse_min_id": await ids(reverse=True, min_id=240),
            "reverse_offset_id": await ids(reverse=True, offset_id=10, limit=5),
            "reverse_max_id": await ids(reverse=True, max_id=4),
        }

    got = with_client(world, body)
    assert list(range(250, 200, -1)) == got["min_id"]
    assert list(range(49, 0, -1)) == got["max_id"]
    assert list(range(109, 100, -1)) == got["min_and_max"]
    assert list(range(99, 89, -1)) == got["offset_id"]
    assert list(range(1, 251)) == got["reverse"]
    assert list(range(241, 251)) == got["reverse_min_id"]
    assert [11, 12, 13, 14, 15] == got["reverse_offset_id"]
    assert [1, 2, 3] == got["reverse_max_id"]


def test_get_history_follows_telegrams_offset_semantics() -> None:
    """Raw messages.getHistory: below offset_id, shifted by add_offset, limit capped at 100, min/max_id
    bound the range, offset_date means strictly earlier, count is the channel total."""
    world = FakeTelegram()
    channel = plain_channel(world, 250)
    peer = channel.input_peer

    def history(**kw: Any) -> Any:
        args = {"offset_id": 0, "offset_date": None, "add_offset": 0, "limit": 100, "max_id": 0, "min_id": 0}
        return GetHistory(peer=peer, hash=0, **{**args, **kw})

    async def body(client: Any) -> dict[str, Any]:
        async def ids(**kw: Any) -> list[int]:
            return [m.id for m in (await client(history(**kw))).messages]

        result = await client(history(limit=5))
        return {
            "newest": [m.id for m in result.messages],
            "count": result.count,
            "pts": result.pts,
            "chats": [c.id for c in result.chats],
            "below": await ids(offset_id=100, limit=3),
            "shifted": await ids(offset_id=100, add_offset=-5, limit=10),
            "capped": len(await ids(limit=500)),
            "max_id": await ids(max_id=10, limit=3),
            "min_id": await ids(min_id=245),
            "date": await ids(offset_date=channel.messages[20].date, limit=2),
            "past_end": await ids(offset_id=3, limit=10),
        }

    got = with_client(world, body)
    assert [250, 249, 248, 247, 246] == got["newest"]
    assert 250 == got["count"]
    assert channel.pts == got["pts"]
    assert [channel.id] == got["chats"]
    assert [99, 98, 97] == got["below"]
    assert list(range(104, 94, -1)) == got["shifted"]
    assert 100 == got["capped"]
    assert [9, 8, 7] == got["max_id"]
    assert [250, 249, 248, 247, 246] == got["min_id"]
    assert [19, 18] == got["date"]
    assert [2, 1] == got["past_end"]


def test_new_edited_and_deleted_posts_show_up_like_on_telegram() -> None:
    """Adding, editing (same id, edit_date set) and deleting (gone from history, MessageEmpty by id)."""
    world = FakeTelegram()
    channel = plain_channel(world, 10)
    add_post(channel, "brand new 🇷🇺")
    world.edit_message(channel, 3, "fixed typo", [types.MessageEntityBold(0, 5)])
    world.delete_messages(channel, [5])

    async def body(client: Any) -> tuple[Any, ...]:
        history = [m async for m in client.iter_messages("@plain_channel", wait_time=0)]
        edited, deleted = await client.get_messages("@plain_channel", ids=[3, 5])
        raw = await client(
            functions.channels.GetMessagesRequest(channel.input_channel, [types.InputMessageID(5)])
        )
        return history, edited, deleted, raw

    history, edited, deleted, raw = with_client(world, body)
    assert [11, 10, 9, 8, 7, 6, 4, 3, 2, 1] == [m.id for m in history]
    assert "brand new 🇷🇺" == history[0].message
    assert ("fixed typo", 3) == (edited.message, edited.id)
    assert edited.edit_date is not None and edited.edit_date > edited.date
    assert [types.MessageEntityBold(0, 5)] == edited.entities
    assert deleted is None
    assert [types.MessageEmpty] == [type(m) for m in raw.messages]
    assert 5 == raw.messages[0].id
    assert 12 == channel.next_id()


# -- entities -----------------------------------------------------------------------------------------------


def test_get_entity_resolves_a_username_and_an_unknown_one_raises() -> None:
    """``@username`` resolves to the channel; unknown usernames fail the way Telegram makes Telethon fail."""
    world = FakeTelegram()
    channel = world.add_channel("Known_Channel", "Известный канал 📚", about="About 🇪🇬")

    async def body(client: Any) -> tuple[Any, Any, Exception, Exception]:
        entity = await client.get_entity("@known_channel")
        full = await client(functions.channels.GetFullChannelRequest(entity))
        with pytest.raises(ValueError) as unknown:
            await client.get_entity("@nobody_uses_this")
        with pytest.raises(errors.UsernameInvalidError) as invalid:
            await client(functions.contacts.ResolveUsernameRequest("ab"))
        return entity, full, unknown.value, invalid.value

    entity, full, unknown, invalid = with_client(world, body)
    assert (channel.id, "Известный канал 📚", "Known_Channel") == (entity.id, entity.title, entity.username)
    assert entity.broadcast
    assert ("About 🇪🇬", 1000) == (full.full_chat.about, full.full_chat.participants_count)
    assert isinstance(unknown.__cause__, errors.UsernameNotOccupiedError)
    assert isinstance(invalid, errors.UsernameInvalidError)


def test_a_vanished_channel_stops_resolving_and_its_old_access_hash_is_private() -> None:
    """After the channel goes private: username not occupied, history on the cached hash CHANNEL_PRIVATE."""
    world = FakeTelegram()
    channel = plain_channel(world, 5, "soon_gone")

    async def body(client: Any) -> tuple[Any, ...]:
        entity = await client.get_input_entity("@soon_gone")
        world.vanish_channel(channel)
        with pytest.raises(ValueError) as resolve:
            await client.get_entity("@soon_gone")
        with pytest.raises(errors.ChannelPrivateError) as history:
            await client.get_messages(entity, limit=5)
        chats = await client(functions.channels.GetChannelsRequest([channel.input_channel]))
        return resolve.value, history.value, chats.chats[0]

    resolve, history, chat = with_client(world, body)
    assert isinstance(resolve.__cause__, errors.UsernameNotOccupiedError)
    assert isinstance(history.request, GetHistory)
    assert isinstance(chat, types.ChannelForbidden)


# -- media --------------------------------------------------------------------------------------------------


def test_download_media_returns_exactly_the_stored_bytes_for_a_photo_and_a_multi_chunk_document() -> None:
    """Telethon picks the largest photo size and downloads a >512 KiB document in several GetFile chunks."""
    world = FakeTelegram()
    channel = world.add_channel("media_channel")
    photo = add_post(channel, "photo", media=photo_media(channel, size=30_000, seed=7))
    document = add_post(channel, "doc", media=document_media(channel, "file", size=700 * 1024 + 123, seed=9))

    async def body(client: Any) -> tuple[bytes, bytes]:
        got_photo, got_doc = await client.get_messages("@media_channel", ids=[photo.id, document.id])
        return await client.download_media(got_photo, bytes), await client.download_media(got_doc, bytes)

    photo_bytes, document_bytes = with_client(world, body)
    assert world.file_bytes(photo) == photo_bytes
    assert 30_000 == len(photo_bytes)
    assert photo_bytes.startswith(b"\xff\xd8\xff")
    assert world.file_bytes(document) == document_bytes
    assert 700 * 1024 + 123 == len(document_bytes)
    assert world.count(functions.upload.GetFileRequest) >= 1 + 2


def test_an_expired_file_reference_fails_until_the_message_is_read_again() -> None:
    """FILE_REFERENCE_EXPIRED for the reference handed out before; re-reading the message gives a new
    reference that works. For documents Telethon re-reads the message itself and the download succeeds."""
    world = FakeTelegram()
    channel = world.add_channel("refs_channel")
    photo = add_post(channel, "photo", media=photo_media(channel, size=10_000, seed=1))
    document = add_post(channel, "doc", media=document_media(channel, "video", size=20_000, seed=2))

    async def body(client: Any) -> tuple[Any, ...]:
        old_photo, old_document = await client.get_messages("@refs_channel", ids=[photo.id, document.id])
        world.expire_file_reference(channel, photo.id)
        world.expire_file_reference(channel, document.id)
        with pytest.raises(errors.FileReferenceExpiredError):
            await client.download_media(old_photo, bytes)
        with pytest.raises(errors.FileReferenceExpiredError):  # still the old reference
            await client.download_media(old_photo, bytes)
        fresh_photo = await client.get_messages("@refs_channel", ids=photo.id)
        photo_bytes = await client.download_media(fresh_photo, bytes)
        reads_before = world.count(functions.channels.GetMessagesRequest)
        document_bytes = await client.download_media(old_document, bytes)
        reads_after = world.count(functions.channels.GetMessagesRequest)
        return old_photo, fresh_photo, photo_bytes, document_bytes, reads_after - reads_before

    old_photo, fresh_photo, photo_bytes, document_bytes, rereads = with_client(world, body)
    assert old_photo.photo.file_reference != fresh_photo.photo.file_reference
    assert world.file_bytes(photo) == photo_bytes
    assert world.file_bytes(document) == document_bytes
    assert 1 == rereads


def test_strict_file_references_expire_whenever_the_message_is_read_again() -> None:
    """With ``strict_file_references`` each read hands out a new reference and the older ones expire."""
    world = FakeTelegram()
    world.strict_file_references = True
    channel = world.add_channel("strict_refs")
    post = add_post(channel, "photo", media=photo_media(channel, size=5_000, seed=3))

    async def body(client: Any) -> bytes:
        first = await client.get_messages("@strict_refs", ids=post.id)
        second = await client.get_messages("@strict_refs", ids=post.id)
        with pytest.raises(errors.FileReferenceExpiredError):
            await client.download_media(first, bytes)
        data: bytes = await client.download_media(second, bytes)
        return data

    assert world.file_bytes(post) == with_client(world, body)


def test_media_lives_in_the_sessions_dc() -> None:
    """Fake photos and documents carry dc_id 2, so Telethon never opens a second connection."""
    world = FakeTelegram()
    channel = build_realistic_channel(world, 120, seed=5)
    dcs = {
        obj.dc_id
        for message in channel.messages.values()
        for obj in (getattr(getattr(message, "media", None), name, None) for name in ("photo", "document"))
        if obj is not None
    }
    assert {SESSION_DC_ID} == dcs


def test_get_file_rejects_limits_and_offsets_telegram_rejects() -> None:
    """upload.getFile: limit a multiple of 4 KiB dividing 1 MiB, offset a multiple of 4 KiB."""
    world = FakeTelegram()
    channel = world.add_channel("limits_channel")
    post = add_post(
        channel, "", media=document_media(channel, "file", size=10_000, mime_type="application/zip")
    )
    document = post.media.document
    location = types.InputDocumentFileLocation(document.id, document.access_hash, document.file_reference, "")

    async def body(client: Any) -> tuple[Any, ...]:
        with pytest.raises(errors.LimitInvalidError):
            await client(functions.upload.GetFileRequest(location, offset=0, limit=1000))
        with pytest.raises(errors.OffsetInvalidError):
            await client(functions.upload.GetFileRequest(location, offset=100, limit=4096))
        part = await client(functions.upload.GetFileRequest(location, offset=8192, limit=4096))
        return (part,)

    (part,) = with_client(world, body)
    assert world.file_bytes(post)[8192:] == part.bytes
    assert isinstance(part.type, types.storage.FileUnknown)


# -- faults -------------------------------------------------------------------------------------------------


def test_a_flood_wait_within_the_threshold_is_slept_through_by_telethon() -> None:
    """FLOOD_WAIT_1 with flood_sleep_threshold=1: Telethon sleeps and retries; the caller sees no error."""
    world = FakeTelegram()
    plain_channel(world, 20)
    world.flood_wait(GetHistory, 1)

    async def body(client: Any) -> list[int]:
        return [m.id async for m in client.iter_messages("@plain_channel", wait_time=0)]

    ids = with_client(world, body, flood_sleep_threshold=1)
    assert list(range(20, 0, -1)) == ids
    assert 2 == world.count(GetHistory)


def test_a_flood_wait_above_the_threshold_raises_flood_wait_error_with_its_seconds() -> None:
    """FLOOD_WAIT_1 with flood_sleep_threshold=0 reaches the caller as FloodWaitError(seconds=1)."""
    world = FakeTelegram()
    plain_channel(world, 20)
    world.flood_wait(GetHistory, 1)

    async def body(client: Any) -> Any:
        with pytest.raises(errors.FloodWaitError) as raised:
            await client.get_messages("@plain_channel", limit=5)
        return raised.value

    error = with_client(world, body, flood_sleep_threshold=0)
    assert 1 == error.seconds
    assert isinstance(error.request, GetHistory)


def test_fail_next_injects_any_rpc_error_once() -> None:
    """A queued fault fires on the next matching request only."""
    world = FakeTelegram()
    plain_channel(world, 3)
    world.fail_next(GetHistory, "CHANNEL_PRIVATE")

    async def body(client: Any) -> list[int]:
        with pytest.raises(errors.ChannelPrivateError):
            await client.get_messages("@plain_channel", limit=3)
        return [m.id for m in await client.get_messages("@plain_channel", limit=3)]

    assert [3, 2, 1] == with_client(world, body)


def test_channel_difference_is_empty_when_up_to_date_and_too_long_otherwise() -> None:
    """updates.getChannelDifference: nothing new at the current pts; behind it, ``TooLong`` with the top."""
    world = FakeTelegram()
    channel = plain_channel(world, 4)

    async def body(client: Any) -> tuple[Any, Any]:
        def difference(pts: int) -> Any:
            empty = types.ChannelMessagesFilterEmpty()
            return functions.updates.GetChannelDifferenceRequest(channel.input_channel, empty, pts, 100)

        return await client(difference(channel.pts)), await client(difference(1))

    current, behind = with_client(world, body)
    assert isinstance(current, types.updates.ChannelDifferenceEmpty)
    assert isinstance(behind, types.updates.ChannelDifferenceTooLong)
    assert ([4], channel.pts) == ([m.id for m in behind.messages], behind.dialog.pts)


def test_views_and_reactions_requests() -> None:
    """messages.getMessagesViews (with increment) and messages.getMessagesReactions answer per id."""
    world = FakeTelegram()
    channel = world.add_channel("counters")
    reactions = types.MessageReactions(
        results=[
            types.ReactionCount(types.ReactionEmoji("🔥"), 25),
            types.ReactionCount(types.ReactionCustomEmoji(5_368_324_170_671_202_286), 3),
        ]
    )
    add_post(channel, "counted", views=10, forwards=2, reactions=reactions)

    async def body(client: Any) -> tuple[Any, Any]:
        views = await client(functions.messages.GetMessagesViewsRequest(channel.input_peer, [1, 2], True))
        updates = await client(functions.messages.GetMessagesReactionsRequest(channel.input_peer, [1]))
        return views, updates

    views, updates = with_client(world, body)
    assert [(11, 2), (None, None)] == [(v.views, v.forwards) for v in views.views]
    assert [bytes(reactions)] == [bytes(u.reactions) for u in updates.updates]


# -- content ------------------------------------------------------------------------------------------------


def test_text_builder_measures_offsets_in_utf16_code_units() -> None:
    """Flags are 4 units, a ZWJ family 11, a tag-sequence flag 14: entities land on the intended text."""
    tb = TextBuilder().add("Привет, ").add("🇷🇺 мир", types.MessageEntityBold).add(" 👨‍👩‍👧‍👦 ")
    tb.add("#тег", types.MessageEntityHashtag).add("\n").add("🏴󠁧󠁢󠁳󠁣󠁴󠁿", types.MessageEntityItalic)
    text, entities = tb.build()
    expected = [
        types.MessageEntityBold(8, 8),
        types.MessageEntityHashtag(29, 4),
        types.MessageEntityItalic(34, 14),
    ]
    assert expected == entities
    assert 4 == utf16_len("🇷🇺")
    for entity, intended in tb.spans:
        assert intended == utf16_slice(text, entity.offset, entity.length)


def test_generated_entities_land_on_the_intended_substrings() -> None:
    """Across a generated channel every entity decodes cleanly (no split surrogates, no stray spaces) and
    its text has the shape its type promises; every entity type appears."""
    world = FakeTelegram()
    channel = build_realistic_channel(world, 400, seed=3)
    shapes: dict[type, Callable[[str], bool]] = {
        types.MessageEntityMention: lambda s: s.startswith("@"),
        types.MessageEntityHashtag: lambda s: s.startswith("#"),
        types.MessageEntityCashtag: lambda s: s.startswith("$"),
        types.MessageEntityBotCommand: lambda s: s.startswith("/"),
        types.MessageEntityEmail: lambda s: "@" in s and " " not in s,
        types.MessageEntityPhone: lambda s: s.startswith("+"),
        types.MessageEntityUrl: lambda s: "." in s and " " not in s,
        types.MessageEntityCustomEmoji: lambda s: any(ord(c) > 0x2000 for c in s),
    }
    seen: set[type] = set()
    for message in channel.messages.values():
        for entity in getattr(message, "entities", None) or []:
            covered = utf16_slice(message.message, entity.offset, entity.length)
            assert covered and covered == covered.strip(), (message.id, entity)
            assert entity.offset + entity.length <= utf16_len(message.message)
            shape = shapes.get(type(entity))
            assert shape is None or shape(covered), (message.id, entity, covered)
            seen.add(type(entity))
    wanted = {
        types.MessageEntityBold, types.MessageEntityItalic, types.MessageEntityUnderline,
        types.MessageEntityStrike, types.MessageEntitySpoiler, types.MessageEntityCode,
        types.MessageEntityPre, types.MessageEntityTextUrl, types.MessageEntityUrl,
        types.MessageEntityMention,
        types.MessageEntityHashtag, types.MessageEntityCashtag, types.MessageEntityEmail,
        types.MessageEntityPhone, types.MessageEntityBotCommand, types.MessageEntityBlockquote,
        types.MessageEntityCustomEmoji,
    }  # fmt: skip
    assert wanted <= seen
    assert any(isinstance(e, types.MessageEntityPre) and e.language for m in channel.messages.values()
               for e in getattr(m, "entities", None) or [])  # fmt: skip


def test_a_short_realistic_channel_has_every_shape_an_archiver_meets() -> None:
    """60 posts already include albums, polls, previews, places, contacts, every document kind, service
    messages, forwards of three kinds, replies, signatures, edits and both kinds of reactions."""
    world = FakeTelegram()
    channel = build_realistic_channel(world, 60, seed=11)
    messages = [channel.messages[i] for i in channel.ids]
    assert list(range(1, 61)) == channel.ids
    posts = [m for m in messages if isinstance(m, types.Message)]
    actions = {type(m.action) for m in messages if isinstance(m, types.MessageService)}
    assert {
        types.MessageActionChannelCreate,
        types.MessageActionPinMessage,
        types.MessageActionChatEditTitle,
    } <= actions
    media = {type(m.media) for m in posts if m.media}
    assert {
        types.MessageMediaPhoto, types.MessageMediaDocument, types.MessageMediaPoll,
        types.MessageMediaWebPage, types.MessageMediaGeo, types.MessageMediaVenue, types.MessageMediaContact,
    } <= media  # fmt: skip
    attributes = [
        a
        for m in posts
        if isinstance(m.media, types.MessageMediaDocument)
        for a in m.media.document.attributes
    ]
    names = {a.file_name for a in attributes if isinstance(a, types.DocumentAttributeFilename)}
    assert "../../etc/passwd" in names
    assert any(isinstance(a, types.DocumentAttributeVideo) and a.round_message for a in attributes)
    assert any(isinstance(a, types.DocumentAttributeAnimated) for a in attributes)
    assert any(isinstance(a, types.DocumentAttributeAudio) and a.voice for a in attributes)
    assert any(isinstance(a, types.DocumentAttributeAudio) and a.title and a.performer for a in attributes)
    assert any(isinstance(a, types.DocumentAttributeSticker) for a in attributes)
    groups: dict[int, int] = {}
    for m in posts:
        if m.grouped_id:
            groups[m.grouped_id] = groups.get(m.grouped_id, 0) + 1
    assert groups and all(count >= 2 for count in groups.values())
    polls = [m.media for m in posts if isinstance(m.media, types.MessageMediaPoll)]
    assert all(p.results.total_voters == sum(r.voters for r in p.results.results) for p in polls)
    forwards = [m.fwd_from for m in posts if m.fwd_from]
    assert any(isinstance(f.from_id, types.PeerChannel) for f in forwards)
    assert any(isinstance(f.from_id, types.PeerUser) for f in forwards)
    assert any(f.from_name for f in forwards)
    assert any(m.reply_to and m.reply_to.reply_to_msg_id < m.id for m in posts)
    assert any(m.post_author for m in posts)
    assert any(m.edit_date and m.edit_date > m.date for m in posts)
    reaction_kinds = {type(r.reaction) for m in posts if m.reactions for r in m.reactions.results}
    assert {types.ReactionEmoji, types.ReactionCustomEmoji} <= reaction_kinds
    dates = [m.date for m in messages]
    assert dates == sorted(dates)
    assert dates[-1] <= world.now()


def test_generated_content_survives_tl_serialization_and_history_names_forward_sources() -> None:
    """Every generated message is valid TL; history answers carry the chats/users forwards refer to."""
    world = FakeTelegram()
    channel = build_realistic_channel(world, 300, seed=4)
    for message in channel.messages.values():
        with BinaryReader(bytes(message)) as reader:
            assert bytes(message) == bytes(reader.tgread_object())

    async def body(client: Any) -> Any:
        return await client(
            GetHistory(channel.input_peer, offset_id=0, offset_date=None, add_offset=0, limit=100, max_id=0,
                       min_id=0, hash=0)
        )  # fmt: skip

    result = with_client(world, body)
    forwarded = [m.fwd_from.from_id for m in result.messages if getattr(m, "fwd_from", None)]
    chat_ids = {c.id for c in result.chats}
    user_ids = {u.id for u in result.users}
    for peer in forwarded:
        if isinstance(peer, types.PeerChannel):
            assert peer.channel_id in chat_ids
        elif isinstance(peer, types.PeerUser):
            assert peer.user_id in user_ids


def test_builder_messages_equal_ones_made_by_telethons_constructor() -> None:
    """The builder's fast path (copying a template instead of running Message.__init__) gives the same
    object Telethon's constructor would."""
    world = FakeTelegram()
    channel = build_realistic_channel(world, 80, seed=2)
    parameters = [p for p in inspect.signature(types.Message.__init__).parameters if p != "self"]
    for message in channel.messages.values():
        if not isinstance(message, types.Message):
            continue
        rebuilt = types.Message(**{name: getattr(message, name) for name in parameters})
        assert rebuilt.__dict__ == message.__dict__


def test_the_same_seed_builds_the_same_channel() -> None:
    """Generation is deterministic: same seed, same posts and file bytes."""
    first = build_realistic_channel(FakeTelegram(), 50, seed=9)
    second = build_realistic_channel(FakeTelegram(), 50, seed=9)
    assert [m.to_dict() for m in first.messages.values()] == [m.to_dict() for m in second.messages.values()]
    some = next(iter(first.files))
    assert first.files[some].content() == second.files[some].content()


def test_build_continues_an_existing_channel_without_gaps_and_without_media() -> None:
    """Building into a channel that has posts continues its ids; with_media=False leaves out files."""
    world = FakeTelegram()
    channel = plain_channel(world, 7)
    build_realistic_channel(channel, 30, seed=1, with_media=False)
    assert list(range(1, 38)) == channel.ids
    assert not channel.files


def test_realistic_posts_added_without_renames_keep_the_channel_title() -> None:
    world = FakeTelegram()
    channel = build_realistic_channel(world, 60, seed=11)
    title = channel.title
    for seed in range(5):
        build_realistic_channel(channel, 100, seed=seed, renames=False)
    actions = {type(m.action) for m in channel.messages.values() if isinstance(m, types.MessageService)}
    assert len(channel.ids) == 560
    assert types.MessageActionPinMessage in actions
    assert title == channel.title
    new = [channel.messages[i] for i in channel.ids[60:]]
    assert not any(isinstance(getattr(m, "action", None), types.MessageActionChatEditTitle) for m in new)
