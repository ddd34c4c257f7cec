"""The stand-in for Telegram that ``tgvault demo`` talks to: ``python -m tgvault.testing.demo_server``.

It builds the sample channel (:mod:`tgvault.testing.content.sample_channel`) in a fake Telegram, serves it
on a free loopback port through the MTProto server, and speaks a line protocol with its parent:

- it writes one JSON line on stdout: ``{"session": ..., "api_id": ..., "api_hash": ..., "channels": [...],
  "port": ...}`` — the ``StringSession`` carries the address and the pre-shared key;
- each line ``changes`` on stdin applies the channel's later changes (an edit, a deletion) and is
  answered with ``{"done": "changes"}``;
- when stdin closes (the parent is done, or died) the server stops and the process exits.

Production code never imports :mod:`tgvault.testing`; it starts this module as a child process instead.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import TextIO

from tgvault.testing.content.sample_channel import SAMPLE_CHANNELS, apply_sample_changes, build_sample_channel
from tgvault.testing.fake_telegram import FAKE_API_HASH, FAKE_API_ID, FakeTelegram
from tgvault.testing.mtproto_server import LoopbackTelegramServer

__all__ = ["serve_sample"]


def _say(out: TextIO, message: dict[str, object]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def serve_sample(commands: TextIO, out: TextIO) -> None:
    """Serve the sample channel until ``commands`` ends; see the module docstring for the protocol."""
    world = FakeTelegram()
    channel = build_sample_channel(world)
    with LoopbackTelegramServer.start_in_thread(world.handle, auth_key=world.auth_key) as running:
        world.port = running.port  # help.getConfig names this server as every data centre
        _say(
            out,
            {
                "session": running.session_string,
                "api_id": FAKE_API_ID,
                "api_hash": FAKE_API_HASH,
                "channels": list(SAMPLE_CHANNELS),
                "port": running.port,
            },
        )
        for line in commands:
            command = line.strip()
            if command == "changes":
                running.call(lambda: apply_sample_changes(world, channel))
                _say(out, {"done": "changes"})
            elif command:
                _say(out, {"error": f"unknown command {command!r}; expected 'changes'"})
        errors = running.server.handler_errors
        for error in errors:
            print(f"the fake Telegram failed to answer: {error!r}", file=sys.stderr)


def main() -> None:
    """Entry point of ``python -m tgvault.testing.demo_server``."""
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when this process ends
    # (it closes stdin), so a keyboard interrupt never leaves a traceback here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve_sample(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
