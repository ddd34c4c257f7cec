"""Issue 17.4: the hostile-input corpus (tests/fixtures/hostile/) ends with tgvault's own error or is read safely.

Every crafted Desktop JSON export, HTML export and web-preview page in the corpus, and the deep or huge ones
this test builds rather than commits (JSON nested 100,000 deep, an integer of 5,000 digits, HTML with 100,000
nested elements), either imports safely or ends with one line naming the file, the record and the problem,
exit code 1 or 2, and nothing committed; never a traceback. See tests/fixtures/hostile/README.md.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tgvault.cli import main
from tgvault.errors import ImportFormatError, PageLayoutError
from tgvault.services.tdesktop_import import import_tdesktop
from tgvault.sources.webpreview.pages import page_kind, parse_preview_page
from tgvault.storage.database import create_archive_engine, make_session_factory
from tgvault.storage.media_store import LocalMediaStore
from tgvault.storage.schema import upgrade
from tgvault.storage.unit_of_work import UnitOfWork

UoW = Callable[[], UnitOfWork]
CORPUS = Path(__file__).parent / "fixtures" / "hostile"
CHANNEL_ID = 1777000301
DEPTH = 100_000

# Inputs read safely (what is hostile in them is defused later: escaped, refused as a path, not linked).
# A lone surrogate escaped in a string (\\ud800) is read by the JSON parser (yajl) as "?": the text then encodes.
JSON_SAFE = {
    "markup-escapes-and-paths-in-text.json",
    "unicode-digits-as-ids.json",
    "lone-surrogate-in-text.json",
}
HTML_SAFE = {"reply-to-id-of-5000-digits", "script-links-and-escaping-paths"}
PAGES_SAFE = {
    "ids-of-5000-digits-in-links-and-emoji.html",
    "lone-surrogate-references.html",
    "script-and-markup-in-text.html",
}
# What the one line says for an input refused (the file, the record and the problem are named).
JSON_PROBLEMS = {
    "channel-id-of-10-to-the-30.json": "a number too large to read (integer overflow), in the part read up to line 23 column 1, field 'id'",
    "date-in-2100.json": "(id 2), field 'date': 2100-01-01 00:00:00+00:00 is outside Telegram's dates",
    "date-in-the-year-10000.json": "(id 2), field 'date_unixtime': not a Unix time",
    "duration-of-1e400.json": "(floating point) overflow), in the part read up to line 41 column 1, in message #1 (id 2), field 'duration_seconds'",
    "emoji-id-of-40-digits.json": "(id 2), field 'text_entities[0]', field 'document_id': the id",
    "float-file-size.json": "(id 2), field 'file_size': expected an integer",
    "id-of-10-to-the-30.json": "(integer overflow), in the part read up to line 38 column 1, in message #1, field 'id'",
    "inf-location.json": "(floating point) overflow), in the part read up to line 42 column 1, in message #1 (id 2), field 'location_information.latitude'",
    "local-date-of-year-99999.json": "(id 2), field 'date': not a date and time",
    "lone-surrogate-in-title.json": "not UTF-8 text",
    "lone-surrogate-in-unread-field.json": "not UTF-8 text, after message id 2",
    "message-id-over-int32.json": "(id 2147483648), field 'id': Input should be less than or equal to 2147483647",
    "messages-not-objects.json": "message #0: expected an object",
    "nan-location.json": "not valid JSON, the file is damaged or truncated: lexical error: invalid char in json text., in the part read up to line 42 column 1, in message #1 (id 2), field 'location_information.latitude'",
    "not-json.json": "not valid JSON",
    "off-the-globe-location.json": "(id 2), field 'location_information': Input should be less than or equal to 90",
    "peer-id-of-40-digits.json": "(id 2), field 'forwarded_from_id': the id channel9",
    "reaction-count-of-2-to-the-63.json": "(integer overflow), in the part read up to line 45 column 1, in message #1 (id 2), field 'reactions.count'",
    "reply-id-of-10-to-the-30.json": "(integer overflow), in the part read up to line 39 column 1, in message #1 (id 2), field 'reply_to_message_id'",
    "text-entities-a-number.json": "(id 2), field 'text_entities': expected a string or a list",
    "unread-field-nested-40-deep.json": "(id 2), field 'inline_bot_buttons': cannot be archived: nested more than",
    "nested-100000-deep.json": "nested more than 64 levels deep (at messages.item.…); not a Telegram Desktop export",
    "integer-of-5000-digits.json": "a number too large to read (integer overflow), in the part read up to line 1 column 5150, in message #0 (id 1), field 'views'",
}
HTML_PROBLEMS = {
    "date-before-year-1": "(id 2): a value out of range: date value out of range",
    "date-in-the-year-9999": "(id 2), field 'date': 9999-12-31 23:59:59+00:00 is outside Telegram's dates",
    "message-id-of-5000-digits": "message #1: no message id",
    "message-id-over-int32": "(id 2147483648), field 'message_id': Input should be less than or equal to 2147483647",
    "reaction-count-of-5000-digits": "(id 2): a value out of range",
    "size-of-400-digits": "(id 2): a value out of range",
    "utc-offset-of-99-hours": "(id 2): a value out of range",
    "nested-100000-deep": "(id 1), field 'entities': Tuple should have at most 10000 items",
}
PAGE_PROBLEMS = {
    "binary-garbage.html": "no message history",
    "channel-id-of-10-to-the-30.html": "a value tgvault cannot archive: Input should be less than or equal to",
    "channel-id-of-5000-digits.html": "no post carries a readable data-view token",
    "date-in-the-year-9999.html": "a value tgvault cannot archive: 9999-12-31 23:59:59+00:00 is outside Telegram's dates",
    "date-with-offset-past-year-9999.html": "a value tgvault cannot archive: date value out of range",
    "empty.html": "no message history",
    "not-a-preview-page.html": "no message history",
    "post-id-of-5000-digits.html": "a value tgvault cannot archive",
    "post-id-over-int32.html": "a value tgvault cannot archive: Input should be less than or equal to 2147483647",
    "views-of-10-to-the-30.html": "a value tgvault cannot archive: Input should be less than or equal to",
    "italic-100000-deep.html": "a value tgvault cannot archive: Tuple should have at most 10000 items",
}


def nested(depth: int, inner: str, open_tag: str = "<b>", close_tag: str = "</b>") -> str:
    return open_tag * depth + inner + close_tag * depth


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus's large inputs, built here rather than committed."""
    root = tmp_path_factory.mktemp("generated")
    json_dir, html_dir, pages_dir = root / "tdesktop_json", root / "tdesktop_html", root / "webpreview"
    for folder in (json_dir, html_dir, pages_dir):
        folder.mkdir()
    head = f'{{"name": "Hostile", "type": "public_channel", "id": {CHANNEL_ID}, "messages": ['
    (json_dir / "nested-100000-deep.json").write_text(head + nested(DEPTH, "1", "[", "]") + "]}")
    template = json.loads((CORPUS / "tdesktop_json" / "messages-not-objects.json").read_text())
    template["messages"] = [{"id": 1, "type": "message", "date_unixtime": "1735812000", "views": 7}]
    (json_dir / "integer-of-5000-digits.json").write_text(
        json.dumps(template).replace(": 7", ": " + "9" * 5000)
    )
    page = (CORPUS / "tdesktop_html" / "reply-to-id-of-5000-digits" / "messages.html").read_text()
    for name, depth in (("nested-5000-deep", 5_000), ("nested-100000-deep", DEPTH)):
        (html_dir / name).mkdir()
        deep = page.replace("\nhello\n", nested(depth, "deep text", "<span><b>", "</b></span>"), 1)
        (html_dir / name / "messages.html").write_text(deep)
    preview = (CORPUS / "webpreview" / "script-and-markup-in-text.html").read_text()
    for name, tag in (("nested-100000-deep.html", "span"), ("italic-100000-deep.html", "i")):
        deep = nested(DEPTH, "deep text", f"<{tag}>", f"</{tag}>")
        (pages_dir / name).write_text(preview.replace("<script>alert(1)</script>", deep, 1))
    return root


def inputs(kind: str, generated: Path | None = None) -> Iterator[Path]:
    yield from sorted((CORPUS / kind).iterdir())
    if generated is not None:
        yield from sorted((generated / kind).iterdir())


def test_the_corpus_lists_an_outcome_for_every_input(generated: Path) -> None:
    """Every file of the corpus is covered below (a new one needs its expected outcome)."""
    assert {p.name for p in inputs("tdesktop_json", generated)} == JSON_SAFE | set(JSON_PROBLEMS)
    html = {p.name for p in inputs("tdesktop_html", generated)}
    assert html == HTML_SAFE | set(HTML_PROBLEMS) | {"nested-5000-deep"}
    pages = {p.name for p in inputs("webpreview", generated)}
    assert pages == PAGES_SAFE | set(PAGE_PROBLEMS) | {"nested-100000-deep.html"}


def _archived(unit_of_work: UoW) -> tuple[int, int]:
    """Channels and posts in the archive."""
    with unit_of_work() as uow:
        channels = uow.channels.list()
        return len(channels), sum(1 for c in channels for _ in uow.posts.iter_channel(c.id))


@pytest.fixture
def fresh_archive(tmp_path: Path) -> Iterator[Callable[[str], UoW]]:
    """A new empty SQLite archive per input."""
    engines = []

    def make(name: str) -> UoW:
        engine = create_archive_engine(f"sqlite:///{tmp_path / (name + '.db')}")
        upgrade(engine)
        engines.append(engine)
        factory = make_session_factory(engine)
        return lambda: UnitOfWork(factory)

    yield make
    for engine in engines:
        engine.dispose()


def _import(path: Path, uow_factory: UoW, store: LocalMediaStore) -> None:
    import_tdesktop(path, uow_factory, store, channel_name=str(CHANNEL_ID) if path.is_dir() else None)


def test_every_desktop_export_of_the_corpus_imports_safely_or_is_refused_whole(
    fresh_archive: Callable[[str], UoW], tmp_path: Path, generated: Path
) -> None:
    """Issue 17.4: an ImportFormatError naming the file and the record, and nothing committed; or a safe import."""
    store = LocalMediaStore(tmp_path / "store")
    for position, path in enumerate(
        [*inputs("tdesktop_json", generated), *inputs("tdesktop_html", generated)]
    ):
        archive = fresh_archive(f"archive{position}")
        problem = JSON_PROBLEMS.get(path.name) or HTML_PROBLEMS.get(path.name)
        if problem is None:
            _import(path, archive, store)
            channels, posts = _archived(archive)
            assert 1 == channels and posts > 0, path.name
            continue
        with pytest.raises(ImportFormatError) as raised:
            _import(path, archive, store)
        message = str(raised.value)
        assert str(path) in message and problem in message, (path.name, message)
        assert "\n" not in message and len(message) < 600, path.name
        assert (0, 0) == _archived(archive), path.name


def test_deep_html_is_read_whole(uow_factory: UoW, tmp_path: Path, generated: Path) -> None:
    """Issue 17.4: 5,000 nested elements in a post's text are read (they once raised RecursionError)."""
    store = LocalMediaStore(tmp_path / "store")
    _import(generated / "tdesktop_html" / "nested-5000-deep", uow_factory, store)
    with uow_factory() as uow:
        post = uow.posts.get(CHANNEL_ID, 1)
    assert post is not None and "deep text" == post.text
    assert 5_000 == len(post.entities)  # a bold entity per <b>; the <span>s make none


@pytest.mark.parametrize("kind", ["tdesktop_json", "tdesktop_html"])
def test_the_cli_ends_every_refused_export_with_one_line(
    kind: str, generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17.4: ``tgvault import tdesktop`` prints one line naming the file and the problem, exits 1 or 2."""
    for name in list(os.environ):
        if name.startswith("TGVAULT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    problems = JSON_PROBLEMS if kind == "tdesktop_json" else HTML_PROBLEMS
    for path in inputs(kind, generated):
        if path.name not in problems:
            continue
        channel = ["--channel", str(CHANNEL_ID)] if path.is_dir() else []
        result = CliRunner().invoke(main, ["import", "tdesktop", str(path), *channel])
        # (the progress events, JSON lines on a stderr that is not a terminal, are not messages)
        lines = [line for line in result.stderr.strip().splitlines() if not line.startswith('{"label"')]
        assert result.exit_code in (1, 2), (path.name, result.stderr)
        assert 1 == len(lines) and lines[0].startswith("tgvault: error: "), (path.name, result.stderr)
        assert str(path) in lines[0] and problems[path.name] in lines[0], lines[0]
        assert "Traceback" not in result.stderr and "bug in tgvault" not in result.stderr
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


def test_every_page_of_the_corpus_parses_or_raises_page_layout_error(generated: Path) -> None:
    """Issue 17.4: the web-preview parser reads a hostile page safely or refuses it whole, naming the problem."""
    url = "https://t.me/s/hostile"
    for path in inputs("webpreview", generated):
        html = path.read_text(encoding="utf-8")
        page_kind(html)
        problem = PAGE_PROBLEMS.get(path.name)
        if problem is None:
            page = parse_preview_page(html, url=url)
            assert page.posts, path.name
            for parsed in page.posts:
                parsed.post.text.encode("utf-8")  # what was read can be stored
            continue
        with pytest.raises(PageLayoutError) as raised:
            parse_preview_page(html, url=url)
        assert problem in str(raised.value), (path.name, str(raised.value))
    deep = parse_preview_page((generated / "webpreview" / "nested-100000-deep.html").read_text(), url=url)
    assert "deep text" in deep.posts[0].post.text
