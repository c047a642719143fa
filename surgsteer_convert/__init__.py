"""The PyTorch side of surgsteer: load a model, measure EN/LOC directions, analyse layers,
export steering vectors. Only ``surgsteer layers`` and ``surgsteer extract`` import it."""

DEVICES = ("auto", "cpu", "cuda", "mps")
"""Where PyTorch computes an extraction (``--device``); auto picks a GPU when torch sees one."""
