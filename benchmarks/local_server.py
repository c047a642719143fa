"""Starting an HTTP server process on 127.0.0.1 for a benchmark and waiting until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(
    process: subprocess.Popen[bytes], port: int, path: str, timeout_s: float = 300
) -> str:
    """The server's base URL once ``path`` answers; exits if the process ends or time runs out."""
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=5):
                return url
        except OSError:
            time.sleep(0.5)
    sys.exit(f"{process.args} did not start")
