"""The fold's patching of buckets by posting codes (``builder.patch_buckets``): rounds of postings added
to and removed from keys whose lists run over many chunks leave, byte for byte, the bucket and chunk
files of the same lists written whole."""

from __future__ import annotations

import random
from pathlib import Path

from tgvault.export.site.options import SiteBuildReport
from tgvault.export.site.search.buckets import BucketFile
from tgvault.export.site.search.builder import patch_buckets
from tgvault.export.site.search.postings import CHUNK, decode_codes, posting_code
from tgvault.export.site.search.tokens import bucket_of
from tgvault.export.site.writer import SiteWriter

BUCKETS = 4
KEYS = ["alpha", "beta", "gamma", "delta", "kiwi", "квокка", "東京"]


def incremental_writer(site: Path) -> SiteWriter:
    """A writer that keeps what it does not write (as an incremental build's)."""
    writer = SiteWriter(site, SiteBuildReport())
    writer.incremental = True
    return writer


def files_of(site: Path) -> dict[str, bytes]:
    folder = site / "search" / "i"
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*.js"))}


def written_whole(site: Path, model: dict[str, set[int]], ids: dict[str, int]) -> dict[str, bytes]:
    """The buckets of ``model``'s lists written from scratch (a key's chunks named by ``ids``, as the
    patched bucket names them: a key keeps its name once it had more than one chunk)."""
    writer = SiteWriter(site, SiteBuildReport())
    for bucket in range(BUCKETS):
        keys = sorted(key for key in model if bucket_of(key, BUCKETS) == bucket and model[key])
        file = BucketFile(writer, bucket, {key: [0, 0, [], ids.get(key, 0)] for key in keys})
        for key in keys:
            file.set_codes(key, sorted(model[key]))
        file.save()
    writer.finish()
    writer.close()
    return files_of(site)


def test_buckets_patched_round_after_round_are_the_lists_written_whole(tmp_path: Path) -> None:
    """New posts in the newest month (the first chunk alone), postings removed from the first chunk's
    oldest group (the first chunk alone, unless the key has older chunks) and deep in older chunks, old posts added back in older months, keys emptied and new
    keys: after every round each bucket and chunk file is what writing the lists whole gives."""
    rng = random.Random(19)
    patched = tmp_path / "patched"
    model: dict[str, set[int]] = {}
    for key in KEYS[:5]:  # lists of many months, some groups larger than a chunk
        model[key] = {
            posting_code((month, rng.choice([0, 1]), rng.randint(1, 4 * CHUNK)))
            for month in range(24_000, 24_012)
            for _ in range(rng.randint(1, CHUNK // 2 if month % 5 else 2 * CHUNK))
        }
    patch_buckets(writer := incremental_writer(patched), BUCKETS, model, {})
    writer.finish()
    writer.close()
    newest, next_id, paths = 24_012, 10_000, set()
    oldest: dict[
        str, int
    ] = {}  # the month and slot (a code's high bits) of a key's first chunk's oldest group
    for round_ in range(14):
        added: dict[str, set[int]] = {}
        removed: dict[str, set[int]] = {}
        if round_ % 4 == 3:
            newest += 1
        for key in rng.sample(KEYS, rng.randint(1, len(KEYS))):
            present = sorted(model.get(key, set()))
            roll = rng.random()
            if roll < 0.45 or not present:  # new posts
                new = set()
                for _ in range(rng.randint(1, 40)):
                    next_id += rng.randint(1, 3)
                    new.add(posting_code((newest, rng.choice([0, 0, 1]), next_id)))
                added[key] = new
            elif roll < 0.6:  # the first chunk's oldest group thinned (it may then fit an older chunk)
                group = [code for code in present if code >> 32 == oldest.get(key)]
                gone = set(rng.sample(group, len(group) * rng.randint(1, 9) // 10))
                removed[key] = gone | set(present[: rng.randint(1, 5)])  # and some of the newest
            elif roll < 0.8:  # postings deep in the list taken away, others put back in older months
                removed[key] = set(rng.sample(present, min(len(present), rng.randint(1, 20))))
                added[key] = {
                    posting_code((rng.randint(24_000, 24_011), rng.choice([0, 1]), rng.randint(1, 4 * CHUNK)))
                    for _ in range(rng.randint(0, 20))
                }
            elif roll < 0.9:  # every posting of the key
                removed[key] = set(present)
            else:  # edits that cancel out: nothing changes
                added[key] = set(present[:3])
        for key, codes in removed.items():
            model[key] = model.get(key, set()) - codes
        for key, codes in added.items():
            model[key] = model.get(key, set()) | codes
        writer = incremental_writer(patched)
        patch_buckets(writer, BUCKETS, added, removed)
        writer.finish()
        ids = {}
        for bucket in range(BUCKETS):
            file = BucketFile.read(writer, bucket)
            for key, entry in file.entries.items():
                ids[key] = int(entry[3])
                oldest[key] = decode_codes(entry[2])[-1] >> 32
                assert sorted(file.codes(key)) == sorted(model[key]), (round_, key)
                assert int(entry[0]) == len(model[key]), (round_, key)
        writer.close()
        found = files_of(patched)
        assert found == written_whole(tmp_path / f"whole-{round_}", model, ids), round_
        paths.update(found)
    assert len(paths) > 3 * BUCKETS  # chunk files were written, not only buckets
