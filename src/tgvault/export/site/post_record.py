"""A post page's archive record: when the post was first captured, last checked, and its record hash.

Shown as a ``<details>`` under the post on its permalink page, linking the channel's published ledger
file that holds the entry and saying how to verify a copy of the site. Every value is escaped here.

"Last checked" is the later of the post's last ledger entry (the last time the archive recorded a
change, a file or new counters of it) and the channel's last completed audit, when that audit re-read
the post (a live post dated on or after the audit's ``since``). A sync that sees a post unchanged leaves
no trace per post, so it does not count. It is shown as a date: an audit rewrites each post page it
checked at most once a day, and a sync that changed nothing rewrites none.

"Trusted timestamp" names the first RFC 3161 token over an entry at or after the post's latest state
(a token over a chain head covers every entry before it): "timestamped by <authority> on <time>", or
"not yet timestamped". The first token covering an entry never changes, so a page says it once: the
build after the token was taken writes the pages of the posts it newly covers
(``BuildContext.newly_stamped``), no other.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from urllib.parse import urlsplit

from markupsafe import Markup

from tgvault.domain import AuditState
from tgvault.export.site.formatting import MONTH_NAMES, card_dates, format_day, format_full, iso
from tgvault.export.site.ledger_files import CHUNK, FOLDER
from tgvault.export.site.links import relative_url
from tgvault.export.site.richtext import escape_text as escape
from tgvault.storage.repositories import PostLedgerFacts, StampFact


def audited_day(audit: AuditState | None, posted: datetime, deleted: bool, zone: tzinfo) -> date | None:
    """The day (in the site's timezone) the channel's last completed audit checked this post, if it did."""
    if audit is None or audit.last_completed_at is None or deleted:
        return None
    if audit.since is not None and posted < audit.since:
        return None
    return audit.last_completed_at.astimezone(zone).date()


def ledger_file(root: str, seq: int) -> str:
    """The site path of the channel's ledger file holding entry ``seq``."""
    return f"{root}/{FOLDER}/{(seq - 1) // CHUNK + 1}.jsonl"


def covering_stamp(stamps: Sequence[StampFact], seq: int) -> StampFact | None:
    """The first token over entry ``seq`` or a later one (``stamps`` in entry order), or None."""
    at = bisect_left([stamp.seq for stamp in stamps], seq)
    return stamps[at] if at < len(stamps) else None


def stamp_html(stamp: StampFact | None, zone: tzinfo) -> str:
    """The "Trusted timestamp" value: by which authority and when, or not yet (escaped)."""
    if stamp is None:
        return (
            "Not yet timestamped: the next run with a time-stamping authority "
            "(<code>[ledger] tsa_url</code>) has it signed"
        )
    authority = urlsplit(stamp.tsa_url).hostname or stamp.tsa_url
    return (
        f"Timestamped by {escape(authority)} on "
        f'<time datetime="{escape(iso(stamp.stamped_at, zone))}">'
        f"{escape(format_full(stamp.stamped_at, zone))}</time> (RFC 3161 token over entry {stamp.seq})"
    )


def record_html(
    facts: PostLedgerFacts,
    audited: date | None,
    stamp: StampFact | None = None,
    *,
    page: str,
    root: str,
    zone: tzinfo,
) -> Markup:
    """The ``<details>`` block of a post page showing its ledger facts (see the module's docstring)."""
    recorded = facts.last_recorded.astimezone(zone).date()
    checked = max(recorded, audited) if audited is not None else recorded
    checked_text = f"{checked.day} {MONTH_NAMES[checked.month - 1]} {checked.year}"
    first = facts.first_captured
    backfill = ""
    if facts.backfilled_at is not None:
        backfill = (
            f" (archived before the ledger; entered in it on "
            f'<time datetime="{escape(iso(facts.backfilled_at, zone))}">'
            f"{escape(format_day(facts.backfilled_at, zone))}</time>)"
        )
    ledger_url = relative_url(page, ledger_file(root, facts.seq))
    first_iso, _, first_full = card_dates(first, zone)
    first_day = first_full.partition(",")[0]  # format_day: the full date's day part
    html = (
        '<details class="post-record">'
        "<summary>Archive record: first captured "
        f'<time datetime="{escape(first_iso)}">{escape(first_day)}</time>, '
        f'last checked <time datetime="{checked.isoformat()}">{escape(checked_text)}</time></summary>'
        "<dl>"
        "<dt>First captured</dt>"
        f'<dd><time datetime="{escape(first_iso)}">{escape(first_full)}</time>'
        f"{backfill}</dd>"
        "<dt>Last checked</dt>"
        f'<dd><time datetime="{checked.isoformat()}">{escape(checked_text)}</time></dd>'
        "<dt>Record hash (SHA-256)</dt>"
        f'<dd><code class="hash">{escape(facts.record_sha256)}</code></dd>'
        "<dt>Ledger entry</dt>"
        f'<dd><a href="{escape(ledger_url)}">Entry {facts.seq} of the channel\'s ledger</a></dd>'
        "<dt>Trusted timestamp</dt>"
        f"<dd>{stamp_html(stamp, zone)}</dd>"
        "</dl>"
        "<p>The hash is the SHA-256 of the post's state (text, formatting, edit date, poll, link preview) in "
        "the ledger's canonical form; each "
        "entry seals the one before it. To check a copy of this site, run "
        "<code>tgvault verify --site DIR</code>.</p>"
        "</details>"
    )
    return Markup(html)  # noqa: S704  # every value above is escaped
