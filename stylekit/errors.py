"""Errors that are the user's to fix: the CLI prints them as one line and exits with code 2.

Code below the faces never spells a command-line flag or a page label: a message names an option by its field,
written between backticks (``"lower `lr` or the loss weights"``), and each face shows it its own way with
:func:`render`: the CLI as ``--lr``, the web page by its label, Python by the keyword (``str(error)``).
"""
from __future__ import annotations

import re
from collections.abc import Callable

FIELD = re.compile(r"`([a-z][a-z0-9_]*)`")  # an option's field name in a message


def render(message: str, name: Callable[[str], str] | None = None) -> str:
    """``message`` with each `field` shown as ``name(field)`` (default: the field's own name, for Python)."""
    return FIELD.sub(lambda m: name(m.group(1)) if name else m.group(1), message)


def fields_in(message: str) -> list[str]:
    """The option fields a message names, in order."""
    return FIELD.findall(message)


class StylekitError(Exception):
    """A user error (bad input, missing file, impossible setting) with a message that says what to do; options
    are named by field between backticks (see :func:`render`). ``field``: the one option at fault, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.template = message
        self.field = field

    def render(self, name: Callable[[str], str] | None = None) -> str:
        """The message with its option fields named as one face names them."""
        return render(self.template, name)

    def __str__(self) -> str:
        return self.render()


class OutOfMemoryEstimate(StylekitError):
    """A run whose estimated peak memory does not fit on the chosen device."""


class StylekitWarning(UserWarning):
    """A run that finished but did not do what was asked (e.g. the image never changed): the message names the
    likely cause, its options by field between backticks as in :class:`StylekitError`."""
