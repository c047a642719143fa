"""Does stock ``llama-server`` with an exported file answer what ``surgsteer ask --lang L`` does?

    python -m benchmarks.llama_server_check [--model gemma3-270m] [--server PATH]

For each language (the three Korean and three Spanish questions of
``benchmarks/stock_questions.py``, those of the stock-loader test): ``surgsteer vectors export
--lang L``, then ``llama-server`` with ``--control-vector`` (the command in
``docs/llama-cpp.md``: one slot, one thread, surgsteer's context and batch sizes, and
``--swa-full``, without which Gemma 3's greedy tokens from the server drift from
``llama-completion``'s, unsteered too), asked through ``/completion`` with greedy decoding and
``ask``'s stops, beside ``surgsteer ask --json``; and the same unsteered (a server without the
file, ``ask --no-steer``). ``llama-server`` is built into the cache by
``benchmarks/stock_llama_cpp.py`` unless ``--server`` names a binary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.local_server import free_port, wait_until_up
from benchmarks.stock_llama_cpp import SERVER, build
from benchmarks.stock_questions import MAX_TOKENS, QUESTIONS, same_answer
from surgsteer_cli.models import resolve_model
from surgsteer_cli.prompting import STOP_BASE, qa_prompt
from surgsteer_cli.untrusted import printable

STARTUP_S = 120


def surgsteer(*arguments: str) -> dict:
    """The ``--json`` record of one ``surgsteer`` command."""
    done = subprocess.run(
        [sys.executable, "-m", "surgsteer_cli", *arguments],
        capture_output=True,
        encoding="utf-8",
        check=True,
    )
    return json.loads(done.stdout)


@contextmanager
def llama_server(binary: Path, model: Path, *control: str) -> Iterator[str]:
    """A running ``llama-server`` (its base URL), stopped on exit."""
    port = free_port()
    command = [str(binary), "-m", str(model), *control, "--port", str(port), "-fa", "off"]
    command += ["-c", "2048", "-b", "512", "-ub", "512", "-np", "1", "-t", "1", "--seed", "0"]
    command += ["--swa-full"]  # else Gemma 3's tokens differ from llama-completion's
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield wait_until_up(process, port, "/health", STARTUP_S)
    finally:
        process.terminate()
        process.wait(timeout=30)


def complete(url: str, question: str) -> str:
    """The server's greedy answer to ``question`` in surgsteer's Q/A prompt, cut at the stops."""
    body = {
        "prompt": str(qa_prompt(question)),
        "n_predict": MAX_TOKENS,
        "temperature": 0,
        "stop": list(STOP_BASE),
    }
    request = urllib.request.Request(
        f"{url}/completion",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())["content"].strip()


def check(binary: Path, model: Path, name: str, lang: str, exported: Path) -> list[list[str]]:
    """Table rows for ``lang``'s questions: (lang, question, steering, server, ask, same)."""
    common = ["--model", name, "--threads", "1", "--json", "--max-tokens", str(MAX_TOKENS)]
    rows = []
    for steering, control, flags in (
        ("surgical", ["--control-vector", str(exported)], ["--lang", lang]),
        ("none", [], ["--no-steer"]),
    ):
        with llama_server(binary, model, *control) as url:
            for question in QUESTIONS[lang]:
                served = complete(url, question)
                record = surgsteer("ask", *common, *flags, question)
                ok = "yes" if same_answer(served, record) else "no"
                rows.append([lang, question, steering, served, record["answer"], ok])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="gemma3-270m", help="model name or GGUF [gemma3-270m]")
    parser.add_argument("--server", type=Path, help="a llama-server binary [build it]")
    args = parser.parse_args()
    binary = args.server or build(tools=SERVER) / "llama-server"
    model = resolve_model(args.model)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in QUESTIONS:
            exported = Path(tmp) / f"{lang}.surgical.gguf"
            subprocess.run(
                [sys.executable, "-m", "surgsteer_cli", "vectors", "export", "--model",
                 args.model, "--lang", lang, "--out", str(exported)],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            rows += check(binary, model, args.model, lang, exported)
    print("| lang | question | steering | llama-server | surgsteer ask | same |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        cells = (printable(cell).replace("|", "\\|") for cell in row)  # model text: one line
        print("| " + " | ".join(cells) + " |")
    served = {(row[1], row[2]): row[3] for row in rows}
    questions = [q for q, steering in served if steering == "none"]
    changed = sum(served[q, "surgical"] != served[q, "none"] for q in questions)
    agree = sum(row[5] == "yes" for row in rows)
    print(f"{agree}/{len(rows)} answers the same; steering changed {changed} server answers")
    sys.exit(0 if agree == len(rows) else 1)


if __name__ == "__main__":
    main()
