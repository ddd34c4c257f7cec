"""A card view as HTML, written directly in Python: the same bytes as the theme's ``post_card`` macro.

Every post of the site becomes a card, so the card is the build's inner loop. Through Jinja it costs a
macro call per attachment, an attribute lookup per value and a :class:`markupsafe.Markup` object per
escaped value; here it is one f-string a part, each value escaped once by :func:`escape_text`. The
theme's macro (``templates/_macros.html``) stays the definition: a site whose templates folder has its
own ``_card.html`` or ``_macros.html`` is rendered through Jinja, and the tests render cards both ways
and compare the bytes.
"""

from __future__ import annotations

from tgvault.export.site.richtext import escape_text
from tgvault.export.site.views import CardView, MediaView, PollView, WebPageView

_e = escape_text

_EYE = (
    '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M12 5C7 5 2.7 8.1 1 12c1.7 3.9 6 '
    "7 11 7s9.3-3.1 11-7c-1.7-3.9-6-7-11-7zm0 11.5A4.5 4.5 0 1 1 12 7.5a4.5 4.5 0 0 1 0 9zm0-7a2.5 2.5 0 1 0 0 "
    '5 2.5 2.5 0 0 0 0-5z"/></svg>'
)
_NEW_TAB = ' rel="noopener noreferrer" target="_blank"'
_PREVIEW_LINK = ' rel="noopener noreferrer nofollow ugc" target="_blank"'


def _size(m: MediaView) -> str:
    return f' width="{_e(m.width)}" height="{_e(m.height)}"' if m.width and m.height else ""


def _visual(m: MediaView, group: str) -> str:
    if m.url is None:
        thumb = (
            f'<img class="media-thumb" src="{_e(m.thumbnail)}" alt="Preview" loading="lazy" decoding="async">'
            if m.thumbnail
            else ""
        )
        size = f" <span>{_e(m.size)}</span>" if m.size else ""
        return (
            f'<div class="media missing">{thumb}<span class="missing-kind">{_e(m.kind.capitalize())}</span>'
            f"{size}<small>{_e(m.note)}</small></div>\n"
        )
    url = _e(m.url)
    if m.kind == "photo":
        flags = (" media-spoiler" if m.spoiler else "") + (" media-deleted" if m.deleted else "")
        return (
            f'<a class="media photo{flags}" href="{url}" data-lightbox="{_e(group)}"><img src="{url}" '
            f'alt="Photo" loading="lazy" decoding="async"{_size(m)}></a>\n'
        )
    if m.kind == "video":
        flags = " media-spoiler" if m.spoiler else ""
        return (
            f'<video class="media video{flags}" src="{url}" controls preload="metadata"{_size(m)}></video>\n'
        )
    if m.kind == "gif":
        return f'<video class="media gif" src="{url}" autoplay loop muted playsinline{_size(m)}></video>\n'
    return ""


def _file(f: MediaView) -> str:
    kind = f.kind
    if kind == "round":
        if f.url:
            return f'<video class="round" src="{_e(f.url)}" controls preload="metadata"></video>'
        return f'<div class="file missing">Video message <small>{_e(f.note)}</small></div>'
    if kind in ("audio", "voice"):
        icon = "♪" if kind == "audio" else "🎤"
        if kind == "audio" and (f.performer or f.title):
            dash = " – " if f.performer and f.title else ""
            name = f"{_e(f.performer)}{dash}{_e(f.title)}"
        else:
            name = _e(f.name)
        dot = " · " if f.duration and f.size else ""
        player = (
            f'<audio src="{_e(f.url)}" controls preload="none"></audio>'
            if f.url
            else f'<small class="note">{_e(f.note)}</small>'
        )
        return (
            f'<div class="file {_e(kind)}">\n  <div class="file-head"><span class="file-icon" aria-hidden="true">'
            f'{icon}</span>\n    <span class="file-name"><bdi>{name}</bdi></span>\n    <span class="file-size">'
            f"{_e(f.duration)}{dot}{_e(f.size)}</span></div>\n{player}</div>\n"
        )
    if kind == "sticker":
        if f.url:
            return (
                f'<img class="sticker" src="{_e(f.url)}" alt="{_e(f.emoji)} sticker" loading="lazy" '
                'width="200" height="200">'
            )
        return f'<div class="sticker-fallback" title="Sticker">{_e(f.emoji or "Sticker")}</div>'
    if kind == "sticker-video":
        if f.url:
            return f'<video class="sticker" src="{_e(f.url)}" autoplay loop muted playsinline></video>'
        return f'<div class="sticker-fallback" title="Sticker">{_e(f.emoji or "Sticker")}</div>'
    if kind == "sticker-animated":
        return f'<div class="sticker-fallback" title="Animated sticker">{_e(f.emoji or "Sticker")}</div>\n'
    if f.url:
        served = f' type="{_e(f.served_type)}"' if f.served_type else ""
        return (
            f'<a class="file document" href="{_e(f.url)}" download="{_e(f.download_name)}"{served} '
            'rel="noopener"><span class="file-icon" aria-hidden="true">⬇</span><span class="file-name"><bdi>'
            f'{_e(f.name)}</bdi></span><span class="file-size">{_e(f.size)}</span></a>\n'
        )
    icon = (
        f'<img class="media-thumb" src="{_e(f.thumbnail)}" alt="Preview" loading="lazy" decoding="async">'
        if f.thumbnail
        else '<span class="file-icon" aria-hidden="true">📄</span>'
    )
    dot = " · " if f.size else ""
    return (
        f'<div class="file document missing">{icon}<span class="file-name"><bdi>{_e(f.name)}</bdi></span>'
        f'<span class="file-size">{_e(f.size)}{dot}{_e(f.note)}</span></div>\n'
    )


def _poll(poll: PollView) -> str:
    out = [
        f'    <div class="poll">\n      <p class="poll-question"><bdi>{_e(poll.question)}</bdi></p>\n'
        f'      <p class="poll-kind">{_e(poll.kind)}{", closed" if poll.closed else ""}</p>\n      <ul>\n'
    ]
    for o in poll.options:
        css = ("chosen " if o.chosen else "") + ("correct" if o.correct else "")
        percent = _e(o.percent)
        out.append(
            f'        <li class="{css}">\n          <span class="poll-percent">{percent}%</span>'
            f'<span class="poll-text"><bdi>{_e(o.text)}</bdi>{" ✓" if o.correct else ""}</span>\n'
            '          <svg class="poll-bar" viewBox="0 0 100 4" preserveAspectRatio="none" aria-hidden="true">'
            f'<rect width="{percent}" height="4" rx="2"/></svg>\n        </li>\n'
        )
    out.append("      </ul>\n")
    if poll.total:
        out.append(f'<p class="poll-total">{_e(poll.total)}</p>')
    out.append("    </div>\n")
    return "".join(out)


def _web_page(page: WebPageView) -> str:
    out = ['    <div class="preview">\n']
    if page.site_name:
        out.append(f'<p class="preview-site"><bdi>{_e(page.site_name)}</bdi></p>')
    if page.title:
        title = f"<bdi>{_e(page.title)}</bdi>"
        if page.url:
            title = f'<a href="{_e(page.url)}"{_PREVIEW_LINK}>{title}</a>'
        out.append(f'<p class="preview-title">{title}</p>')
    if page.description:
        out.append(f'<p class="preview-description" dir="auto">{_e(page.description)}</p>')
    if not page.title:
        shown = _e(page.display_url)
        if page.url:
            shown = f'<a href="{_e(page.url)}"{_PREVIEW_LINK}>{shown}</a>'
        out.append(f'<p class="preview-url">{shown}</p>')
    out.append("    </div>\n")
    return "".join(out)


def _time(c: CardView) -> str:
    return (
        f'<a class="date" href="{_e(c.permalink)}"><time datetime="{_e(c.date_iso)}" '
        f'title="{_e(c.date_full)}">{_e(c.date_time)}</time></a>'
    )


def card_html(c: CardView) -> str:
    """The HTML of one card: byte for byte what the theme's ``post_card`` macro renders for ``c``."""
    anchors = "".join(f'<span class="anchor" id="{_e(a)}"></span>' for a in c.extra_anchors)
    if c.service:
        return (
            f'<article class="post service" id="{_e(c.anchor)}">\n{anchors}  <p class="service-bubble">'
            f'{_e(c.service)} · <a href="{_e(c.permalink)}"><time datetime="{_e(c.date_iso)}" '
            f'title="{_e(c.date_full)}">{_e(c.date_time)}</time></a></p>\n</article>\n'
        )
    channel_url = _e(c.channel_url)
    flags = (" is-deleted" if c.deleted else "") + (" is-partial" if c.parse_error else "")
    avatar = (
        f'<img src="{_e(c.avatar_url)}" alt="" width="40" height="40">'
        if c.avatar_url
        else f"<span>{_e(c.avatar_letter)}</span>"
    )
    out = [
        f'<article class="post{flags}" id="{_e(c.anchor)}" data-post="{_e(c.message_id)}">\n{anchors}'
        f'  <a class="avatar" href="{channel_url}" tabindex="-1" aria-hidden="true">{avatar}</a>\n'
        '  <div class="bubble">\n'
    ]
    if c.deleted:
        out.append(
            f'<p class="flag flag-deleted">Deleted from Telegram on {_e(c.deleted)}; kept in the archive.</p>'
        )
    if c.parse_error:
        out.append(
            '<details class="flag flag-partial"><summary>Not fully understood: parts of this post may be '
            f"missing.</summary><p>{_e(c.parse_error)}</p></details>"
        )
    pinned = ' <span class="pinned" title="Pinned">📌</span>' if c.pinned else ""
    out.append(
        f'    <div class="author"><a href="{channel_url}"><bdi>{_e(c.channel_title)}</bdi></a>{pinned}</div>\n'
    )
    if c.forward:
        label = f"<bdi>{_e(c.forward.label)}</bdi>"
        if c.forward.url:
            url = c.forward.url
            new_tab = _NEW_TAB if url.startswith("http") or url.startswith("tg:") else ""
            label = f'<a href="{_e(url)}"{new_tab}>{label}</a>'
        out.append(f'<div class="forwarded">Forwarded from {label}</div>')
    if c.reply:
        reply = c.reply
        missing = "" if reply.archived else " reply-missing"
        new_tab = "" if reply.archived else _NEW_TAB
        out.append(
            f'    <a class="reply{missing}" href="{_e(reply.url)}"{new_tab}><span class="reply-author"><bdi>'
            f'{_e(reply.author or "Reply")}</bdi></span><span class="reply-text"><bdi>{_e(reply.text)}</bdi>'
            "</span></a>\n"
        )
    if c.visuals:
        out.append(f'    <div class="grid grid-{min(len(c.visuals), 4)}">\n')
        out.extend(_visual(m, c.anchor) for m in c.visuals)
        out.append("    </div>\n")
    out.extend(_file(f) for f in c.files)
    if c.text_html:
        out.append(f'<div class="text" dir="auto">{c.text_html}</div>')
    if c.poll:
        out.append(_poll(c.poll))
    if c.web_page:
        out.append(_web_page(c.web_page))
    if c.place:
        place = c.place
        title = f"<strong><bdi>{_e(place.title)}</bdi></strong> " if place.title else ""
        address = f"<bdi>{_e(place.address)}</bdi> " if place.address else ""
        live = " <small>(live location)</small>" if place.live else ""
        out.append(
            f'    <div class="place"><span aria-hidden="true">📍</span> {title}{address}<a href="'
            f'{_e(place.map_url)}"{_NEW_TAB}>{_e(place.latitude)}, {_e(place.longitude)}</a>{live}</div>\n'
        )
    if c.contact:
        contact = c.contact
        name = f"<bdi>{_e(contact.name)}</bdi>"
        if contact.url:
            name = f'<a href="{_e(contact.url)}">{name}</a>'
        phone = f' <span class="phone">{_e(contact.phone)}</span>' if contact.phone else ""
        out.append(f'    <div class="contact"><span aria-hidden="true">👤</span> {name}{phone}</div>\n')
    if c.reactions:
        out.append('    <ul class="reactions" aria-label="Reactions">\n')
        out.extend(
            f'<li title="{_e(r.title)}"><span class="reaction-emoji">{_e(r.label)}</span> {_e(r.count)}</li>'
            for r in c.reactions
        )
        out.append("    </ul>\n")
    out.append('    <footer class="meta">\n')
    if c.views:
        out.append(f'<span class="views" title="{_e(c.views_exact)}">{_e(c.views)} {_EYE}</span>')
    if c.comments:
        label = f"{_e(c.comments)} comment{'s' if c.comments != 1 else ''}"
        if c.comments_url:
            out.append(f'<a class="comment-count" href="{_e(c.comments_url)}">{label}</a>')
        else:
            out.append(f'<span class="comment-count">{label}</span>')
    if c.author:
        out.append(f'<span class="signature"><bdi>{_e(c.author)}</bdi>,</span>')
    if c.edited:
        out.append(f'<span class="edited" title="Edited {_e(c.edited)}">edited</span>')
    out.append(
        f'      {_time(c)}\n      <a class="tme" href="{_e(c.tme_url)}"{_NEW_TAB} '
        'title="Open this post on Telegram">t.me</a>\n    </footer>\n'
    )
    if c.revisions:
        count = len(c.revisions)
        out.append(
            f'    <details class="revisions">\n      <summary>{count} earlier version{"s" if count != 1 else ""}'
            "</summary>\n"
        )
        out.extend(
            f'      <section class="revision"><h3>{_e(r.label)}</h3><div class="text" dir="auto">{r.text_html}'
            "</div></section>\n"
            for r in c.revisions
        )
        out.append("    </details>\n")
    out.append("  </div>\n</article>\n")
    return "".join(out)
