"""Project exceptions. Commands turn them into one-line CLI errors; nothing else should."""


class SurgsteerError(Exception):
    """Base class for every error a user can cause (bad input, bad file, bad option)."""


class VectorFileError(SurgsteerError):
    """A steering-vector file is missing, malformed, or inconsistent."""


class ModelMismatchError(SurgsteerError):
    """A steering vector was made for a different model than the one loaded."""


class ModelLoadError(SurgsteerError):
    """A model file is missing, corrupt, or cannot be loaded."""


class DataError(SurgsteerError):
    """An evaluation or contrast data set is missing or not in the expected format."""


def os_error_message(exc: OSError) -> str:
    """``PATH: reason`` for an OS error, the path it happened on first."""
    reason = exc.strerror or str(exc)
    paths = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason
