"""A Desktop export of a channel's discussion group, imported as the channel's comments.

In the export of a supergroup linked to a channel, each channel post that was discussed has a copy in the
group: a message forwarded from the channel (``forwarded_from``/``forwarded_from_id``, sent as the channel:
``from_id`` = ``channel<id>``). A comment replies to that copy (``reply_to_message_id``), a reply to a
comment replies to the comment. Desktop does not write which post a copy was forwarded from, so a copy is
matched to the channel post the archive already ties it to (comments archived through Telegram reply to
it), else to the channel's post dated within :data:`COPY_WINDOW` of it, the one with the same text first,
then the nearest in time. Copies are not stored (they repeat the channel's posts); comments are stored as
messages of the group, tied to their post and to the comment they answer, their authors in ``users`` (or
pseudonyms; Desktop writes no @username, so an author already archived is left as Telegram described them). A message that answers nothing known (ordinary chat in the group) is kept as a message of
the group, tied to no post. A group exported by tgvault (``tgvault export json <group id>``) writes no
copies but says the post of each comment (``"tgvault": {"comment_on": ...}``), which is then taken.

Memory: the copies met so far (one number pair per discussed post); comments are looked up in the archive
a batch at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from tgvault.domain import Channel, CommentAuthor, CommentLink
from tgvault.services.pseudonyms import Pseudonyms
from tgvault.sources.tdesktop import ExportMessage
from tgvault.storage.unit_of_work import UnitOfWork

__all__ = ["COPY_WINDOW", "CommentLinker"]

COPY_WINDOW = timedelta(minutes=2)
"""How far a group's copy may be dated from the channel post it copies (Telegram forwards it at once)."""


@dataclass
class CommentLinker:
    """Ties a discussion group's messages, a batch at a time, to the posts of ``channel``."""

    channel: Channel
    group_id: int = 0
    """The group's id (set when its chat is met in the export)."""
    pseudonymous: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    copies: dict[int, int] = field(default_factory=dict)
    """The group's copies met so far: copy id -> channel post id."""
    linked: int = 0
    """Comments tied to a post so far."""
    _pseudonyms: Pseudonyms | None = None
    _authors: dict[int, CommentAuthor] = field(default_factory=dict)
    _matched: set[int] = field(default_factory=set)
    """The channel posts a copy was matched to (each post has one copy)."""

    def prepare(self, uow: UnitOfWork, batch: Sequence[ExportMessage]) -> list[ExportMessage]:
        """The batch to store: the channel's copies taken out (and remembered), authors noted, and
        everything that names a person made pseudonymous when asked."""
        if self.pseudonymous and self._pseudonyms is None:
            self._pseudonyms = Pseudonyms(uow.discussions.pseudonym_key(self.now))
        kept: list[ExportMessage] = []
        self._authors = {}
        for message in batch:
            if self._is_copy(message):
                post_id = self._post_of_copy(uow, message)
                if post_id is not None:
                    self.copies[message.post.message_id] = post_id
                    self._matched.add(post_id)
                    continue
            sender = message.sender
            author = (
                None if sender is None else CommentAuthor(id=sender.id, kind=sender.kind, name=sender.name)
            )
            if self._pseudonyms is not None:
                author = None if author is None else self._pseudonyms.author(author)
                message = replace(message, post=self._pseudonyms.post(message.post, desktop=True))
            if author is not None:
                self._authors[message.post.message_id] = author
            kept.append(message)
        return kept

    def link(self, uow: UnitOfWork, batch: Sequence[ExportMessage]) -> None:
        """After the batch is stored: tie its comments to their posts and the comments they answer."""
        targets = {m.post.reply_to_message_id for m in batch if m.post.reply_to_message_id is not None}
        unknown = [target for target in targets if target not in self.copies]
        known = uow.discussions.group_links(self.group_id, unknown)
        missing = [target for target in unknown if target not in known]
        self.copies.update(uow.discussions.posts_of_copies(self.channel.id, self.group_id, missing))
        links: list[CommentLink] = []
        for message in batch:  # in id order: a reply's comment is met before it
            target = message.post.reply_to_message_id
            on = (
                message.comment_on
                if message.comment_on and message.comment_on[0] == self.channel.id
                else None
            )
            author = self._authors.get(message.post.message_id)
            fields = {"group_id": self.group_id, "message_id": message.post.message_id}
            if target is not None and target in known:
                link = CommentLink(
                    channel_id=self.channel.id,
                    post_id=known[target].post_id,
                    reply_to_comment_id=target,
                    **fields,
                )
            elif on is not None:  # a tgvault export says it; what it answers is then the post's copy
                link = CommentLink(channel_id=self.channel.id, post_id=on[1], **fields)
                if target is not None:
                    self.copies.setdefault(target, on[1])
            elif target is not None and target in self.copies:
                link = CommentLink(channel_id=self.channel.id, post_id=self.copies[target], **fields)
            else:
                continue
            links.append(link.model_copy(update={"author_id": None if author is None else author.id}))
            known[message.post.message_id] = link
        authors = {
            self._authors[link.message_id].id: self._authors[link.message_id]
            for link in links
            if link.author_id
        }
        # Desktop names no @username: an author the archive knows keeps what Telegram said
        archived = uow.discussions.authors(list(authors))
        uow.discussions.save_authors([a for a in authors.values() if a.id not in archived], self.now)
        uow.discussions.link(links)
        uow.discussions.touch_posts(self.channel.id, [link.post_id for link in links], self.now)
        self.linked += len(links)

    def _is_copy(self, message: ExportMessage) -> bool:
        """Whether the message is the group's copy of one of the channel's posts."""
        post, sender = message.post, message.sender
        if post.reply_to_message_id is not None or post.service is not None:
            return False
        forward = post.forward
        from_channel = forward is not None and (
            forward.from_channel_id == self.channel.id
            or (forward.from_channel_id is None and forward.from_name == self.channel.title)
        )
        return from_channel or (
            sender is not None and (sender.kind, sender.id) == ("channel", self.channel.id)
        )

    def _post_of_copy(self, uow: UnitOfWork, message: ExportMessage) -> int | None:
        """The channel post a copy was forwarded from: as archived comments say, else by date and text."""
        copy_id = message.post.message_id
        known = uow.discussions.posts_of_copies(self.channel.id, self.group_id, [copy_id])
        if copy_id in known:
            return known[copy_id]
        when = message.post.date
        near = uow.discussions.posts_near(self.channel.id, when - COPY_WINDOW, when + COPY_WINDOW)
        candidates = [(post_id, date, text) for post_id, date, text in near if post_id not in self._matched]
        if not candidates:
            return None

        def rank(candidate: tuple[int, datetime, str]) -> tuple[bool, float, int]:
            post_id, date, text = candidate
            date = date if date.tzinfo is not None else date.replace(tzinfo=UTC)
            return (text != message.post.text, abs((date - when).total_seconds()), post_id)

        return min(candidates, key=rank)[0]
