"""Errors of the application layer."""


class CommandError(Exception):
    """A command could not do its work; the message is one line for standard error."""
