"""Errors that stop a run before it starts (exit status 2), with one clear sentence."""


class InputError(Exception):
    """Bad input: an inventory, a court name, an option. Nothing was contacted.

    ``problems`` holds one line per problem (``file:line: court: message: value``) when there
    are several, so all of them are shown at once.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []
