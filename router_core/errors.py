"""The one exception type for bad user input, and the warning for what a user should know but need not stop for."""


class RouterInputError(ValueError):
    """Bad input from a user: the message names the file, row or column and what was expected.

    Pages and the CLI catch this type and show its message; any other exception is a bug.
    """


class CrossRouteWarning(UserWarning):
    """Something a user should know that does not stop the work (a slower backend, a cache set aside): the CLI prints
    it as one `warning:` line."""
