"""surgsteer: surgical EN/LOC steering of local LLMs through llama.cpp control vectors."""

__version__ = "0.1.0"
