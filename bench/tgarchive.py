"""tg-archive 1.3.1, the peer the site build is compared with, in its own virtual environment.

The virtual environment lives in ``bench/.venvs/`` (git-ignored) and is created on first use with pip from
PyPI; tg-archive never touches the project's environment. It is fed the same posts as the tgvault archive,
through its own SQLite schema and its own insert functions (``tgarchive.db.DB``): the feeder runs inside
tg-archive's environment (see :data:`FEEDER`), reading the posts as JSON lines that the bench writes from
the tgvault archive.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
VERSION = "1.3.1"
VENV = BENCH / ".venvs" / f"tg-archive-{VERSION}"

# Runs with tg-archive's own Python: its schema and inserts, exactly as its --sync would store messages.
FEEDER = r"""
import json, sys
from datetime import datetime, timezone
from tgarchive.db import DB, Media, Message, User

db = DB(sys.argv[1])
channel = json.loads(sys.stdin.readline())
user = User(id=channel["id"], username=channel["username"], first_name=channel["title"], last_name=None,
            tags=[], avatar=None)
db.insert_user(user)
for count, line in enumerate(sys.stdin, 1):
    post = json.loads(line)
    media = None
    if post["media"] is not None:
        media = Media(**post["media"])
        db.insert_media(media)
    db.insert_message(Message(
        id=post["id"],
        type="message",
        date=datetime.fromisoformat(post["date"]),
        edit_date=datetime.fromisoformat(post["edit_date"]) if post["edit_date"] else None,
        content=post["content"],
        reply_to=post["reply_to"],
        user=user,
        media=media,
    ))
    if count % 1000 == 0:
        db.commit()
db.commit()
"""


def ensure_venv() -> Path:
    """tg-archive's virtual environment (created on first use); returns its ``bin`` folder."""
    bin_dir = VENV / "bin"
    ready = VENV / ".ready"
    if ready.exists():
        return bin_dir
    if VENV.exists():
        shutil.rmtree(VENV)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    # tg-archive's build imports pkg_resources, which setuptools 81 and later no longer ship.
    done = subprocess.run(
        [
            str(bin_dir / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"tg-archive=={VERSION}",
            "setuptools<81",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"installing tg-archive {VERSION} failed:\n{done.stderr[-3000:]}")
    ready.write_text(f"tg-archive=={VERSION}\n")
    return bin_dir


def _post_lines(database_url: str, channel_id: int) -> tuple[dict[str, Any], list[str]]:
    """The archive's posts as tg-archive's sync would have stored them (plain text, reply id, link/poll)."""
    from tgvault.storage.database import create_archive_engine, make_session_factory
    from tgvault.storage.unit_of_work import UnitOfWork

    engine = create_archive_engine(database_url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            channel = uow.channels.get(channel_id)
            assert channel is not None
            head = {"id": channel.id, "username": channel.username, "title": channel.title}
            lines = []
            for post in uow.posts.iter_channel(channel_id):
                if post.service is not None:
                    continue
                media = None
                if post.poll is not None:
                    options = [
                        {"label": answer.text, "count": answer.voters or 0, "correct": bool(answer.correct)}
                        for answer in post.poll.answers
                    ]
                    media = {
                        "id": post.message_id,
                        "type": "poll",
                        "url": None,
                        "title": post.poll.question,
                        "description": json.dumps(options),
                        "thumb": None,
                    }
                elif post.web_page is not None and post.web_page.url:
                    media = {
                        "id": post.message_id,
                        "type": "webpage",
                        "url": post.web_page.url,
                        "title": post.web_page.title,
                        "description": post.web_page.description,
                        "thumb": None,
                    }
                lines.append(
                    json.dumps(
                        {
                            "id": post.message_id,
                            "date": post.date.isoformat(),
                            "edit_date": post.edit_date.isoformat() if post.edit_date else None,
                            "content": post.text,
                            "reply_to": post.reply_to_message_id,
                            "media": media,
                        }
                    )
                )
    finally:
        engine.dispose()
    return head, lines


def prepare_site(bin_dir: Path, workdir: Path, database_url: str, channel_id: int) -> dict[str, Any]:
    """A tg-archive site folder (``tg-archive --new``, its example config) with the archive's posts."""
    site = workdir / "tg-archive-site"
    if site.exists():
        shutil.rmtree(site)
    subprocess.run(
        [str(bin_dir / "tg-archive"), "--new", "--path", str(site)], check=True, capture_output=True
    )
    head, lines = _post_lines(database_url, channel_id)
    config = (site / "config.yaml").read_text()
    config = config.replace(
        'group: "your_group_name or your_group_username or your_group_id(a negative number)"',
        f'group: "{head["username"]}"',
    )
    (site / "config.yaml").write_text(config)
    payload = json.dumps(head) + "\n" + "\n".join(lines) + "\n"
    subprocess.run(
        [str(bin_dir / "python"), "-c", FEEDER, str(site / "data.sqlite")],
        input=payload,
        text=True,
        check=True,
    )
    return {"posts": len(lines), "site": str(site)}


# tg-archive's own CLI entry point, timed inside its process after its imports (like tgvault's build).
TIMED_BUILD = r"""
import json, os, sys, time
import tgarchive, tgarchive.build, tgarchive.db
sys.argv = ["tg-archive", "--build", "--config", "config.yaml", "--data", "data.sqlite",
            "--template", "template.html", "--rss-template", "rss_template.html"]
wall, cpu, times = time.perf_counter(), time.process_time(), os.times()
tgarchive.main()
done = os.times()
print(json.dumps({"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
                  "user_seconds": done.user - times.user, "system_seconds": done.system - times.system}))
"""


def build(bin_dir: Path, site: Path) -> dict[str, Any]:
    """Time one ``tg-archive --build`` (it always deletes and rebuilds the whole site).

    ``seconds`` is the build inside the process (after imports); ``process_seconds`` the whole process.
    """
    publish = site / "site"
    started = time.perf_counter()
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", TIMED_BUILD],
        cwd=site,
        check=True,
        capture_output=True,
        text=True,
    )
    process_seconds = time.perf_counter() - started
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["process_seconds"] = process_seconds
    report["pages"] = sum(1 for _ in publish.rglob("*.html"))
    return report
