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

    Also a ValueError, so that pydantic validators raising it report the field it concerns. `param`: the input
    field it is about, when one is (the REST API names it in its answer).
    """

    def __init__(self, message: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


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


class ChangedMeanwhileError(ConflictError):
    """What the form showed changed before it was sent (another tab, another user): nothing was saved."""


class StorageError(BillingError):
    """The database could not be read or written: nothing was saved."""


class DiskFullError(StorageError):
    """The disk is full: nothing was saved. Free some space on the server, then try again."""


class DatabaseLockedError(StorageError):
    """The database file is held by another process, normally the running server."""


class DatabaseReplacedError(StorageError):
    """The database file was deleted or replaced while the server was running: nothing was saved."""


class ConfigError(BillingError):
    """The server is not configured correctly."""
