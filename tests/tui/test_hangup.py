"""The chat ends when its terminal goes away, instead of spinning a core for ever."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    """What the chat wrote to its terminal, read until `wanted` shows (or the time is up)."""
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


@pytest.mark.integration
def test_the_chat_exits_when_its_terminal_goes_away_without_a_hangup_signal(real_seed_index):
    # A session of its own: no controlling terminal, so closing the terminal sends no SIGHUP,
    # as when a tmux pane or an ssh connection dies under a process that outlived its shell.
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    chat = subprocess.Popen([sys.executable, "-m", "qa.cli", "chat", "--index",
                             str(real_seed_index)], stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, env=env)
    os.close(slave)
    try:
        shown = _read_until(master, b"Ask", 90)
        assert b"Ask" in shown, shown[-2000:]
        os.close(master)
        started = time.monotonic()
        chat.wait(timeout=30)
        assert time.monotonic() - started < 30
    finally:
        if chat.poll() is None:
            chat.kill()
            chat.wait()
