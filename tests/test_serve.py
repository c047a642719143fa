"""``surgsteer serve``: the real ``openai`` client against a real server process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from benchmarks.interrupt_runs import default_sigint

openai = pytest.importorskip("openai")

REPO_ROOT = Path(__file__).resolve().parents[1]
API_KEY = "test-key"
KOREAN = "대한민국의 긴급 전화번호는 무엇인가요?"
ENGLISH = "What is the emergency phone number in South Korea?"
SPANISH = "¿Cuál es el número de teléfono de emergencia en España?"
CHINESE = "中国的紧急电话号码是多少？"
STRONG = {"en_scale": 0.05, "loc_scale": 0.3}  # far above the defaults: tokens must change


def _http(
    url: str, body: bytes | None = None, *, key: str | None = API_KEY
) -> tuple[int, dict[str, Any]]:
    """GET (or POST ``body`` as JSON) with the standard library: status and JSON body."""
    request = urllib.request.Request(url, data=body)
    request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``surgsteer serve`` process on a free loopback port (killed at the end); its URL."""
    port = _free_port()
    home = tmp_path_factory.mktemp("serve-home")
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "surgsteer_cli", "serve", "--model", str(model_path)]
        # One thread: two threads that wait on each other crawl on a busy shared machine.
        + ["--port", str(port), "--api-key", API_KEY, "--threads", "1"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "SURGSTEER_HOME": str(home),
            "HF_HUB_OFFLINE": "1",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, (home / "server.log").read_text()
            try:
                if _http(f"{url}/health")[0] == 200:
                    break
            except OSError:  # not listening yet
                pass
            assert time.monotonic() < deadline, "the server did not start in 300 s"
            time.sleep(0.3)
        yield url
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def client(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=API_KEY, max_retries=0, timeout=300)


@pytest.fixture(scope="module")
def model_id(client: openai.OpenAI) -> str:
    (model,) = client.models.list().data
    return model.id


def _chat(client: openai.OpenAI, model_id: str, question: str, **surgsteer: Any) -> Any:
    """A greedy, short, non-streaming chat request; the raw response (headers and body)."""
    return client.chat.completions.with_raw_response.create(
        model=model_id,
        messages=[{"role": "user", "content": question}],
        max_tokens=8,
        temperature=0,
        extra_body={"surgsteer": surgsteer} if surgsteer else None,
    )


def _stream(
    client: openai.OpenAI, model_id: str, question: str, surgsteer: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """A greedy streaming chat request: (the ``surgsteer`` field of its first chunk, its text)."""
    stream = client.chat.completions.create(
        model=model_id,
        messages=[{"role": "user", "content": question}],
        max_tokens=8,
        temperature=0,
        stream=True,
        extra_body={"surgsteer": surgsteer},
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    return chunks[0].model_extra["surgsteer"], text


def test_models_lists_the_served_model_and_its_profiles(client: openai.OpenAI) -> None:
    (model,) = client.models.list().data
    assert "ko" in model.model_extra["surgsteer"]["profiles"]


def test_korean_and_english_requests_get_their_own_profiles(
    client: openai.OpenAI, model_id: str
) -> None:
    korean = _chat(client, model_id, KOREAN)
    english = _chat(client, model_id, ENGLISH)
    assert korean.headers["x-surgsteer-profile"] == "ko"
    assert korean.headers["x-surgsteer-language"] == "ko"
    body = korean.parse()
    assert body.model_extra["surgsteer"]["profile"] == "ko"
    assert body.model_extra["surgsteer"]["language_source"] == "detected"
    assert set(body.model_extra["surgsteer"]["scales"]) == {"en"}  # and the country line:
    assert body.model_extra["surgsteer"]["system"] == "The user is in South Korea."
    assert body.choices[0].message.content
    assert english.headers["x-surgsteer-profile"] == "none"
    assert english.headers["x-surgsteer-language"] == "en"
    assert english.parse().model_extra["surgsteer"]["profile"] is None


def test_the_surgsteer_field_chooses_the_profile(client: openai.OpenAI, model_id: str) -> None:
    asked = _chat(client, model_id, ENGLISH, lang="ko", localize="vector", loc_scale=0.02).parse()
    info = asked.model_extra["surgsteer"]
    assert (info["profile"], info["language_source"], info["scales"]["loc"]) == (
        "ko",
        "request",
        0.02,
    )
    off = _chat(client, model_id, KOREAN, steer=False).parse().model_extra["surgsteer"]
    assert (off["language"], off["profile"]) == ("ko", None)


def test_text_completions_are_steered_by_the_prompt_language(
    client: openai.OpenAI, model_id: str
) -> None:
    raw = client.completions.with_raw_response.create(
        model=model_id, prompt=KOREAN, max_tokens=4, temperature=0
    )
    assert raw.headers["x-surgsteer-profile"] == "ko"
    completion = raw.parse()
    assert completion.model_extra["surgsteer"]["profile"] == "ko"
    assert completion.choices[0].finish_reason in ("stop", "length")


def test_concurrent_mixed_streams_match_the_same_requests_alone(
    client: openai.OpenAI, model_id: str
) -> None:
    requests = [
        (KOREAN, STRONG),
        (KOREAN, {"steer": False}),
        (SPANISH, STRONG),
        (SPANISH, {"steer": False}),
        (CHINESE, STRONG),
        (ENGLISH, {}),
        (ENGLISH, {"lang": "ko", **STRONG}),
        (ENGLISH, {"lang": "es", **STRONG}),
    ]
    alone = [_stream(client, model_id, question, options) for question, options in requests]
    # The profiles change the tokens, so one leaking into another request would show.
    assert alone[0][1] != alone[1][1] and alone[2][1] != alone[3][1]
    assert alone[5][1] != alone[6][1] != alone[7][1]
    with ThreadPoolExecutor(len(requests)) as pool:
        together = list(pool.map(lambda r: _stream(client, model_id, *r), requests))
    expected_profiles = ["ko", None, "es", None, "zh", None, "ko", "es"]
    assert [info["profile"] for info, _ in together] == expected_profiles
    assert [text for _, text in together] == [text for _, text in alone]


def _busy(server: str) -> bool:
    return _http(f"{server}/health")[1]["busy"]


def test_a_client_leaving_mid_stream_frees_the_model(
    server: str, client: openai.OpenAI, model_id: str
) -> None:
    stream = client.completions.create(
        model=model_id,
        prompt="1, 2, 3, 4, 5, 6, 7, 8,",
        max_tokens=2000,  # capped by the context: far longer than this test waits
        temperature=0,
        stream=True,
    )
    for _ in range(3):
        next(stream)
    assert _busy(server)
    stream.close()
    deadline = time.monotonic() + 10
    while _busy(server):
        assert time.monotonic() < deadline, "the generation went on after the client left"
        time.sleep(0.1)
    assert _chat(client, model_id, ENGLISH).parse().choices[0].message.content


def _error(
    reply: tuple[int, dict[str, Any]], status: int, code: str | None = None
) -> dict[str, Any]:
    """The OpenAI-style error of a reply that must have ``status`` (and ``code``)."""
    assert reply[0] == status, reply
    error = reply[1]["error"]
    assert error["message"] and error["type"]
    if code is not None:
        assert error["code"] == code
    return error


def test_bad_requests_get_openai_style_4xx(
    server: str, client: openai.OpenAI, model_id: str
) -> None:
    chat = f"{server}/v1/chat/completions"
    message = [{"role": "user", "content": ENGLISH}]

    def post(body: dict[str, Any], key: str | None = API_KEY) -> tuple[int, dict[str, Any]]:
        return _http(chat, json.dumps(body).encode(), key=key)

    _error(_http(chat, b'{"model": '), 400, "invalid_json")
    _error(_http(chat, b"[1]"), 400, "invalid_value")
    any_name = post({"model": "gpt-9", "messages": message, "max_tokens": 1})
    assert any_name[0] == 200 and any_name[1]["model"] == model_id  # as llama-server does
    wrong_lang = post({"messages": message, "surgsteer": {"lang": "x1"}})
    assert _error(wrong_lang, 400, "unknown_language")["param"] == "surgsteer.lang"
    oversized = [{"role": "user", "content": "word " * 5000}]
    _error(post({"messages": oversized}), 400, "context_length_exceeded")
    assert _error(post({"messages": message, "max_tokens": -1}), 400)["param"] == "max_tokens"
    _error(post({"messages": message, "surgsteer": {"scale": 1}}), 400)
    _error(post({"messages": [{"role": "assistant", "content": "hi"}]}), 400)
    _error(post({"messages": message}, key=None), 401, "invalid_api_key")
    _error(_http(f"{server}/v1/nothing"), 404)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=model_id, messages=message, max_tokens=-1)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server}/v1", api_key="wrong", max_retries=0).models.list()
    assert _http(f"{server}/health")[1]["status"] == "ok"


def test_serve_binds_loopback_by_default_and_warns_for_all_interfaces(
    cached_engine: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's own choices, with uvicorn replaced so that nothing listens."""
    import uvicorn
    from click.testing import CliRunner

    from surgsteer_cli.cli import main
    from surgsteer_cli.commands import serve as serve_command

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    monkeypatch.setattr(serve_command, "check_free", lambda host, port: None)
    runner = CliRunner()
    quiet = runner.invoke(main, ["serve"])
    loud = runner.invoke(main, ["serve", "--host", "0.0.0.0", "--port", "9999"])
    # uvicorn.run returns only once stopped (Ctrl-C, SIGTERM): the command exits 130
    assert quiet.exit_code == 130 and loud.exit_code == 130, quiet.output + loud.output
    assert [(c["host"], c["port"]) for c in calls] == [("127.0.0.1", 8000), ("0.0.0.0", 9999)]
    assert "warning" not in quiet.output
    assert "warning" in loud.output and "--api-key" in loud.output


def test_a_port_in_use_is_one_error_before_the_model_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from surgsteer_cli.cli import main
    from surgsteer_cli.session import Session

    def load(*args: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(Session, "open", load)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (
        result.stderr.strip() == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def test_ctrl_c_stops_the_server_with_status_130(model_path: Path, tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "surgsteer_cli", "serve", "--model", str(model_path)]
        + ["--port", str(port), "--threads", "1"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "SURGSTEER_HOME": str(tmp_path)},
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if _http(f"http://127.0.0.1:{port}/health", key=None)[0] == 200:
                    break
            except OSError:  # not listening yet
                pass
            assert time.monotonic() < deadline, "the server did not start in 300 s"
            time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.rstrip().endswith("Interrupted.")
