"""``surgsteer serve``: an OpenAI-compatible HTTP server that steers each request by its own
language. ``create_app`` (in ``app``) builds it around one loaded ``Session``."""
