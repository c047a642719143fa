"""Benchmarks and checks behind the numbers in the docs; not part of the installed package.
Run each from the repository root as ``python -m benchmarks.NAME`` (``--help`` lists its
options). Their saved outputs in ``docs/results`` start with the command as it was run."""
