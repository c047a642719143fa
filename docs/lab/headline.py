"""Lab (experiments §8): answers under country-method LOC vectors, prompt tokens steered."""

from __future__ import annotations

from probe import control, greedy, load_vectors

QUESTIONS = (
    "emergency number?",
    "What is the emergency number?",
    "What do people eat for breakfast?",
)
vectors = load_vectors("ko")
print("none |", " | ".join(greedy(q, None, prompt_only=False) for q in QUESTIONS))
for name in ("c_mean", "c_qa_mean"):
    for start, end in ((12, 16), (14, 16), (13, 17), (10, 14)):
        for scale in (0.05, 0.1, 0.15, 0.2, 0.3):
            buffer = control([(vectors[name], scale, range(start, end + 1))])
            answers = (greedy(q, buffer, prompt_only=True, max_tokens=16) for q in QUESTIONS)
            print(f"{name} {start}-{end} {scale} |", " | ".join(answers))
