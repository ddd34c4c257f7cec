"""Telegram Desktop exports made for a test: what Desktop writes, in the shapes the tests need."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def export_without_files(folder: Path, count: int, *, refused: int = 0) -> Path:
    """A Desktop export whose ``count`` photos are named in result.json but absent (as when Desktop
    exported the messages only), plus ``refused`` messages whose file path leaves the export."""
    messages: list[dict[str, Any]] = []
    for number in range(1, count + refused + 1):
        moment = 1_700_000_000 + number * 60
        photo = f"photos/photo_{number}@14-11-2023.jpg" if number <= count else f"../../etc/secret_{number}"
        messages.append(
            {
                "id": number,
                "type": "message",
                "date": "2023-11-14T22:13:20",
                "date_unixtime": str(moment),
                "from": "Channel without files",
                "from_id": "channel4242",
                "photo": photo,
                "width": 800,
                "height": 600,
                "text": f"post {number}",
                "text_entities": [{"type": "plain", "text": f"post {number}"}],
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    document = {"name": "Channel without files", "type": "public_channel", "id": 4242, "messages": messages}
    (folder / "result.json").write_text(json.dumps(document), encoding="utf-8")
    return folder
