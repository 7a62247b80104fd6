"""Exception and warning types that carry the context a user needs to act.

Every error rmsewatch raises on bad input names the field, the value received
and the rule it broke. The command line maps these types to exit codes in one
place (``rmsewatch.cli``); the HTTP layer maps them to status codes in one
place (``rmsewatch.service.app``).
"""

from __future__ import annotations

__all__ = [
    "ConstantTargetWarning",
    "InvalidInputError",
    "NotFoundError",
    "RmsewatchError",
    "UndefinedMetricWarning",
]


class RmsewatchError(Exception):
    """Base class of every error rmsewatch raises on purpose."""

    exit_code = 1


class InvalidInputError(RmsewatchError, ValueError):
    """Input broke a rule; the message names the field, the value and the rule.

    Parameters
    ----------
    field
        The input field at fault (``"y_true"``, ``"events[3].ts"``, ``"--window"``).
    value
        The offending value, or a short description of it.
    rule
        The rule it broke, phrased so that it says how to fix it.
    """

    exit_code = 2

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field}: {value!r} {rule}")


class NotFoundError(RmsewatchError, LookupError):
    """A named thing (model, file, column) does not exist."""

    exit_code = 3

    def __init__(self, kind: str, name: str, hint: str = "") -> None:
        self.kind = kind
        self.name = name
        message = f"{kind} {name!r} not found"
        super().__init__(f"{message}; {hint}" if hint else message)


class UndefinedMetricWarning(UserWarning):
    """A metric has no finite value for this data; the value returned says why."""


class ConstantTargetWarning(UndefinedMetricWarning):
    """The true values are constant: R² and variance-normalised errors are undefined."""
