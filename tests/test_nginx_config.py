"""The nginx config shipped for docker compose (config/nginx-site.conf), run by a real nginx.

nginx serves a site built from the hostile channel on a free loopback port; real HTTP requests check
that media come with ``Content-Security-Policy: sandbox`` and ``nosniff`` and only the types tgvault
publishes, that pages get a CSP covering what their own <meta> policy allows, and that dotfiles are
refused. Without nginx the tests that need it skip (CI installs it: .ci/run).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hostile_media import HOSTILE_FILES, archive_channel, build_hostile_channel, hostile_settings
from tgvault.app import SiteExport, open_archive, site_options
from tgvault.storage.media_store import content_path
from tgvault.storage.media_types import PASSIVE_TYPES
from tgvault.testing import FakeTelegram

CONFIG = Path(__file__).resolve().parent.parent / "config" / "nginx-site.conf"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)


def media_types_of_the_config() -> dict[str, str]:
    """Extension -> type, from the ``types`` block of the config's ``location /media/``."""
    block = re.search(r"location /media/ \{\s*types \{(.*?)\}", CONFIG.read_text(), re.S)
    assert block is not None, "config/nginx-site.conf has no types block in location /media/"
    found: dict[str, str] = {}
    for line in block.group(1).strip().splitlines():
        mime, *extensions = line.strip().rstrip(";").split()
        found.update(dict.fromkeys(extensions, mime))
    return found


def test_the_config_names_exactly_the_types_tgvault_publishes() -> None:
    """Every passive extension is served with its type, and nothing else under media/ has a type."""
    assert {extension: passive.mime_type for extension, passive in PASSIVE_TYPES.items()} == (
        media_types_of_the_config()
    )


def test_the_config_refuses_dotfiles_and_sandboxes_media() -> None:
    text = CONFIG.read_text()
    assert re.search(r"location ~ /\\\. \{\s*deny all;", text)
    media = text[text.index("location /media/") :]
    assert re.search(r'add_header Content-Security-Policy "sandbox;[^"]*" always;', media)
    assert 'add_header X-Content-Type-Options "nosniff" always;' in media


# ---- a real nginx ----------------------------------------------------------------------------------


@dataclass
class Served:
    site: Path
    port: int

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            headers = {name.lower(): value for name, value in response.getheaders()}
            return response.status, headers, response.read()
        finally:
            connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nginx_main_config(work: Path, site_conf: Path) -> str:
    version = subprocess.run([NGINX or "nginx", "-V"], capture_output=True, text=True, check=True).stderr
    temp = "".join(
        f"    {module}_temp_path {work / module};\n"
        for module in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        if module == "client_body" or f"--without-http_{module}_module" not in version
    )
    mime = Path("/etc/nginx/mime.types")
    types = (
        f"include {mime};"
        if mime.is_file()
        else "types { text/html html; text/css css; application/javascript js; image/svg+xml svg; }"
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's private folders
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    {types}\n    default_type application/octet-stream;\n    access_log off;\n{temp}"
        f"    include {site_conf};\n}}\n"
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx); CI installs it")
    root = tmp_path_factory.mktemp("nginx")
    world = FakeTelegram()
    build_hostile_channel(world)
    settings = hostile_settings(root)
    archive_channel(world, settings)
    archive = open_archive(settings)
    try:
        SiteExport(archive, site_options(settings)).build()
    finally:
        archive.close()
    site = root / "site"
    # what a static folder can also hold: the publish list, a build's temporary file, a file an
    # older version published under an active name
    (site / ".tgvault-site.json").write_text("{}")
    (site / "media" / "ab").mkdir(parents=True, exist_ok=True)
    (site / "media" / "ab" / ".x.html.tmp").write_text("<script>1</script>")
    (site / "media" / "ab" / "old.svg").write_bytes(HOSTILE_FILES[1].data)
    port = free_port()
    text = CONFIG.read_text()
    assert "listen 80;" in text and "root /srv/tgvault/site;" in text
    site_conf = root / "site.conf"
    site_conf.write_text(
        text.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("/srv/tgvault/site", str(site))
    )
    main_conf = root / "nginx.conf"
    main_conf.write_text(nginx_main_config(root, site_conf))
    command = [NGINX, "-p", str(root), "-e", str(root / "error.log"), "-c", str(main_conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert 0 == checked.returncode, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"nginx did not start: {(root / 'error.log').read_text()}") from None
                time.sleep(0.05)
        yield Served(site, port)
    finally:
        process.terminate()
        process.wait(timeout=15)


def csp(value: str) -> dict[str, str]:
    """A Content-Security-Policy as directive -> sources."""
    parts = (part.strip().split(None, 1) for part in value.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def test_pages_get_nosniff_and_a_policy_covering_their_own_meta_policy(served: Served) -> None:
    status, headers, body = served.get("/index.html")
    assert (200, "nosniff") == (status, headers.get("x-content-type-options"))
    assert "text/html; charset=utf-8" == headers.get("content-type")
    meta = re.search(rb'http-equiv="Content-Security-Policy" content="([^"]+)"', body)
    assert meta is not None
    header = csp(headers["content-security-policy"])
    assert csp(meta.group(1).decode()).items() <= header.items()
    assert "'none'" == header.get("frame-ancestors")
    for path, expected in (("/static/site.js", "javascript"), ("/static/site.css", "text/css")):
        status, headers, _ = served.get(path)
        assert (200, "nosniff") == (status, headers.get("x-content-type-options")), path
        assert expected in headers.get("content-type", ""), path


def test_media_are_sandboxed_nosniff_and_served_only_as_passive_types(served: Served) -> None:
    for hostile in HOSTILE_FILES:
        path = f"/media/{content_path(hashlib.sha256(hostile.data).hexdigest(), hostile.published)}"
        status, headers, body = served.get(path)
        assert (200, hostile.data) == (status, body), path
        assert PASSIVE_TYPES[hostile.published].mime_type == headers.get("content-type", "").split(";")[0], (
            path
        )
        assert "nosniff" == headers.get("x-content-type-options"), path
        assert "sandbox" in csp(headers.get("content-security-policy", "")), path
    photos = sorted((served.site / "media").rglob("*.jpg"))
    assert photos
    status, headers, _ = served.get("/" + photos[0].relative_to(served.site).as_posix())
    assert (200, "image/jpeg") == (status, headers.get("content-type"))
    assert "sandbox" in csp(headers.get("content-security-policy", ""))
    status, headers, _ = served.get("/media/ab/old.svg")  # left by an older version: not an image any more
    assert (200, "application/octet-stream") == (status, headers.get("content-type"))
    assert "sandbox" in csp(headers.get("content-security-policy", ""))


@pytest.mark.parametrize("path", ["/.tgvault-site.json", "/media/ab/.x.html.tmp", "/%2etgvault-site.json"])
def test_dotfiles_are_refused(served: Served, path: str) -> None:
    status, _, body = served.get(path)
    assert 403 == status, body[:200]
