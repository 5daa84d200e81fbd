"""The base of podium's own errors: bad input a user can fix. Stages print these without a traceback."""


class PodiumError(Exception):
    """Bad input or configuration; the message names the file and the fix."""
