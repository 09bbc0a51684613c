"""One family of domain errors whose messages are safe and useful to show to a user."""

from __future__ import annotations


class BillingError(Exception):
    """The operation could not be done."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "The operation could not be done.").strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


class ValidationError(BillingError, ValueError):
    """Some of the input is not valid.

    Also a ValueError, so that pydantic validators raising it report the field it concerns.
    """


class NotFoundError(BillingError):
    """The record does not exist."""


class StateError(BillingError):
    """The record is not in a state that allows this."""


class PermissionDeniedError(BillingError):
    """You do not have permission to do this."""


class SessionEndedError(PermissionDeniedError):
    """Your session has ended. Please sign in again."""


class AuthenticationError(BillingError):
    """Wrong username or password."""


class ConflictError(BillingError):
    """Someone else changed the same record at the same time. Please try again."""
