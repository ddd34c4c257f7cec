"""``tgvault export evidence``: one post's proof in a folder anyone can check, with or without tgvault.

The folder holds the post and all its revisions (``post.json``; ``post.html`` to read), the records the
ledger hashed (``records/<name>.json``, their canonical bytes), the raw TL as archived (``raw/``), the
stored file (``media/``), the ledger entries from the post's first one to a timestamped head
(``ledger.jsonl``; ``head.json``), the RFC 3161 token over that head with the TSA's CA certificate
(``head.tsr``, ``tsa-ca.pem``), for a post the web source read, the pages it was read from as WARC
records copied byte for byte from the archive's files (``warc/captures.warc.gz``), a ``SHA256SUMS`` of
every file and a ``README.md`` saying how to check it.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tgvault.errors import StorageError
from tgvault.storage.ledger_records import CAPTURE, MEDIA, Entry, LedgerStamp
from tgvault.storage.media_store import MediaStore
from tgvault.storage.unit_of_work import UnitOfWork
from tgvault.storage.warc_store import FOLDER, WarcArchive

CAPTURES = "warc/captures.warc.gz"

README = """# Evidence: post {message_id} of channel {channel_id}{username}

Made by tgvault on {made_at}. This folder proves what the archive recorded of this post, and when; it
needs nobody's word, only the steps below.

* `post.json`: the post as last archived and each earlier revision (`post.html` shows them to read).
* `records/`: each record the archive hashed when it observed it (a state of the post, its deletion, its
  stored file, its counters), in canonical bytes: JSON, keys sorted, no whitespace, UTF-8.
* `raw/`: the raw record Telegram sent, as archived (for reference; the ledger hashes `records/`).
* `media/`: the stored file, named by its sha256.
{warc_line}* `ledger.jsonl`: the channel's ledger entries {first_seq} to {head_seq}, one JSON object a line. Each
  entry holds the sha256 of one record (`record_sha256`), the hash of the entry before it (`prev_sha256`)
  and its own hash (`entry_sha256`): the sha256 of the entry's canonical JSON without `entry_sha256`.
* `head.json`: the last entry here{stamped_words}.

## Check it with tgvault

    tgvault verify --bundle {folder_name}

## Check it with standard tools

1. Nothing in the folder was changed: `sha256sum -c SHA256SUMS`.
2. Each record is in the ledger: `sha256sum records/*.json` gives hashes that appear as `record_sha256` in
   `ledger.jsonl` (for instance `grep "$(sha256sum records/current.json | cut -d' ' -f1)" ledger.jsonl`).
   The post's current text is in `records/current.json`; the file's hash in `records/media.json` is the
   sha256 of the file in `media/`.
3. The entries form a chain: for each line, `jq -cS 'del(.entry_sha256)' | tr -d '\\n' | sha256sum`
   gives its `entry_sha256`, and each line's `prev_sha256` is the `entry_sha256` of the line before.
   The last line is the entry in `head.json`.
{token_steps}{warc_steps}"""

WARC_LINE = """* `warc/captures.warc.gz`: the web pages the post was read from (the web source), and the file as it
  was downloaded, as the archive's WARC records (request and response, byte for byte): each `capture`
  entry's `record_sha256` is the sha256 of the page its `warc_record_id` names; a `media` entry that
  names one has its `media_sha256` there.
"""

WARC_STEPS = """5. The pages: `warcio index -f warc-record-id,warc-target-uri,offset warc/captures.warc.gz` lists the
   records (`pip install warcio`); for a response record at OFFSET,
   `warcio extract --payload warc/captures.warc.gz OFFSET | sha256sum` gives the `record_sha256` of the
   `capture` entry naming its id. Any web-archive player replays the file: open it in
   https://replayweb.page, or `wb-manager init ev && wb-manager add ev warc/captures.warc.gz && wayback`
   (pywb) and browse the captured URL.
"""

STAMP_STEPS = """4. A time-stamping authority ({tsa_url}) signed that head on {stamped_at}: the token's message is the head
   entry's hash, so

       openssl ts -verify -digest {entry_sha256} -in head.tsr -CAfile tsa-ca.pem

   prints `Verification: OK`; `openssl ts -reply -in head.tsr -text` shows the time. Every entry before the
   head, and so every record here, existed in this form at that time.
"""

NO_STAMP = """4. No time-stamping authority has signed this head yet (the archive has no `[ledger] tsa_url`, or the
   post changed since its last run): the chain proves the records are consistent with the archive's
   ledger, not when they existed.
"""


@dataclass(frozen=True)
class EvidenceBundle:
    """What an evidence export wrote."""

    folder: Path
    files: int
    entries: int
    stamped: bool


def export_evidence(
    uow: UnitOfWork, channel_id: int, message_id: int, folder: Path, store: MediaStore, *, made_at: str
) -> EvidenceBundle:
    """Write the evidence folder of one post (see the module); raises StorageError when the post has no
    ledger entry or the folder is not empty."""
    post = uow.posts.get(channel_id, message_id)
    channel = uow.channels.get(channel_id)
    entries = [e for e in uow.ledger.entries_between(channel_id, message_id - 1, message_id)]
    if post is None or channel is None or not entries:
        raise StorageError(f"post {message_id} of channel {channel_id} has no ledger entry to prove")
    if folder.exists() and any(folder.iterdir()):
        raise StorageError(f"{folder} is not empty; name a new folder with --out")
    last = entries[-1].seq
    stamp = next((s for s in reversed(uow.ledger.stamps(channel_id)) if s.seq >= last), None)
    head_seq = stamp.seq if stamp is not None else uow.ledger.head(channel_id)[0]
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(relative: str, data: bytes) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)

    revisions = uow.posts.revisions(channel_id, message_id)
    document = {
        "channel": channel.model_dump(mode="json"),
        "post": post.model_dump(mode="json"),
        "revisions": [revision.model_dump(mode="json") for revision in revisions],
        "first_recorded_at": entries[0].as_json()["observed_at"],
        "ledger_entries": [entry.seq for entry in entries],
    }
    write("post.json", json.dumps(document, ensure_ascii=False, indent=2).encode())
    write("post.html", _html(document).encode())
    recorded = [e.record_sha256 for e in entries]
    for name, data in uow.ledger.post_records(channel_id, message_id, recorded).items():
        write(f"records/{name}.json", data)
    if post.raw is not None:
        write("raw/current.json", json.dumps(post.raw, ensure_ascii=False, indent=2).encode())
    for revision in revisions:
        if revision.raw is not None:
            write(
                f"raw/revision-{revision.revision}.json",
                json.dumps(revision.raw, ensure_ascii=False).encode(),
            )
    media = post.media
    if media is not None and media.path and media.sha256:
        source = store.path_of(media.path)
        if source.is_file():
            target = folder / "media" / Path(media.path).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            written.append(target)
    pages = {e.warc_record_id for e in entries if e.kind in (CAPTURE, MEDIA) and e.warc_record_id}
    if pages and WarcArchive(store.root / FOLDER).copy_records(channel_id, pages, folder / CAPTURES):
        written.append(folder / CAPTURES)
    count = 0
    head: Entry | None = None
    with (folder / "ledger.jsonl").open("w", encoding="utf-8") as ledger:
        for entry in uow.ledger.entries_range(channel_id, entries[0].seq, head_seq):
            ledger.write(json.dumps(entry.as_json(), sort_keys=True, separators=(",", ":")) + "\n")
            count += 1
            head = entry
    written.append(folder / "ledger.jsonl")
    assert head is not None
    write("head.json", json.dumps(_head(head, stamp), indent=2).encode())
    if stamp is not None:
        write("head.tsr", stamp.token)
        write("tsa-ca.pem", stamp.certificates)
    readme = README.format(
        message_id=message_id,
        channel_id=channel_id,
        username=f" (@{channel.username})" if channel.username else "",
        made_at=made_at,
        first_seq=entries[0].seq,
        head_seq=head.seq,
        stamped_words=", and the timestamp over it" if stamp is not None else "",
        folder_name=folder.name,
        warc_line=WARC_LINE if (folder / CAPTURES).is_file() else "",
        warc_steps=WARC_STEPS if (folder / CAPTURES).is_file() else "",
        token_steps=NO_STAMP
        if stamp is None
        else STAMP_STEPS.format(
            tsa_url=stamp.tsa_url, stamped_at=stamp.stamped_at.isoformat(), entry_sha256=stamp.entry_sha256
        ),
    )
    write("README.md", readme.encode())
    sums = "".join(f"{_sha256(path)}  {path.relative_to(folder).as_posix()}\n" for path in sorted(written))
    (folder / "SHA256SUMS").write_text(sums, encoding="utf-8")
    return EvidenceBundle(folder, len(written) + 1, count, stamp is not None)


def _head(entry: Entry, stamp: LedgerStamp | None) -> dict[str, Any]:
    head: dict[str, Any] = {
        "channel_id": entry.channel_id,
        "seq": entry.seq,
        "entry_sha256": entry.entry_sha256,
    }
    if stamp is not None:
        head |= {"tsa_url": stamp.tsa_url, "stamped_at": stamp.stamped_at.isoformat(), "token": "head.tsr"}
    return head


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _html(document: dict[str, Any]) -> str:
    """The post and its revisions as a page to read (every value escaped)."""
    post = document["post"]
    title = f"Post {post['message_id']} of {document['channel'].get('title') or post['channel_id']}"
    states = [*document["revisions"], {**post, "revision": "current"}]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title></head><body><main>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Posted {html.escape(str(post['date']))}; first recorded {html.escape(str(document['first_recorded_at']))}"
        + (f"; deleted (seen) {html.escape(str(post['deleted_at']))}" if post.get("deleted_at") else "")
        + "</p>",
    ]
    for state in states:
        label = "Current text" if state["revision"] == "current" else f"Revision {state['revision']}"
        when = state.get("observed_at") or state.get("edit_date") or ""
        parts.append(f"<section><h2>{html.escape(label)}</h2><p>{html.escape(str(when))}</p>")
        parts.append(
            f'<pre style="white-space: pre-wrap">{html.escape(state.get("text") or "")}</pre></section>'
        )
    parts.append("</main></body></html>\n")
    return "\n".join(parts)
