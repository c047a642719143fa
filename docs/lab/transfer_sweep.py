"""Lab (experiments §7): the ko EN vector's effect on Transfer and Localization."""

from __future__ import annotations

from probe import blend_items, cloze_items, control, load_vectors, localization, transfer

directions = load_vectors("ko")["en"]
facts, questions = cloze_items("ko"), blend_items("ko")
print(f"none: Transfer {transfer(facts, None, False):.3f}")
for (start, end), scale in (((5, 10), 0.02), ((5, 10), 0.05), ((5, 10), 0.1), ((3, 6), 0.1)):
    buffer = control([(directions, scale, range(start, end + 1))])
    for prompt_only in (False, True):
        mode = "prompt only" if prompt_only else "all tokens"
        print(
            f"blocks {start}-{end} scale {scale} {mode}: "
            f"Transfer {transfer(facts, buffer, prompt_only):.3f}, "
            f"Localization {localization(questions, buffer, prompt_only):.3f}"
        )
