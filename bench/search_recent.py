"""The recent part of the search index alone, replayed: rounds of new posts (and edits) on a copy of a
built site's recent shards, timed and hashed, in this tree and side by side with other sources (issue 19).

    python -m bench.search_recent --site /tmp/rebuild/site-now --rounds 12 [--mode new|mixed]
                                  [--before /work/main/src] [--work /tmp/search-recent]

Each round is one build's work on the recent part (:class:`RecentPart` made from the previous round's
manifest, its changes, ``save``): ``new`` files 100 new posts a round (the texts of the site's newest
month's last 100 posts, ids after its newest, as ``bench.site_rebuild`` adds them), ``mixed`` 100 new
posts of random texts of that month, 10 edits and 3 deletions of posts the recent part owns and 5 edits of
posts the buckets hold. ``cpu_ms`` is the CPU of each round (files are written after the clock stops, so
the file system does not count); ``digest`` hashes every file and the manifest the rounds leave, the same
in two trees when they write the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.site_scale import REPO


class _MemoryWriter:
    """What :class:`RecentPart` needs of a site writer; files are kept in memory until :meth:`flush`."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.pending: dict[str, bytes | None] = {}
        self.written = 0

    def write(self, path: str, content: str | bytes, key: str | None = None) -> bool:
        self.pending[path] = content if isinstance(content, bytes) else content.encode()
        self.written += 1
        return True

    def drop(self, path: str) -> None:
        self.pending[path] = None

    def flush(self) -> None:
        for path, data in self.pending.items():
            target = self.out_dir / path
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        self.pending = {}


def replay(site: Path, work: Path, rounds: int, mode: str) -> dict[str, Any]:
    """The rounds in this process (see the module's docstring)."""
    from tgvault.export.site.search.recent import RecentPart
    from tgvault.export.site.search.scripts import read_script

    shutil.rmtree(work, ignore_errors=True)
    (work / "search").mkdir(parents=True)
    if (site / "search/r").is_dir():
        shutil.copytree(site / "search/r", work / "search/r")
    index = read_script(site / "search/index.js", "index")
    if not index:
        raise SystemExit(f"no search index in {site}")
    manifest = index[0]
    recent, buckets = manifest.get("recent"), manifest["buckets"]
    channel, months = max(manifest["months"].items())
    key = max(months)
    month = int(key[:4]) * 12 + int(key[5:]) - 1
    rows: list[list[Any]] = []
    for path in (site / "search/t" / channel / key).glob("*.js"):
        rows += (read_script(path, "text") or [None, []])[1]
    rows.sort()
    texts = [str(row[3]) for row in rows]
    top = rows[-1][0] + 10_000
    rng = random.Random(5)
    writer = _MemoryWriter(work)
    cpu: list[float] = []
    owned: dict[tuple[int, int, int], str] = {}
    for number in range(rounds):
        changes: list[tuple[tuple[int, int, int], str | None, str | None]] = []
        for k in range(100):
            posting = (month, 0, top + number * 100 + k)
            text = texts[-100 + k] if mode == "new" else rng.choice(texts)
            changes.append((posting, None, text))
            owned[posting] = text
        if mode == "mixed":
            for posting in rng.sample(sorted(owned), 10):
                text = rng.choice(texts)
                changes.append((posting, owned[posting], text))
                owned[posting] = text
            for posting in rng.sample(sorted(owned), 3):
                changes.append((posting, owned.pop(posting), None))
            for _ in range(5):
                row = rng.choice(rows)
                changes.append(((month, 0, row[0]), str(row[3]), rng.choice(texts)))
        started = time.process_time()
        part = RecentPart(writer, buckets, recent)  # type: ignore[arg-type]
        for change in changes:
            part.change(*change)
        part.save()
        recent = part.manifest()
        cpu.append(time.process_time() - started)
        writer.flush()
    digest = hashlib.sha256()
    for path in sorted((work / "search").rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    digest.update(json.dumps(recent, sort_keys=True).encode())
    return {"cpu_ms": [round(seconds * 1000, 1) for seconds in cpu], "digest": digest.hexdigest()[:16]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--site", type=Path, help="a built site (its search index is read)")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--mode", choices=("new", "mixed"), default="new")
    parser.add_argument("--before", help="tgvault sources (a src folder) to replay side by side")
    parser.add_argument("--work", type=Path, default=Path("/tmp/search-recent"))
    parser.add_argument("--replay", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay:
        spec = json.loads(args.replay)
        print(json.dumps(replay(Path(spec["site"]), Path(spec["work"]), spec["rounds"], spec["mode"])))
        return
    if args.site is None:
        parser.error("--site is required")
    trees = {"now": None} | ({"before": args.before} if args.before else {})
    for tree, source in trees.items():
        env = dict(os.environ)
        if source:
            env["PYTHONPATH"] = source + os.pathsep + env.get("PYTHONPATH", "")
        spec = {
            "site": str(args.site),
            "work": str(args.work / tree),
            "rounds": args.rounds,
            "mode": args.mode,
        }
        done = subprocess.run(
            [sys.executable, "-m", "bench.search_recent", "--replay", json.dumps(spec)],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps({"tree": tree, "mode": args.mode, "load": round(os.getloadavg()[0], 2), **result}))


if __name__ == "__main__":
    main()
