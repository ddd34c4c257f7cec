"""The fake Telegram for the benchmarks, in its own process, behind the loopback MTProto server.

The server runs in a separate process (not a thread of the measuring process) so that on a 2-core machine
the client under test and the fake each get a core and never share a GIL or an event loop: the fake's
cost (building TL objects, serializing, gzip) is then only on the wire's critical path, exactly as the
network's latency would be, and is paid equally by the floor and by tgvault.

The parent drives it through a pipe: build a channel, add posts, count requests, report memory, stop.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import resource
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

MIB = 1024 * 1024


def _peak_rss_mb() -> float:
    from bench.client import peak_rss_mb  # light: the client module imports nothing heavy at the top

    return peak_rss_mb()


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / MIB


def _serve(conn: Connection) -> None:
    from telethon.tl import functions

    from tgvault.testing import FakeTelegram, add_post, build_realistic_channel, document_media
    from tgvault.testing.mtproto_server import LoopbackTelegramServer

    world = FakeTelegram()
    running = LoopbackTelegramServer.start_in_thread(world.handle, auth_key=world.auth_key)
    world.port = running.port

    def build(username: str, n: int, seed: int, with_media: bool) -> dict[str, Any]:
        gc.unfreeze()
        channel = build_realistic_channel(world, n, seed=seed, with_media=with_media, username=username)
        gc.collect()
        gc.freeze()  # millions of TL objects: keep the collector from walking them on every full pass
        return {"channel_id": channel.id, "posts": len(channel.messages), "top_id": channel.top_id}

    def build_media(username: str, files: int, size: int) -> dict[str, Any]:
        channel = world.add_channel(username, "Media bench")
        for index in range(files):
            media = document_media(channel, "file", size=size, seed=index, file_name=f"file{index}.bin")
            add_post(channel, f"file {index}", media=media)
        return {"channel_id": channel.id, "posts": len(channel.messages)}

    def add_posts(username: str, n: int, seed: int) -> dict[str, Any]:
        channel = world.channel(username)
        # No channel rename among the new posts: a new title is on every page (a whole-site change,
        # like a new template), which is not what "a rebuild after new posts" measures.
        build_realistic_channel(channel, n, seed=seed, with_media=False, renames=False)
        return {"posts": len(channel.messages), "top_id": channel.top_id}

    request_types = {
        "history": functions.messages.GetHistoryRequest,
        "channel_messages": functions.channels.GetMessagesRequest,
        "get_file": functions.upload.GetFileRequest,
    }

    def counts() -> dict[str, int]:
        found = {name: world.count(kind) for name, kind in request_types.items()}
        found["all"] = len(world.requests)
        return found

    def reset() -> None:
        world.requests.clear()
        running.server.requests.clear()
        running.server.received.clear()

    def memory() -> dict[str, float]:
        return {"peak_rss_mb": _peak_rss_mb(), "rss_mb": _current_rss_mb()}

    def handler_errors() -> list[str]:
        return [repr(error) for error in running.server.handler_errors]

    commands: dict[str, Callable[..., Any]] = {
        "build": build,
        "build_media": build_media,
        "add_posts": add_posts,
        "counts": counts,
        "reset": reset,
        "memory": memory,
        "handler_errors": handler_errors,
    }
    conn.send({"port": running.port, "session": running.session_string})
    try:
        while True:
            name, args = conn.recv()
            if name == "stop":
                break
            try:
                # On the server's own loop, so no request is being answered while the world changes.
                result = running.call(functools.partial(commands[name], *args), timeout=3600)
                conn.send(("ok", result))
            except Exception:
                conn.send(("error", traceback.format_exc()))
    finally:
        running.stop()
        conn.close()


class BenchServer:
    """A handle on the fake Telegram process: ``with BenchServer() as server: server.build(...)``."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), name="bench-fake-telegram", daemon=True)
        self._process.start()
        child.close()
        hello = self._conn.recv()
        self.port: int = hello["port"]
        self.session: str = hello["session"]

    def _call(self, name: str, *args: Any) -> Any:
        self._conn.send((name, args))
        status, result = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"bench server failed on {name}:\n{result}")
        return result

    def build(self, username: str, n: int, *, seed: int = 1, with_media: bool = False) -> dict[str, Any]:
        """A channel of ``n`` realistic posts (``build_realistic_channel``)."""
        return self._call("build", username, n, seed, with_media)  # type: ignore[no-any-return]

    def build_media(self, username: str, files: int, size: int) -> dict[str, Any]:
        """A channel of ``files`` posts, each with one document of ``size`` bytes."""
        return self._call("build_media", username, files, size)  # type: ignore[no-any-return]

    def add_posts(self, username: str, n: int, *, seed: int) -> dict[str, Any]:
        """``n`` new realistic posts on top of the channel (without a channel rename among them)."""
        return self._call("add_posts", username, n, seed)  # type: ignore[no-any-return]

    def counts(self) -> dict[str, int]:
        """Requests handled since the last :meth:`reset`, by kind."""
        return self._call("counts")  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Forget the request log."""
        self._call("reset")

    def memory(self) -> dict[str, float]:
        """The server process's peak and current RSS in MiB."""
        return self._call("memory")  # type: ignore[no-any-return]

    def handler_errors(self) -> list[str]:
        """Unexpected exceptions the fake raised while answering (should stay empty)."""
        return self._call("handler_errors")  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the server process."""
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                self._conn.send(("stop", ()))
            self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
