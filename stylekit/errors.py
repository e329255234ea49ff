"""Errors that are the user's to fix: the CLI prints them as one line and exits with code 2."""


class StylekitError(Exception):
    """A user error (bad input, missing file, impossible setting) with a message that says what to do."""


class OutOfMemoryEstimate(StylekitError):
    """A run whose estimated peak memory does not fit on the chosen device."""


class StylekitWarning(UserWarning):
    """A run that finished but did not do what was asked (e.g. the image never changed): the message names the
    likely cause."""
