"""Evaluation and contrast data: BLEnD (cultural), BMLAMA (universal cloze), MCQ files, splits.

Loaders read the processed files shipped in ``prompts/`` by default, or the sources in their
original layout when given a directory. They never touch torch or llama.cpp.
"""
