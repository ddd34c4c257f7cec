"""The sample channel of ``tgvault demo``: an imaginary observatory's channel with one post of each kind.

Long multi-paragraph text, emoji flags, hashtags, bullet lists, links and a link preview, an album of
three photos, single photos, a poll, a forward from another channel, a reply, a PDF document, reactions
and views. :func:`apply_sample_changes` then edits one post and deletes another, so an archive that read
the channel before and after holds two revisions of the first and a tombstone for the second.

Everything is fixed (texts, dates, counters, file bytes), so the channel is the same in every process and
a second demo run finds nothing new. Every link points at example.org (reserved for examples).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from telethon.extensions import markdown
from telethon.tl import types

from tgvault.testing.content.media import document_media, photo_media
from tgvault.testing.content.posts import add_post
from tgvault.testing.content.sample_files import aurora_picture, dome_picture, pdf_bytes, sunrise_picture
from tgvault.testing.content.text import TL, utf16_len
from tgvault.testing.fake_telegram import FakeChannel, FakeTelegram

__all__ = [
    "SAMPLE_CHANNELS",
    "SAMPLE_TITLE",
    "SAMPLE_USERNAME",
    "SOURCE_TITLE",
    "SOURCE_USERNAME",
    "SampleChannelFacts",
    "apply_sample_changes",
    "build_sample_channel",
    "sample_facts",
]

SAMPLE_USERNAME = "tgvault_sample"
SAMPLE_TITLE = "Northern Lights Observatory (sample)"
SOURCE_USERNAME = "tgvault_sample_spaceweather"
SOURCE_TITLE = "Space Weather Bulletin (sample)"
SAMPLE_CHANNELS = (f"@{SAMPLE_USERNAME}", f"@{SOURCE_USERNAME}")
"""The demo's channels: the observatory, and the bulletin it forwards from."""
_ABOUT = "A made-up channel of an imaginary observatory, archived by `tgvault demo`. Nothing here is real."
_SOURCE_ABOUT = "Made-up space weather forecasts for `tgvault demo`. Not a forecast of anything."

_ALBUM_GROUP = 13_579_246_800_000_001
_EDIT_DATE = datetime(2025, 12, 21, 8, 0, tzinfo=UTC)

_WELCOME = """\
🔭 **Welcome to the Northern Lights Observatory channel!**

We are a small volunteer-run observatory on a ridge above the fjord, about 70 km from the nearest town \
and far from its lights. From October to March the sky above us is dark for most of the day, and on a \
good night the aurora fills it from one horizon to the other.

Here we will post what the cameras saw last night, the nights we open the dome to visitors, and notes \
on how we photograph the sky. Forecasts come from our friends at the space weather service; the \
pictures come from our own all-sky camera.

Questions are welcome in the comments. Our full programme is on [our website](https://example.org/observatory), \
and the live camera is at https://example.org/observatory/live

#welcome #aurora #observatory"""

_PARTNERS = """\
🌍 **Our partner stations this winter**

Five observatories share their all-sky cameras with us, so when our ridge is under cloud we can still \
follow the aurora:

🇳🇴 Tromsø — the busiest sky camera in the network
🇫🇮 Sodankylä — magnetometer readings every ten seconds
🇮🇸 Akureyri — the best view of the eastern arc
🇨🇦 Yellowknife — ten hours behind us, so the storms arrive there in daylight for us
🇳🇿 Lake Tekapo — the southern lights, when the storm is strong enough to reach both poles

What we share:
• a picture every 30 seconds from each camera
• the local magnetic field, as a chart updated every minute
• a short note from the night's observer

#partners #aurora"""

_ALBUM_CAPTION = """\
🌌 Last night from the ridge camera, 23:10–23:40 local time. The curtain moved from green to violet \
as the storm peaked; the third frame was taken looking north-east over the fjord.

#aurora #allsky"""

_DOCUMENT_CAPTION = """\
📄 **The winter observing guide** is ready: what to wear, where to stand, how to set up a camera, and \
what the numbers in our forecasts mean. Two minutes to read, and it fits on one page.

#guide"""

_POLL_QUESTION = "Which night should we open the dome for visitors next week?"
_POLL_OPTIONS = ("Friday", "Saturday", "Sunday", "Any clear night — surprise us")
_POLL_VOTES = (41, 96, 58, 133)

_OUTLOOK = """\
☀️ **Weekly outlook, 1–7 December:** quiet to unsettled.

The Sun has been calm this week; a small coronal hole may bring a fast solar wind stream on the 5th. \
Expect Kp 2–4, with faint aurora at high latitudes only.

#spaceweather #outlook"""

_SUNSPOT = """\
🌞 A large sunspot group has rotated into view on the Sun's eastern edge. It has produced two M-class \
flares in the last 24 hours; we are watching it closely.

#spaceweather #sunspots"""

_STORM_WATCH = """\
⚠️ **Geomagnetic storm watch (G2)** for 14–15 December.

A coronal mass ejection that left the Sun on 11 December is expected to reach Earth late on the 14th. \
Aurora may be seen well south of its usual band.

• Expected arrival: 14 December, 20:00–02:00 UTC
• Likely strength: Kp 5–6, a brief Kp 7 possible
• Best viewing: after local midnight, away from city lights

#spaceweather"""

_REPLY = """\
⬆️ Clear skies are forecast for us too. We will keep the live camera running all night and post the \
best frames in the morning. If you come up to the ridge, bring a head torch with a red light."""

_DOME = "🏛 The dome at dusk, opened and cooled down for tonight's session. #observatory"

_HOW_TO = """\
📸 **How we photograph the aurora**

People ask which camera we use. The honest answer: the camera matters less than the settings and the \
patience. This is what works for us on the ridge.

1. A tripod, and a lens as wide and as fast as you have (we use 14 mm at f/2.8).
2. Manual focus on a bright star, then tape the ring so it cannot move.
3. Start at `ISO 1600`, `4 s`; shorten the exposure when the curtain moves fast.
4. Shoot raw: the green of the aurora clips easily in a JPEG.

And remember:
• batteries drain fast at −20 °C: keep spares in an inside pocket
• let the lens reach the outside temperature before you start, or it fogs
• look up from the screen now and then — it is the best part

#guide #photography"""

OPEN_NIGHT_BEFORE = """\
🗓 **Open night: Saturday 27 December, 19:00.**

The dome opens at 19:00 and the first tour starts at 19:30. Entry is free; the road up is ploughed.

#opennight"""

OPEN_NIGHT_AFTER = """\
🗓 **Open night moved to Sunday 28 December, 19:00** — Saturday's forecast is solid cloud.

The dome opens at 19:00 and the first tour starts at 19:30. Entry is free; the road up is ploughed.

#opennight"""

DELETED_TEXT = "🤖 Test message from the camera bot, please ignore."

_SUNRISE = """\
🌅 The Sun came back today: four minutes above the southern ridge, the first time since 26 November. \
Only 25 days until it stays up for a whole hour.

#sunrise"""

_YEAR = """\
🎆 **Our year in numbers**

• 61 nights with aurora overhead
• 12,480 pictures from the all-sky camera
• 1,930 visitors at 14 open nights
• 3 new partner stations 🇮🇸 🇨🇦 🇳🇿

Thank you for following along. The full report, with the best pictures of the year, is on our site: \
https://example.org/observatory/2025

#YearInReview"""

_HASHTAG = re.compile(r"(?<![\w#])#\w+")
_URL = re.compile(r"https?://[^\s)]+")


def _with_detected(text: str, entities: list[TL]) -> tuple[str, list[TL]]:
    """Add the entities a Telegram app adds on its own: hashtags and bare links (UTF-16 offsets)."""
    found: list[TL] = list(entities)
    taken = [(entity.offset, entity.offset + entity.length) for entity in entities]
    for pattern, kind in ((_HASHTAG, types.MessageEntityHashtag), (_URL, types.MessageEntityUrl)):
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group())
            if not any(start < other_end and other_start < end for other_start, other_end in taken):
                found.append(kind(offset=start, length=end - start))
    return text, sorted(found, key=lambda entity: (entity.offset, -entity.length))


def _rich(source: str) -> tuple[str, list[TL]]:
    """Text and entities from the Markdown Telegram's apps accept (bold, italic, code, links)."""
    text, entities = markdown.parse(source)
    return _with_detected(text, list(entities))


def _at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def _counters(msg_id: int, reactions: tuple[tuple[str, int], ...] = ()) -> dict[str, Any]:
    fields: dict[str, Any] = {"views": 1_800 + 173 * msg_id, "forwards": 3 + msg_id % 7}
    if reactions:
        fields["reactions"] = types.MessageReactions(
            results=[types.ReactionCount(types.ReactionEmoji(emoji), count) for emoji, count in reactions]
        )
    return fields


def _poll(channel: FakeChannel) -> TL:
    answers = [
        types.PollAnswer(types.TextWithEntities(text, []), str(index).encode())
        for index, text in enumerate(_POLL_OPTIONS)
    ]
    poll = types.Poll(
        id=channel.id * 10 + 1,
        question=types.TextWithEntities(_POLL_QUESTION, []),
        answers=answers,
        hash=0,
        closed=True,
    )
    results = types.PollResults(
        results=[
            types.PollAnswerVoters(str(index).encode(), voters=votes, recent_voters=[])
            for index, votes in enumerate(_POLL_VOTES)
        ],
        total_voters=sum(_POLL_VOTES),
    )
    return types.MessageMediaPoll(poll=poll, results=results)


def _link_preview() -> TL:
    page = types.WebPage(
        id=2_025_123_100_000_001,
        url="https://example.org/observatory/2025",
        display_url="example.org/observatory/2025",
        hash=0,
        type="article",
        site_name="Northern Lights Observatory",
        title="2025: the year of the aurora",
        description="Sixty-one nights with aurora, a new camera, and the best pictures of the year.",
    )
    return types.MessageMediaWebPage(webpage=page)


def _post(
    channel: FakeChannel,
    source_text: str,
    date: datetime,
    *,
    reactions: tuple[tuple[str, int], ...] = (),
    **fields: Any,
) -> TL:
    """One post of ``channel`` from Markdown, with fixed counters and ``reactions``."""
    text, entities = _rich(source_text)
    return add_post(channel, text, entities, date=date, **(_counters(channel.next_id(), reactions) | fields))


def _build_source(world: FakeTelegram) -> TL:
    """The bulletin the observatory forwards from; returns its storm watch post."""
    source = world.add_channel(
        SOURCE_USERNAME, SOURCE_TITLE, about=_SOURCE_ABOUT, participants_count=880, date=_at(1, 8, month=11)
    )
    _post(source, _OUTLOOK, _at(1, 9))
    _post(source, _SUNSPOT, _at(8, 14, 5), reactions=(("👀", 33),))
    return _post(source, _STORM_WATCH, _at(13, 6, 20), reactions=(("⚡", 51),))


def build_sample_channel(world: FakeTelegram) -> FakeChannel:
    """Add the sample channel and the channel it forwards from to ``world``; returns the sample channel."""
    storm_watch = _build_source(world)
    channel = world.add_channel(
        SAMPLE_USERNAME, SAMPLE_TITLE, about=_ABOUT, participants_count=4_210, date=_at(1, 9, month=11)
    )

    def post(source_text: str, date: datetime, **fields: Any) -> TL:
        return _post(channel, source_text, date, **fields)

    post(_WELCOME, _at(24, 9, month=11), reactions=(("❤", 214), ("🔥", 88)))
    post(_PARTNERS, _at(28, 18, 30, month=11), reactions=(("👍", 131),))
    for index, (seed, band) in enumerate(((1, (80, 230, 140)), (2, (190, 90, 220)), (3, (90, 200, 230)))):
        photo = photo_media(channel, w=640, h=400, data=aurora_picture(seed, band), date=_at(2, 7, 45))
        post(
            _ALBUM_CAPTION if index == 0 else "",
            _at(2, 7, 45),
            reactions=(("🔥", 402), ("😍", 187), ("👏", 45)) if index == 0 else (),
            media=photo,
            grouped_id=_ALBUM_GROUP,
        )
    guide = pdf_bytes(
        "Winter observing guide",
        [
            "1. Dress for -20 C: three layers, a hat, two pairs of gloves.",
            "2. Stand away from the car park lights; let your eyes adapt for 15 minutes.",
            "3. Camera: tripod, manual focus on a star, ISO 1600, 4 s, raw.",
            "4. Kp index: 3 = faint arc, 5 = overhead, 7 = the whole sky moves.",
            "Northern Lights Observatory - a sample document made by tgvault demo.",
        ],
    )
    pdf = document_media(
        channel,
        "file",
        data=guide,
        file_name="winter-observing-guide.pdf",
        mime_type="application/pdf",
        date=_at(5, 12),
    )
    post(_DOCUMENT_CAPTION, _at(5, 12), media=pdf)
    post("", _at(9, 16, 10), media=_poll(channel))
    forward = post(
        _STORM_WATCH,
        _at(13, 8),
        reactions=(("🙏", 76),),
        fwd_from=types.MessageFwdHeader(
            date=storm_watch.date, from_id=storm_watch.peer_id, channel_post=storm_watch.id
        ),
    )
    post(_REPLY, _at(13, 8, 5), reply_to=types.MessageReplyHeader(reply_to_msg_id=forward.id))
    dome = photo_media(channel, w=640, h=400, data=dome_picture(), date=_at(14, 14, 30))
    post(_DOME, _at(14, 14, 30), media=dome, reactions=(("😍", 59),))
    post(_HOW_TO, _at(18, 10), reactions=(("👍", 240), ("❤", 97)))
    post(OPEN_NIGHT_BEFORE, _at(20, 9))
    post(DELETED_TEXT, _at(21, 21, 15))
    sunrise = photo_media(channel, w=640, h=400, data=sunrise_picture(), date=_at(24, 11, 40))
    post(_SUNRISE, _at(24, 11, 40), media=sunrise, reactions=(("❤", 301), ("🌅", 12)))
    year_text, year_entities = _rich(_YEAR)
    add_post(
        channel,
        year_text,
        year_entities,
        date=_at(31, 20),
        media=_link_preview(),
        **_counters(channel.next_id()),
    )
    return channel


@dataclass(frozen=True)
class SampleChannelFacts:
    """Where the sample's edit and deletion are: what a test of the demo looks for."""

    edited_id: int
    deleted_id: int
    posts: int
    """Posts (album parts count one each), the deleted one included."""
    photos: int


def sample_facts() -> SampleChannelFacts:
    """What the sample channel holds (built afresh, before :func:`apply_sample_changes`)."""
    channel = build_sample_channel(FakeTelegram())
    by_text = {message.message: message.id for message in channel.messages.values()}
    photos = sum(isinstance(message.media, types.MessageMediaPhoto) for message in channel.messages.values())
    return SampleChannelFacts(
        edited_id=by_text[markdown.parse(OPEN_NIGHT_BEFORE)[0]],
        deleted_id=by_text[DELETED_TEXT],
        posts=len(channel.messages),
        photos=photos,
    )


def apply_sample_changes(world: FakeTelegram, channel: FakeChannel) -> None:
    """What happened on the channel after the first read: the open night moved (an edit, at a fixed
    date), and the bot's test message deleted. Applying them twice changes nothing more."""
    facts_before = {message.message: message.id for message in channel.messages.values()}
    before_text = markdown.parse(OPEN_NIGHT_BEFORE)[0]
    edited_id = facts_before.get(before_text)
    if edited_id is not None:
        text, entities = _rich(OPEN_NIGHT_AFTER)
        world.edit_message(channel, edited_id, text, entities, edit_date=_EDIT_DATE)
    deleted_id = facts_before.get(DELETED_TEXT)
    if deleted_id is not None:
        world.delete_messages(channel, [deleted_id])
