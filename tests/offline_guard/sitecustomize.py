"""Network guard for tests/test_offline.py, loaded at interpreter start-up when this folder is
on PYTHONPATH: every attempt to resolve a host name or to open an internet connection is
appended to the file named by $SURGSTEER_NET_LOG and then refused with OSError."""

import os
import socket
import traceback

_LOG = os.environ.get("SURGSTEER_NET_LOG")
_INTERNET = (socket.AF_INET, socket.AF_INET6)


def _record(what: str) -> None:
    caller = traceback.extract_stack(limit=3)[0]
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(f"{what} from {caller.filename}:{caller.lineno}\n")
    raise OSError(f"network access blocked by the offline test: {what}")


def _guard_resolver(name: str) -> None:
    original = getattr(socket, name)

    def guarded(*args, **kwargs):
        _record(f"{name}{args[:2]!r}")
        return original(*args, **kwargs)

    setattr(socket, name, guarded)


def _guard_connect(name: str) -> None:
    original = getattr(socket.socket, name)

    def guarded(self, address, *args):
        if self.family in _INTERNET:
            _record(f"{name}({address!r})")
        return original(self, address, *args)

    setattr(socket.socket, name, guarded)


if _LOG:
    for resolver in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_connection"):
        _guard_resolver(resolver)
    for connect in ("connect", "connect_ex"):
        _guard_connect(connect)
