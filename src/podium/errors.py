"""The base of podium's own errors: bad input a user can fix. Stages print these without a traceback."""


class PodiumError(Exception):
    """Bad input or configuration; the message names the file and the fix."""


class PredictionError(PodiumError, ValueError):
    """Predictions (boxes or class probabilities) that do not fit what they are used with; the message names
    the file and the fix."""
