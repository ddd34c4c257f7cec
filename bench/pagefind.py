"""Pagefind 1.5.2, the peer the search index is compared with, in its own virtual environment.

``pagefind[extended]`` (the Python wrapper and the binary with CJK segmentation) is installed from PyPI
into ``bench/.venvs/`` on first use; tgvault itself never downloads it. It indexes the site's permalink
pages (one page per post), and a small page of ours (``pagefind-query.html``) runs a query through
Pagefind's JavaScript API and loads the fragments of the first results, as its UI does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
VERSION = "1.5.2"
VENV = BENCH / ".venvs" / f"pagefind-{VERSION}"

QUERY_PAGE = """<!doctype html><meta charset="utf-8"><title>Pagefind query</title>
<ol id="results"></ol><p id="status"></p>
<script type="module">
const pagefind = await import("./pagefind/pagefind.js");
let last = null;
window.runQuery = async (query, count) => {
  last = await pagefind.search(query);
  const shown = await Promise.all(last.results.slice(0, count).map(r => r.data()));
  for (const data of shown) {
    const li = document.createElement("li");
    li.textContent = data.url;
    document.getElementById("results").appendChild(li);
  }
  document.getElementById("status").textContent = last.results.length + " found";
};
window.pagefindAll = async () => Promise.all(last.results.map(r => r.data().then(d => d.url)));
window.pagefindReady = true;
</script>
"""


def ensure_venv() -> Path:
    """Pagefind's virtual environment (created on first use); returns its ``bin`` folder."""
    bin_dir = VENV / "bin"
    ready = VENV / ".ready"
    if ready.exists():
        return bin_dir
    if VENV.exists():
        shutil.rmtree(VENV)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    done = subprocess.run(
        [
            str(bin_dir / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"pagefind[extended]=={VERSION}",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"installing pagefind {VERSION} failed:\n{done.stderr[-3000:]}")
    ready.write_text(f"pagefind[extended]=={VERSION}\n")
    return bin_dir


def index(site: Path) -> dict[str, Any]:
    """Index the permalink pages of ``site`` into ``site/pagefind``; its time and size."""
    bin_dir = ensure_venv()
    shutil.rmtree(site / "pagefind", ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(
        [str(bin_dir / "python"), "-m", "pagefind", "--site", str(site), "--glob", "c/*/posts/*.html"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"pagefind failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    (site / "pagefind-query.html").write_text(QUERY_PAGE, encoding="utf-8")
    files = [path for path in (site / "pagefind").rglob("*") if path.is_file()]
    return {"seconds": seconds, "bytes": sum(path.stat().st_size for path in files), "files": len(files)}
