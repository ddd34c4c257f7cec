"""Read the messages of the HTML export's pages (``div.message``) into posts and the files they name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from selectolax.lexbor import LexborHTMLParser, LexborNode

from tgvault.domain import Forward, Post, Reaction, ServiceAction, SourceKind
from tgvault.errors import ImportFormatError, SourceError
from tgvault.formats.desktop import RAW_HTML_KEY
from tgvault.sources.html_text import classes_of
from tgvault.sources.tdesktop.html_media import HtmlMedia, media_of
from tgvault.sources.tdesktop.html_rich_text import rich_text_of
from tgvault.sources.tdesktop.html_values import first_child, moment_of, node_text, own_text
from tgvault.sources.tdesktop.records import ExportMessage
from tgvault.sources.tdesktop.refusals import refused

__all__ = ["PageReader"]

_DOMAIN_NAMES: dict[str, str] = {}  # an HTML export has no field names: the archive's own are given
# Message ids are Telegram's 32-bit ints: at most 10 digits (longer ones are not ids, and int() is not
# asked to read thousands of digits).
_MESSAGE_ID = re.compile(r"^message(-?\d{1,10})$")
_GO_TO = re.compile(r"go_to_message(\d{1,10})$")
_SERVICE_TEXTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("channel_create", re.compile(r"^Channel «(?P<title>.*)» created$", re.S)),
    ("chat_create", re.compile(r" created group «(?P<title>.*)»", re.S)),
    ("chat_edit_title", re.compile(r"(?:changed group title to|title changed to) «(?P<title>.*)»$", re.S)),
    ("chat_edit_photo", re.compile(r"(?:changed group photo|photo changed|changed channel photo)")),
    ("chat_delete_photo", re.compile(r"(?:removed group photo|photo removed|removed channel photo)")),
    ("pin_message", re.compile(r" pinned ")),
    ("channel_migrate_from", re.compile(r"converted a basic group to this supergroup «(?P<title>.*)»", re.S)),
    ("history_clear", re.compile(r"^History cleared$")),
)


def _message_id(node: LexborNode) -> int | None:
    match = _MESSAGE_ID.match(node.attributes.get("id") or "")
    return None if match is None else int(match.group(1))


def _go_to(node: LexborNode | None) -> int | None:
    if node is None:
        return None
    for link in node.css("a"):
        match = _GO_TO.search(link.attributes.get("href") or "")
        if match:
            return int(match.group(1))
    return None


def _service(node: LexborNode, text: str) -> ServiceAction:
    for action, pattern in _SERVICE_TEXTS:
        match = pattern.search(text)
        if match is not None:
            return ServiceAction(
                type=action,
                title=match.groupdict().get("title"),
                pinned_message_id=_go_to(node) if action == "pin_message" else None,
            )
    return ServiceAction(type="unknown", text=text)


def _reactions(body: LexborNode) -> tuple[Reaction, ...]:
    found = []
    for node in body.css(".reactions .reaction"):
        count = node_text(node.css_first(".count"))
        emoji = node_text(node.css_first(".emoji"))
        if count.isdigit():
            found.append(Reaction(emoji=emoji or None, count=int(count)))
    return tuple(found)


@dataclass
class PageReader:
    """Reads the pages of one export in order, carrying the sender over ``joined`` messages."""

    root: Path
    channel_id: int
    zone: tzinfo | None
    sender: str | None = None
    local_times: bool = False

    def page(self, path: Path) -> Iterator[ExportMessage]:
        """The messages of one page, in its order (day separators skipped)."""
        name = path.relative_to(self.root).as_posix()
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{path}: cannot be read: {exc.strerror}") from exc
        try:
            html = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFormatError(f"not UTF-8 text (byte {exc.start})", location=str(path)) from exc
        tree = LexborHTMLParser(html)
        history = tree.css_first(".history")
        if history is None:
            raise ImportFormatError(
                "no message history (div.history): not a Desktop HTML export page", location=str(path)
            )
        if "</html>" not in html[-200:].lower():
            last = None
            for node in history.css("div.message"):
                last = _message_id(node) or last
            after = f", after message id {last}" if last else ""
            raise ImportFormatError(f"the page is truncated (no closing </html>){after}", location=str(path))
        for position, node in enumerate(history.css("div.message")):
            message_id = _message_id(node)
            where = f"{path}, message #{position}"
            if message_id is None:
                raise ImportFormatError(
                    f'no message id (id="message123"), got {node.attributes.get("id")!r}', location=where
                )
            if message_id <= 0:
                continue  # a day separator
            where = f"{where} (id {message_id})"
            try:
                yield self.message(node, message_id, where, name)
            except ValidationError as exc:
                raise refused(exc, where, _DOMAIN_NAMES) from None
            except (ValueError, OverflowError) as exc:  # a number shown with more digits than it can have
                raise ImportFormatError(f"a value out of range: {str(exc)[:200]}", location=where) from None

    def message(self, node: LexborNode, message_id: int, where: str, page: str) -> ExportMessage:
        classes = classes_of(node)
        body = first_child(node, "body") or node
        raw: dict[str, Any] = {"page": page}
        values: dict[str, Any] = {
            "channel_id": self.channel_id,
            "message_id": message_id,
            "source": SourceKind.TDESKTOP,
        }
        if "service" in classes:
            text = node_text(body)
            if not text:
                raise ImportFormatError("a service message without text", location=where)
            raw["service"] = text
            self.sender = None
            values["service"] = _service(body, text)
            values["date"] = self.service_date(node, where)
            media = HtmlMedia()
        else:
            self.dates(body, values, raw, where)
            self.fill(body, values, raw, joined="joined" in classes)
            media = media_of(body, where)
        values.update(media=media.item, poll=media.poll, location=media.location, contact=media.contact)
        if media.shown:
            raw["media"] = media.shown
        values["raw"] = {RAW_HTML_KEY: raw}
        post = Post(**values)
        files = tuple(dict.fromkeys([*([media.path] if media.path else []), *raw.get("emoji_files", [])]))
        return ExportMessage(post=post, where=where, media_path=media.path, files=files)

    def dates(self, body: LexborNode, values: dict[str, Any], raw: dict[str, Any], where: str) -> None:
        """The message's date (its ``div.date`` title) and, when the export shows one, its edit."""
        date_node = first_child(body, "date")
        title = date_node.attributes.get("title") if date_node is not None else None
        if date_node is None or not title:
            raise ImportFormatError("no date (div.date with a title)", location=where)
        raw["date"] = title
        date_text, _, edited_text = title.partition("\n")
        values["date"], local = moment_of(date_text, self.zone, where)
        self.local_times = self.local_times or local
        if "edited" in node_text(date_node).lower() or edited_text:
            raw["edited"] = True
            edited_value = edited_text.strip().removeprefix("Edited:").strip()
            if edited_value:
                values["edit_date"], _ = moment_of(edited_value, self.zone, where)

    def service_date(self, node: LexborNode, where: str) -> datetime:
        """Service messages show no time of their own: the next message's date, else the previous one's."""
        for sibling in _following(node):
            date_node = sibling.css_first(".date[title]")
            if date_node is not None:
                moment, local = moment_of(
                    (date_node.attributes.get("title") or "").partition("\n")[0], self.zone, where
                )
                self.local_times = self.local_times or local
                return moment
        raise ImportFormatError("a service message with no dated message after it", location=where)

    def fill(self, body: LexborNode, values: dict[str, Any], raw: dict[str, Any], *, joined: bool) -> None:
        """Sender, forward, reply, text, signature and reactions of a message."""
        sender_node = first_child(body, "from_name")
        if sender_node is not None:
            self.sender = own_text(sender_node) or None
        elif not joined:
            self.sender = None
        raw["from"] = self.sender
        forwarded = first_child(body, "forwarded", "body")
        if forwarded is not None:
            origin = first_child(forwarded, "from_name")
            name = own_text(origin).removesuffix("via").strip() if origin is not None else ""
            values["forward"] = Forward(from_name=name or None)
        reply = body.css_first(".reply_to")
        if reply is not None:
            values["reply_to_message_id"] = _go_to(reply)
            if values["reply_to_message_id"] is None:
                raw["reply_to"] = node_text(reply)
        values["text"], values["entities"], emoji_files = rich_text_of(body.css_first(".text"))
        raw["emoji_files"] = emoji_files
        signature = body.css_first(".signature")
        values["author"] = node_text(signature) or None
        values["reactions"] = _reactions(body)


def _following(node: LexborNode) -> Iterator[LexborNode]:
    sibling = node.next
    while sibling is not None:
        if sibling.is_element_node and "message" in classes_of(sibling):
            yield sibling
        sibling = sibling.next
    sibling = node.prev
    while sibling is not None:
        if sibling.is_element_node and "message" in classes_of(sibling):
            yield sibling
        sibling = sibling.prev
