"""Webhooks (admin only): endpoints, their deliveries with attempts, resending one."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from api.auth import ActorDep, DatabaseDep
from api.pagination import MAX_ID, IdCursor, Limit, page
from api.routing import ApiRoute
from api.schemas import Page
from api.webhook_schemas import (
    DeliveryOut,
    DeliveryStatus,
    DeliveryWithAttempts,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
    EventType,
)
from billing.webhooks import endpoints

router = APIRouter(tags=["webhooks"], route_class=ApiRoute)
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _delivery(delivery: endpoints.Delivery) -> dict[str, Any]:
    return {**asdict(delivery), "data": delivery.payload}


def _with_secret(created: tuple[endpoints.Endpoint, str]) -> dict[str, Any]:
    endpoint, secret = created
    return {**asdict(endpoint), "secret": secret}


@router.get("/webhook-endpoints", response_model=list[EndpointOut], summary="List webhook endpoints (id order)")
def list_endpoints(db: DatabaseDep, actor: ActorDep) -> list[endpoints.Endpoint]:
    return endpoints.list_endpoints(db, actor)


@router.post("/webhook-endpoints", response_model=EndpointWithSecret, status_code=201,
             summary="Register an endpoint for event types; answers its signing secret, this once")
def create_endpoint(db: DatabaseDep, actor: ActorDep, body: EndpointIn) -> dict[str, Any]:
    return _with_secret(endpoints.create_endpoint(db, actor, body.url, body.events, body.description))


@router.get("/webhook-endpoints/{endpoint_id}", response_model=EndpointOut, summary="Get a webhook endpoint")
def get_endpoint(db: DatabaseDep, actor: ActorDep, endpoint_id: RecordId) -> endpoints.Endpoint:
    return endpoints.get_endpoint(db, actor, endpoint_id)


@router.patch("/webhook-endpoints/{endpoint_id}", response_model=EndpointOut,
              summary="Change an endpoint's URL, event types or description; disable or enable it")
def update_endpoint(db: DatabaseDep, actor: ActorDep, endpoint_id: RecordId,
                    body: EndpointPatch) -> endpoints.Endpoint:
    return endpoints.update_endpoint(db, actor, endpoint_id, url=body.url, events=body.events,
                                     description=body.description, active=body.active)


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204, response_class=Response,
               summary="Delete an endpoint (what was pending for it fails; its deliveries stay listed)")
def delete_endpoint(db: DatabaseDep, actor: ActorDep, endpoint_id: RecordId) -> Response:
    endpoints.delete_endpoint(db, actor, endpoint_id)
    return Response(status_code=204)


@router.post("/webhook-endpoints/{endpoint_id}/roll-secret", response_model=EndpointWithSecret,
             summary="Give an endpoint a new signing secret (answered this once; the old one stops at once)")
def roll_secret(db: DatabaseDep, actor: ActorDep, endpoint_id: RecordId) -> dict[str, Any]:
    return _with_secret(endpoints.roll_secret(db, actor, endpoint_id))


@router.get("/webhook-deliveries", response_model=Page[DeliveryOut], summary="Deliveries, newest first")
def list_deliveries(db: DatabaseDep, actor: ActorDep, limit: Limit = 20, starting_after: IdCursor = None,
                    endpoint_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                    status: DeliveryStatus | None = None,
                    event_type: Annotated[EventType | None, Query(alias="type")] = None) -> dict[str, Any]:
    rows = endpoints.deliveries_before(db, actor, before_id=starting_after, limit=limit + 1, endpoint_id=endpoint_id,
                                       status=status, event_type=event_type)
    return page([_delivery(row) for row in rows], limit, lambda row: row["id"])


@router.get("/webhook-deliveries/{delivery_id}", response_model=DeliveryWithAttempts,
            summary="A delivery with every attempt")
def get_delivery(db: DatabaseDep, actor: ActorDep, delivery_id: RecordId) -> dict[str, Any]:
    return _delivery(endpoints.get_delivery(db, actor, delivery_id))


@router.post("/webhook-deliveries/{delivery_id}/resend", response_model=DeliveryWithAttempts,
             summary="Send a delivery again (same event id) at the worker's next round, retried for three days")
def resend_delivery(db: DatabaseDep, actor: ActorDep, delivery_id: RecordId) -> dict[str, Any]:
    return _delivery(endpoints.resend_delivery(db, actor, delivery_id))
