"""Errors of the carbon inventory, each with the HTTP status and title the API answers
it with; the message is written for the user and names its remedy."""


class CarbonError(Exception):
    """Base class of carbon errors."""

    status_code = 400
    title = "Invalid carbon request"


class FactorNotFound(CarbonError):
    """No emission factor applies to a carrier in a year (or no conversion of a unit): the
    factor table, as configured, does not allow the inventory or scenario asked for: the
    request is well formed but cannot be answered (422), whoever asks again."""

    status_code = 422
    title = "No emission factor"


class InvalidFactorTable(CarbonError):
    """A factor file that cannot be read as a factor table; the message says where."""

    status_code = 500
    title = "Invalid emission factor table"


class ImportRefused(CarbonError):
    """A file with bad rows: nothing of it is imported; ``problems`` lists every bad
    line with its reason."""

    status_code = 400
    title = "File refused"

    def __init__(self, file_name: str, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{file_name}: {len(problems)} bad row(s), nothing imported; fix them and import"
            f" the file again:\n{shown}"
        )


class AlreadyImported(CarbonError):
    """The same file (by content) was imported before: importing it again would count
    its consumption twice."""

    status_code = 409
    title = "Conflict"


class InvalidInventoryRequest(CarbonError):
    """An inventory asked for a year that cannot be right; the message says why."""

    status_code = 400
    title = "Invalid parameter"
