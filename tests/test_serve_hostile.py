"""The server against buggy and hostile clients, in process (``create_app`` on the shared
small model): bodies past the size limit, numbers past the CLI's bounds, empty prompts, lone
surrogates, vector files whose names are not UTF-8, failures in the middle of a stream, a
request that holds a worker thread, and the ``model`` name clients hard-code."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from surgsteer_cli import vector_file
from surgsteer_cli.profiles import discover
from surgsteer_cli.session import Session

pytest.importorskip("sse_starlette")
uvicorn = pytest.importorskip("uvicorn")

from surgsteer_cli.server.app import create_app  # noqa: E402 (needs the serve extra)
from surgsteer_cli.server.config import ServerConfig  # noqa: E402

KOREAN = "대한민국의 긴급 전화번호는 무엇인가요?"
MODEL_ID = "served-model"
LIMIT = 4096


class Reply:
    """A response: status and body (the whole stream, for server-sent events)."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.text = body.decode("utf-8")  # strict: the server must send valid UTF-8

    def json(self) -> Any:
        return json.loads(self.text)

    def error(self, status: int) -> dict[str, Any]:
        """The OpenAI-style error, which must come with ``status``."""
        assert self.status == status, self.text
        return self.json()["error"]

    def events(self) -> list[str]:
        """The ``data`` of each server-sent event."""
        lines = self.text.splitlines()
        return [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]


class Client:
    """Plain HTTP/1.1 requests to the server at ``port``, one connection each."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, body: bytes | Iterable[bytes] | None = None) -> Reply:
        """``body`` as bytes is sent with its Content-Length, as chunks without one."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        chunked = body is not None and not isinstance(body, bytes)
        headers = {"Content-Type": "application/json"}
        with contextlib.closing(connection):
            connection.request(method, path, body=body, headers=headers, encode_chunked=chunked)
            response = connection.getresponse()
            return Reply(response.status, response.read())

    def post(self, path: str, body: dict[str, Any] | bytes | Iterable[bytes]) -> Reply:
        """POST ``body`` (a dict is sent as ASCII JSON: a surrogate as its escape)."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        return self.request("POST", path, data)


def chat_body(content: str = "Hi", **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], "max_tokens": 2, **extra}


@contextlib.contextmanager
def serving(session: Session, **settings: Any) -> Iterator[Client]:
    """``create_app``'s app under uvicorn in a thread, on a free loopback port."""
    app = create_app(session, ServerConfig(model_id=MODEL_ID, max_body=LIMIT, **settings))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.01)
        yield Client(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture
def session(engine) -> Session:
    return Session(engine, {})


@pytest.fixture
def client(session: Session) -> Iterator[Client]:
    with serving(session) as running:
        yield running


def test_a_body_over_the_limit_is_413_whether_declared_or_not(client: Client) -> None:
    big = json.dumps(chat_body("word " * LIMIT)).encode()
    declared = client.post("/v1/chat/completions", big)
    assert declared.error(413)["code"] == "request_too_large"
    chunked = client.post("/v1/chat/completions", iter([big[:1000], big[1000:]]))
    assert "larger than 4096 bytes" in chunked.error(413)["message"]
    assert client.post("/v1/chat/completions", chat_body()).status == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("surgsteer.en_scale", 3e38),
        ("surgsteer.loc_scale", -10.5),
        ("temperature", "1e999"),  # inf, as JSON parsers read it
        ("seed", -1),
        ("seed", 2**64),
    ],
)
def test_numbers_past_the_clis_bounds_are_400(client: Client, field: str, value: Any) -> None:
    body = chat_body()
    if field.startswith("surgsteer."):
        body["surgsteer"] = {field.split(".")[1]: value}
    else:
        body[field] = value
    text = json.dumps(body).replace('"1e999"', "1e999")
    assert client.post("/v1/chat/completions", text.encode()).error(400)["param"] == field


def test_an_empty_prompt_is_400_streamed_or_not(client: Client) -> None:
    for stream in (False, True):
        body = {"prompt": "", "max_tokens": 2, "stream": stream}
        assert client.post("/v1/completions", body).error(400)["param"] == "prompt"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions", chat_body("hi \ud800"), "messages.0.content"),
        ("/v1/completions", {"prompt": "hi \udc80", "max_tokens": 2}, "prompt"),
        ("/v1/completions", {"prompt": "hi", "stop": ["\ud800"], "max_tokens": 2}, "stop"),
        ("/v1/chat/completions", chat_body(surgsteer={"lang": "\ud800"}), "surgsteer.lang"),
    ],
)
def test_lone_surrogates_are_400(
    client: Client, path: str, body: dict[str, Any], param: str
) -> None:
    found = client.post(path, body).error(400)
    assert "surrogate" in found["message"]
    assert found["param"] == param


def test_a_vector_file_name_that_is_not_utf8_is_sent_escaped(
    engine, make_vector: Callable[..., Any], tmp_path: Path
) -> None:
    folder = tmp_path / "vectors"
    folder.mkdir()
    path = str(folder / os.fsdecode(b"ko-\xff.loc.gguf"))
    vector_file.write(make_vector("loc", "ko", [12]), Path(path))
    with serving(Session(engine, discover(engine.spec, (folder,)))) as client:
        whole = client.post("/v1/chat/completions", chat_body(KOREAN))
        streamed = client.post("/v1/chat/completions", chat_body(KOREAN, stream=True))
    assert whole.status == 200, whole.text
    assert path in whole.json()["surgsteer"]["vector_files"]  # \udcff travels as an escape
    data = streamed.events()
    assert path in json.loads(data[0])["surgsteer"]["vector_files"]
    assert json.loads(data[-2])["choices"][0]["finish_reason"] == "length"
    assert data[-1] == "[DONE]"


def test_a_failure_mid_stream_ends_it_with_an_error_event(
    client: Client, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = session.answer

    def failing(*args: Any, **kwargs: Any) -> Iterator[str]:
        yield next(iter(answer(*args, **kwargs)))
        raise RuntimeError("the model broke")

    monkeypatch.setattr(session, "answer", failing)
    response = client.post("/v1/chat/completions", chat_body(stream=True))
    assert response.status == 200  # sent before the failure
    data = response.events()
    assert json.loads(data[-2])["error"]["type"] == "server_error"
    assert "the model broke" not in response.text  # the log has it, not the client
    assert data[-1] == "[DONE]"


def test_language_detection_does_not_hold_up_other_requests(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request whose detection takes long (a big body) must not stall ``/health``."""
    release = threading.Event()
    steering = session.steering

    def slow(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=10)
        return steering(*args, **kwargs)

    monkeypatch.setattr(session, "steering", slow)
    with serving(session) as client:
        chat = threading.Thread(target=client.post, args=("/v1/chat/completions", chat_body()))
        chat.start()
        time.sleep(0.3)  # the chat request is detecting its language now
        started = time.monotonic()
        timer = threading.Timer(5, release.set)  # frees a blocked event loop: fail, not hang
        timer.start()
        health = client.request("GET", "/health")
        waited = time.monotonic() - started
        release.set()
        timer.cancel()
        chat.join()
    assert health.json()["status"] == "ok"
    assert waited < 2


def test_any_model_name_gets_the_served_model_unless_strict(session: Session) -> None:
    with serving(session) as client:
        answered = client.post("/v1/chat/completions", chat_body(model="default"))
    assert answered.status == 200, answered.text
    assert answered.json()["model"] == MODEL_ID
    with serving(session, strict_model=True) as client:
        refused = client.post("/v1/chat/completions", chat_body(model="default"))
        assert refused.error(404)["code"] == "model_not_found"
        assert client.post("/v1/chat/completions", chat_body(model=MODEL_ID)).status == 200
