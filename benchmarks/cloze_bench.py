"""Transfer scoring benchmark: shared-prefix cloze scoring vs scoring every filled-in sentence
from scratch with logits at every position (the lm-eval ``loglikelihood`` way).

Both methods run on the same engine (one llama.cpp scoring context) and the same BMLAMA
test-split items, taken in turns item by item so that load drifting on a shared machine hits
both alike. Reports items/s for each (goal: shared-prefix >= 3x faster), the logit rows each
computes, and how often both pick the same candidate: exactly, and up to ties (the shared
pick's from-scratch score within ``--tie`` nats of the best; batches of different shapes
round quantized matmuls differently, so near-ties can flip). Run from the repository root:

    python -m benchmarks.cloze_bench [--items 10] [--lang en,ko,zh,ar] [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from surgsteer_cli.datasets.bmlama import MASK
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation.scoring import Scorer, shared_prefix_length
from surgsteer_cli.evaluation.selection import load_eval_data
from surgsteer_cli.models import resolve_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10, help="items per language")
    parser.add_argument("--lang", default="en,ko,zh,ar", help="BMLAMA languages")
    parser.add_argument("--model", default=None, help="GGUF model (default: Gemma 3 270M)")
    parser.add_argument("--tie", type=float, default=0.5, help="tie tolerance in nats")
    args = parser.parse_args()

    languages = args.lang.split(",")
    data = load_eval_data([lang for lang in languages if lang != "en"] or ["ko"], limit=args.items)
    items = [item for lang in languages for item in data.transfer[lang][: args.items]]
    engine = Engine(resolve_model(args.model))
    seconds = {"shared": 0.0, "scratch": 0.0}
    rows = {"shared": 0, "scratch": 0}
    exact = tied = 0
    gaps = []
    with Scorer(engine) as scorer:
        for item in items:
            sequences = [
                scorer.sentence_tokens(item.prompt.replace(MASK, candidate))
                for candidate in item.candidates
            ]
            start = time.perf_counter()
            shared = np.array(scorer.continuation_logprobs(sequences))
            middle = time.perf_counter()
            scratch = np.array(scorer.from_scratch_logprobs(sequences))
            seconds["shared"] += middle - start
            seconds["scratch"] += time.perf_counter() - middle
            prefix = shared_prefix_length(sequences)
            rows["shared"] += 1 + sum(len(tokens) - prefix - 1 for tokens in sequences)
            rows["scratch"] += sum(len(tokens) for tokens in sequences)
            gap = float(scratch.max() - scratch[np.argmax(shared)])
            exact += gap == 0.0
            tied += gap <= args.tie
            if gap > 0:
                gaps.append(gap)

    n = len(items)
    machine = platform.processor() or platform.machine()
    print(f"model: {engine.path.name} ({engine.backend}, {machine}, {os.cpu_count()} cores)")
    print(
        f"items: {n} BMLAMA test items ({args.items} per language: {', '.join(languages)}), "
        f"{sum(len(i.candidates) for i in items) / n:.1f} candidates on average"
    )
    for method, label in (("shared", "shared prefix"), ("scratch", "from scratch")):
        print(
            f"{label:>14}: {n / seconds[method]:7.3f} items/s  "
            f"({seconds[method] / n:.3f} s/item, {rows[method] / n:.1f} logit rows/item)"
        )
    print(f"       speedup: {seconds['scratch'] / seconds['shared']:.2f}x (goal >= 3x)")
    print(
        f"same candidate: {exact / n:.1%} exactly, {tied / n:.1%} up to ties "
        f"(<= {args.tie} nats; goal 100%)"
    )
    if gaps:
        print(f"  disagreements: from-scratch gaps {', '.join(f'{g:.3f}' for g in sorted(gaps))}")


if __name__ == "__main__":
    main()
