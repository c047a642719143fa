"""Lab (experiments §6): Localization with the country named, removed, in L or in English."""

from __future__ import annotations

import dataclasses

from probe import blend_items, localization

items = blend_items("ko")
for label, field in (
    ("Korean, country removed", "neutral"),
    ("Korean, naming Korea", "question"),
    ("English, naming Korea", "question_en"),
    ("English, country removed", "neutral_en"),
):
    asked = [dataclasses.replace(item, neutral=getattr(item, field)) for item in items]
    print(f"{label}: {localization(asked, None, prompt_only=False):.3f} on {len(items)}")
