"""Demo data for the DPO's page: one open access request and one ended break-glass use.

So that a new DPO, signing in to the demo, sees the registers with something in them.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kka.accounts.models import Organisation, User
from kka.cases.models import Case
from kka.privacy import breakglass, subject
from kka.privacy.models import RequestKind


def build_privacy(organisation: Organisation, counsellor: User, coordinator: User) -> None:
    case = (
        Case.objects.filter(organisation=organisation, owner=counsellor)
        .select_related("client")
        .order_by("opened_at", "pk")
        .first()
    )
    if case is None:
        return
    subject.request_record(
        actor=counsellor,
        client=case.client,
        kind=RequestKind.ACCESS,
        requested_by_note="Orang tua konseli meminta salinan data melalui surat.",
        received_at=timezone.now() - dt.timedelta(hours=20),
    )
    grant = breakglass.breakglass_open(
        actor=coordinator,
        organisation=organisation,
        case_code=case.code,
        reason="Konselor sedang cuti; orang tua melaporkan kejadian mendesak hari ini.",
    )
    if not isinstance(grant, Case):
        breakglass.breakglass_end(actor=coordinator, grant=grant)
