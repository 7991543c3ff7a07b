"""The errors a user fixes (a bad params value, a missing or corrupted dataset, a bad environment variable).

The stage CLI turns them into one line and exit status 2; this module imports nothing, so catching them
costs no torch import.
"""


class ConfigError(ValueError):
    """A params.yaml value that is missing, unknown, of the wrong type or out of range."""


class DataError(RuntimeError):
    """A dataset that is missing, corrupted or cannot be downloaded; the message says how to provide it."""


class EnvironmentSettingError(ValueError):
    """An environment variable the project reads (e.g. ``LTH_DEVICE``) with a value it cannot use."""
