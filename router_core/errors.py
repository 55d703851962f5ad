"""The one exception type for bad user input."""


class RouterInputError(ValueError):
    """Bad input from a user: the message names the file, row or column and what was expected.

    Pages and the CLI catch this type and show its message; any other exception is a bug.
    """
