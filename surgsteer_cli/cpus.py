"""How many CPU threads to use: the machine's CPUs, those this process may run on, and those
other work keeps busy right now."""

from __future__ import annotations

import os
import time


def cpu_count() -> int:
    """CPUs of the machine: the most threads ``--threads`` accepts (more only contend)."""
    return os.cpu_count() or 1


def allowed_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return cpu_count()


def available_cpus() -> int:
    """The default thread count: the CPUs this process may run on that other work does not
    keep busy when the model loads, at least 1.

    llama.cpp's threads wait for each other after every step, so one thread that shares its
    core with a busy process stalls them all: with all CPUs in use and one core busy, decoding
    collapses (0.6 against 30 tokens/s with one thread, issue 17). On an idle machine every CPU
    helps: llama-cpp-python's own default, half the cores, leaves one of two idle, and two
    threads decode about 1.6x as fast as one. ``benchmarks/runtime_bench.py`` measures both."""
    return max(1, allowed_cpus() - busy_cpus())


BUSY_SAMPLES = 3
"""Readings of the run queue, 5 ms apart; the busy count is their minimum, so a task that
runs only for a moment is not mistaken for a busy process."""


def busy_cpus() -> int:
    """About how many CPUs other processes keep busy right now: the tasks the kernel has
    ready to run (``/proc/loadavg``), without this one. Unlike the load averages, this sees a
    process that started a second ago and forgets one that ended; it counts the whole
    machine, so on a host shared with containers it errs towards fewer threads. Elsewhere
    (no ``/proc``) the one-minute load average stands in."""
    try:
        readings = []
        for sample in range(BUSY_SAMPLES):
            if sample:
                time.sleep(0.005)
            with open("/proc/loadavg", encoding="ascii") as handle:
                readings.append(int(handle.read().split()[3].split("/")[0]) - 1)
        return max(0, min(readings))
    except (OSError, ValueError, IndexError):
        pass
    try:
        return round(os.getloadavg()[0])
    except (OSError, AttributeError):  # Windows has no load average
        return 0
