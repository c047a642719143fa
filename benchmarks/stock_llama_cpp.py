"""Build (or find) stock ``llama-completion`` and ``llama-cvector-generator`` (``--server``:
``llama-server``) from the llama.cpp that the installed llama-cpp-python's sdist vendors, and
say where they are and how long it took.

    python benchmarks/stock_llama_cpp.py [--jobs 2] [--version 0.3.36] [--server]
"""

from __future__ import annotations

import argparse
import sys
import time

from surgsteer_cli.stock_llama import PACKAGE, SERVER, TOOLS, build, is_built, missing_tools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel compile jobs [2]")
    parser.add_argument("--version", help=f"{PACKAGE} version [the installed one]")
    parser.add_argument("--server", action="store_true", help="build llama-server instead")
    args = parser.parse_args()
    tools = SERVER if args.server else TOOLS
    missing = missing_tools()
    if missing:
        sys.exit(f"Error: cannot build llama.cpp: {' and '.join(missing)} not found")
    started = time.perf_counter()
    cached = is_built(args.version, tools)
    directory = build(args.version, jobs=args.jobs, tools=tools)
    elapsed = time.perf_counter() - started
    what = "already built" if cached else f"built in {elapsed / 60:.1f} min with {args.jobs} jobs"
    print(f"{directory} ({what})")


if __name__ == "__main__":
    main()
