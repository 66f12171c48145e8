"""The one exception the harness raises: its message is the line a person reads."""


class HarnessError(RuntimeError):
    """What failed, for which host, and which log to read."""
