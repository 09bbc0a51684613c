"""Request and response bodies of the webhook routes."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from api.schemas import In, Optional, Out, Time

EventType = Literal["invoice.issued", "invoice.paid", "invoice.overdue", "invoice.voided", "credit_note.issued",
                    "payment.recorded", "payment.reversed"]
DeliveryStatus = Literal["pending", "delivered", "failed"]
Url = Annotated[str, Field(min_length=1, max_length=2000, description="An http:// or https:// address")]
Events = Annotated[list[EventType], Field(min_length=1, max_length=7)]


class EndpointIn(In):
    url: Url
    events: Events
    description: str = Field(default="", max_length=200)


class EndpointPatch(In):
    url: Url | Optional = None
    events: Events | Optional = None
    description: Annotated[str, Field(max_length=200)] | Optional = None
    active: bool | Optional = Field(default=None, description="false: no new events (what is pending still goes)")


class EndpointOut(Out):
    id: int
    url: str
    description: str
    events: list[str]
    secret_hint: str = Field(description="The secret's first characters (the secret is shown once)")
    active: bool
    created_at: Time
    created_by: str
    updated_at: Time


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="Signs every delivery (Billing-Signature); shown this once, store it now")


class AttemptOut(Out):
    attempted_at: Time
    status_code: int | None = Field(description="The receiver's HTTP status; null: no answer (refused, timeout)")
    error: str
    duration_ms: int


class DeliveryOut(Out):
    id: int
    event_id: str = Field(description="The event's id: the same on every attempt, for de-duplication")
    endpoint_id: int
    type: str
    entity: str
    entity_id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: Time | None
    retry_until: Time
    last_status: int | None
    last_error: str
    created_at: Time
    finished_at: Time | None
    data: dict[str, Any] = Field(description="The event's data, as delivered")

    @field_validator("data", mode="before")
    @classmethod
    def _parsed(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class DeliveryWithAttempts(DeliveryOut):
    tries: list[AttemptOut] = Field(description="Every attempt, oldest first")
