"""Peak RSS of each phase of one ``surgsteer extract`` run: which phase sets the peak.

Runs the extraction in this process, with a few of its functions wrapped to mark phases
(loading, the streamed forward passes, the held-out scale check and, inside it, llama.cpp's
model load, the unsteered held-out scores and each vector's check), while a thread samples the
process's RSS every 0.05 s. Prints, per phase, its calls, seconds, RSS when it was first entered
and its peak (sub-phases included). Arguments after ``--`` are ``surgsteer extract``'s, e.g.

    python -m benchmarks.extract_phases -- --model qwen2.5-coder-1.5b --all --max-items 50 \\
        --out /tmp/phases/vectors

Run it alone on an otherwise idle machine; the extraction writes its files as usual.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import psutil

import surgsteer_convert.commands as commands
import surgsteer_convert.scale_check as scale_check
from surgsteer_cli.cli import main as surgsteer
from surgsteer_convert.streaming import StreamedModel

GiB = 1024**3
SAMPLE_S = 0.05


@dataclass
class Phase:
    """What one phase cost."""

    calls: int = 0
    seconds: float = 0.0
    rss_first_entered: int = 0
    peak: int = 0


class PhaseWatch:
    """Marks phases (a stack: a phase's peak includes its sub-phases) and samples the RSS."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.active: list[str] = []
        self.phases: dict[str, Phase] = {}
        self.peak = 0
        threading.Thread(target=self._sample, daemon=True).start()

    def wrap(self, owner: object, name: str, label: str) -> None:
        """Mark every call of ``owner.name`` as phase ``label``."""
        function = getattr(owner, name)

        def marked(*args: object, **kwargs: object) -> object:
            phase = self.phases.setdefault(label, Phase())
            if not phase.calls:
                phase.rss_first_entered = self.process.memory_info().rss
            phase.calls += 1
            self.active.append(label)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phase.seconds += time.perf_counter() - start
                self.active.pop()

        setattr(owner, name, marked)

    def _sample(self) -> None:
        while True:
            rss = self.process.memory_info().rss
            self.peak = max(self.peak, rss)
            for label in list(self.active):
                phase = self.phases[label]
                phase.peak = max(phase.peak, rss)
            time.sleep(SAMPLE_S)

    def report(self) -> str:
        """One line per phase, in the order first entered, then the whole run's peak."""
        lines = [f"{'phase':<28} {'calls':>5} {'seconds':>8} {'RSS in':>9} {'peak':>9}"]
        for label, phase in self.phases.items():
            lines.append(
                f"{label:<28} {phase.calls:>5} {phase.seconds:>8.1f} "
                f"{phase.rss_first_entered / GiB:>5.2f} GiB {phase.peak / GiB:>5.2f} GiB"
            )
        lines.append(f"{'whole run':<28} {'':>5} {'':>8} {'':>9} {self.peak / GiB:>5.2f} GiB")
        return "\n".join(lines)


def watched() -> PhaseWatch:
    """The extraction's phases, marked."""
    watch = PhaseWatch()
    marks: list[tuple[object, str, str]] = [
        (commands, "_load", "load the model"),
        (StreamedModel, "run", "forward passes (streamed)"),
        (commands, "_checked", "held-out check"),
        (scale_check, "runtime", "  llama.cpp model load"),
        (scale_check.HeldOut, "measure", "  unsteered held-out scores"),
        (scale_check, "capped", "  one vector's check"),
    ]
    for owner, name, label in marks:
        watch.wrap(owner, name, label)
    return watch


def run(extract_arguments: list[str]) -> str:
    """Run ``surgsteer extract ARGUMENTS`` with its phases watched; the report."""
    watch = watched()
    surgsteer(["extract", *extract_arguments], standalone_mode=False)
    return watch.report()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--"]:
        arguments = arguments[1:]
    if not arguments or arguments[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0)
    print(run(arguments))
