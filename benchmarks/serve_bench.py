"""Server benchmark: what per-request steering costs an OpenAI-compatible server.

Three servers on the same model, threads and context, each in its own process on 127.0.0.1:
``surgsteer serve`` (each request steered by its language), ``surgsteer serve --no-steer``,
and llama-cpp-python's own ``python -m llama_cpp.server`` (``--interrupt_requests False``, so
that a new request does not cut the running stream short). Every request streams a greedy
completion of a base-model ``Q: ... A:`` prompt in one of eight languages, in turns, so that on
the steered server consecutive requests switch profile; the same prompts go to every server.

For 1 and 8 concurrent clients it reports requests per second and the median time to the first
text chunk; rounds run the servers in turns, so the load of a shared machine drifting during
the run hits all of them alike, and the medians over rounds are shown. Goal: the steered
server's requests/s >= 0.95x llama_cpp.server's. The baseline needs llama-cpp-python's own
server extra (``pip install starlette-context``). Run from the repository root:

    python -m benchmarks.serve_bench [--requests 16] [--tokens 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import openai

from benchmarks.local_server import free_port, wait_until_up
from surgsteer_cli.cpus import available_cpus
from surgsteer_cli.models import resolve_model

REPO = Path(__file__).resolve().parents[1]

QUESTIONS = (
    "대한민국의 긴급 전화번호는 무엇인가요?",
    "中国人过年的时候吃什么？",
    "¿Qué se come en España en Nochevieja?",
    "What do people eat on New Year's Eve?",
    "Τι τρώνε οι Έλληνες το Πάσχα;",
    "Apa makanan khas saat Lebaran di Indonesia?",
    "ایرانیان در نوروز چه می‌خورند؟",
    "ماذا يأكل الناس في عيد الفطر؟",
)


@dataclass(frozen=True)
class Server:
    """A server command line and the model id its clients send."""

    name: str
    command: list[str]
    model_id: str


@dataclass(frozen=True)
class Run:
    """One workload on one server: requests/s, median time to first chunk, chunks/request."""

    requests_per_s: float
    first_chunk_s: float
    chunks: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model name or GGUF file [default: the default model]")
    parser.add_argument("--requests", type=int, default=16, help="requests per workload")
    parser.add_argument("--tokens", type=int, default=32, help="max_tokens of each request")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,8", help="concurrent clients, comma-separated")
    parser.add_argument(
        "--threads", type=int, default=available_cpus(), help="CPU threads of every server"
    )
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # still stop the servers

    model = resolve_model(args.model)
    threads = str(args.threads)
    surgsteer = [sys.executable, "-m", "surgsteer_cli", "serve", "--model", str(model)]
    servers = [
        Server("surgsteer serve", [*surgsteer, "--threads", threads], model.stem),
        Server(
            "surgsteer serve --no-steer",
            [*surgsteer, "--threads", threads, "--no-steer"],
            model.stem,
        ),
        Server(
            "llama_cpp.server",
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--n_ctx", "2048"]
            + ["--n_threads", threads, "--n_threads_batch", threads]
            + ["--interrupt_requests", "False"],
            str(model),
        ),
    ]
    clients = [int(n) for n in args.clients.split(",")]
    results: dict[str, dict[int, list[Run]]] = {s.name: {n: [] for n in clients} for s in servers}
    with tempfile.TemporaryDirectory() as home:
        processes = [_start(server, Path(home)) for server in servers]
        try:
            # llama_cpp.server has no /health: /v1/models
            urls = [wait_until_up(process, port, "/v1/models") for process, port in processes]
            for round_ in range(args.rounds):
                for n in clients:
                    for server, url in zip(servers, urls, strict=True):
                        run = _workload(url, server.model_id, n, args.requests, args.tokens)
                        results[server.name][n].append(run)
                        print(
                            f"round {round_ + 1} {server.name:28} {n} clients: {run}",
                            file=sys.stderr,
                        )
        finally:
            for process, _ in processes:
                process.kill()
                process.wait()
    _report(results, clients, args)


def _start(server: Server, home: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SURGSTEER_HOME": str(home)}
    process = subprocess.Popen(
        [*server.command, "--port", str(port), "--host", "127.0.0.1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, port


def _workload(url: str, model_id: str, clients: int, requests: int, tokens: int) -> Run:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=600)

    def one(index: int) -> tuple[float, int]:
        started = time.perf_counter()
        first = None
        chunks = 0
        stream = client.completions.create(
            model=model_id,
            prompt=f"Q: {QUESTIONS[index % len(QUESTIONS)]}\nA:",
            max_tokens=tokens,
            temperature=0,
            stream=True,
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].text:
                first = first or time.perf_counter() - started
                chunks += 1
        return first or time.perf_counter() - started, chunks

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    return Run(
        requests_per_s=round(requests / wall, 3),
        first_chunk_s=round(statistics.median(first for first, _ in done), 3),
        chunks=round(statistics.mean(chunks for _, chunks in done), 1),
    )


def _report(
    results: dict[str, dict[int, list[Run]]], clients: list[int], args: argparse.Namespace
) -> None:
    baseline = "llama_cpp.server"
    summary = {
        name: {
            n: {
                "requests_per_s": statistics.median(r.requests_per_s for r in runs),
                "first_chunk_s": statistics.median(r.first_chunk_s for r in runs),
                "chunks_per_request": statistics.median(r.chunks for r in runs),
            }
            for n, runs in per_clients.items()
        }
        for name, per_clients in results.items()
    }
    print(
        f"{args.requests} requests x {args.tokens} tokens, {args.rounds} rounds, "
        f"{args.threads} threads; medians over rounds\n"
    )
    print(
        "| server | clients | requests/s | vs llama_cpp.server | first chunk (s) | chunks/request |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, per_clients in summary.items():
        for n in clients:
            row = per_clients[n]
            ratio = row["requests_per_s"] / summary[baseline][n]["requests_per_s"]
            print(
                f"| {name} | {n} | {row['requests_per_s']:.2f} | {ratio:.3f} | "
                f"{row['first_chunk_s']:.3f} | {row['chunks_per_request']:.1f} |"
            )
    if args.out:
        settings = {"requests": args.requests, "tokens": args.tokens, "rounds": args.rounds}
        record = {"settings": settings, "threads": args.threads, "summary": summary}
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
