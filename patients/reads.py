"""Audit of reads: who viewed which patient's health information, what, when and from which address.

Every view of a patient's page, entries, alerts and FHIR export, in the admin and in the API, writes one
django-auditlog ``LogEntry`` per patient shown, with the action "access": the actor, the time, the client
address (as the throttles see it, ``clinic.client_ip``), and in ``additional_data`` what was read (``read``)
and the path (never the query string). A page that shows many patients writes its records in one insert.
The records are never changed; a clinic's administrators read theirs in the admin ("Patient reads").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from auditlog.cid import get_cid
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest

from clinic.client_ip import client_ip
from patients.models import Patient, PatientRead

R = TypeVar("R")


def record_reads(request: HttpRequest, patients: Iterable[Patient], read: str, object_id: int | None = None) -> None:
    """Record that the request's user read ``read`` (e.g. "alert") of each patient (each once)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    distinct = {patient.pk: patient for patient in patients}
    if not distinct:
        return
    # Filed under the "patient read" type (not the patient's own): the patient's change history stays changes.
    content_type = ContentType.objects.get_for_model(PatientRead, for_concrete_model=False)
    details: dict[str, Any] = {"read": read, "path": request.path}
    if object_id is not None:
        details["id"] = object_id
    address = client_ip(request)
    cid = get_cid()
    records = [
        LogEntry(
            content_type=content_type,
            object_pk=str(pk),
            object_id=pk,
            object_repr=patient.caseload_ref,
            action=LogEntry.Action.ACCESS,
            actor=user,
            remote_addr=address,
            additional_data=details,
            cid=cid,
        )
        for pk, patient in distinct.items()
    ]
    if len(records) == 1:
        records[0].save()  # one INSERT; bulk_create would wrap it in a transaction (two more round trips)
    else:
        LogEntry.objects.bulk_create(records)


def record_page_reads(request: HttpRequest, response: R, read: str) -> R:
    """After an admin change page or changelist rendered (GET): record the reads of the patients it showed.

    A change page shows its object (``original``); a changelist its page of rows (``cl.result_list``). Every
    object has a ``patient``. Returns the response, for ``return record_page_reads(...)``.
    """
    context = getattr(response, "context_data", None) or {}
    if request.method != "GET" or getattr(response, "status_code", 200) != 200:
        return response
    if (original := context.get("original")) is not None:
        record_reads(request, [original.patient], read, object_id=original.pk)
    elif (changelist := context.get("cl")) is not None:
        record_reads(request, (row.patient for row in changelist.result_list), f"{read} list")
    return response
