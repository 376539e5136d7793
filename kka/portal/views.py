"""What an invited participant sees through their private link (no account).

``/undangan/?t=<token>`` exchanges the token for a session and redirects to
``/undangan/``, so the token leaves the address bar, the history and any Referer.
The token travels in the query string, which the access log does not record.
Every request re-checks the link (revoked, expired, consent withdrawn): a bad
link answers 404 and is audited.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kka.audit.services import audit_log
from kka.conferences import followup, meeting, services
from kka.conferences.forms import PledgeForm, RsvpForm
from kka.conferences.models import DISCLOSURE_RANK, ConferenceStatus, Participant, PortalLink
from kka.lib import dates
from kka.lib.http import no_store
from kka.lib.request_context import client_ip
from kka.portal import laiseg
from kka.privacy import restriction

SESSION_KEY = "kka_portal"
BEFORE_MEETING = {ConferenceStatus.DRAFT, ConferenceStatus.PLANNED, ConferenceStatus.INVITED}


def _denied(request: HttpRequest) -> Http404:
    audit_log(action="portal.denied", outcome="denied", object_type="portal")
    return Http404()


def _current(request: HttpRequest) -> Participant:
    """The participant of this browser session, if their link is still valid."""
    link_id = request.session.get(SESSION_KEY)
    if not link_id:
        raise Http404
    link = (
        PortalLink.objects.select_related(
            "participant__conference__case__organisation",
            "participant__conference__case__client__organisation",
        )
        .filter(pk=link_id)
        .first()
    )
    if link is None or not services.link_is_valid(link):
        request.session.pop(SESSION_KEY, None)
        raise _denied(request)
    # The participant reads KKA in the language their invitation was written in,
    # unless they chose otherwise with the language switch.
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        translation.activate(link.participant.language or "id")
        request.LANGUAGE_CODE = translation.get_language()  # type: ignore[attr-defined]
    # Dates read in the organisation's zone (the middleware deactivates it afterwards).
    timezone.activate(zoneinfo.ZoneInfo(link.participant.conference.case.organisation.time_zone))
    return link.participant


def _unless_restricted(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """While the client's processing is restricted (UU PDP), a participant's answers
    change nothing: the page says so instead. Reading stays possible."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        participant = _current(request)
        client = participant.conference.case.client
        if restriction.is_restricted(client.pk):
            restriction.audit_refusal(client=client, where="portal")
            messages.error(
                request,
                _(
                    "Maaf, saat ini data konseli sedang dibatasi pemrosesannya, sehingga "
                    "jawaban dan catatan belum dapat disimpan. Silakan hubungi konselor."
                ),
            )
            return HttpResponseRedirect(reverse("portal:home"))
        return view(request, *args, **kwargs)

    return wrapped


@no_store
def portal_enter(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("t", "")
    if token:
        found = services.portal_participant(token)
        if found is None:
            raise _denied(request)
        participant, link = found
        request.session.cycle_key()
        request.session[SESSION_KEY] = link.pk
        services.portal_opened(participant=participant)
        return HttpResponseRedirect(reverse("portal:home"))
    return portal_home(request)


def _context(participant: Participant) -> dict[str, Any]:
    conference = participant.conference
    organisation = conference.case.organisation
    may_read_briefing = (
        participant.pledged_at is not None
        and DISCLOSURE_RANK[participant.disclosure] >= 1  # type: ignore[index]
        and bool(conference.briefing)
    )
    minutes = meeting.shared_minutes_for(participant)
    laiseg_state = laiseg.state(participant)
    scheme = laiseg.scheme_of(participant)
    return {
        "commitments": (
            followup.commitments_of_participant(participant).prefetch_related("progress")
            if participant.pledged_at is not None
            else []
        ),
        "minutes": minutes,
        "shared_addenda": minutes.addenda.filter(layer="shared") if minutes else [],
        "minutes_agreed_at": meeting.minutes_agreed_at(participant) if minutes else None,
        "own_comments": meeting.own_minutes_comments(participant) if minutes else [],
        "comment_text": "",
        "comment_max": meeting.COMMENT_MAX,
        "laiseg_state": laiseg_state,
        "laiseg_form": laiseg.LaisegForm(scheme=scheme) if laiseg_state == "open" else None,
        "participant": participant,
        # After the meeting the answer to the invitation no longer matters.
        "before_meeting": conference.status in BEFORE_MEETING,
        "conference": conference,
        "organisation": organisation,
        "when": dates.long_datetime(conference.starts_at, organisation.time_zone)
        if conference.starts_at
        else "",
        "rsvp_form": RsvpForm(initial={"answer": participant.rsvp}),
        "pledge_form": PledgeForm(),
        "may_read_briefing": may_read_briefing,
    }


def _home(request: HttpRequest, participant: Participant, **overrides: Any) -> HttpResponse:
    """The portal page; what it discloses is recorded every time it is shown."""
    context = {**_context(participant), **overrides}
    services.portal_page_shown(
        participant=participant,
        briefing=bool(context["may_read_briefing"]),
        shared_minutes=context["minutes"] is not None,
    )
    return render(request, "portal/home.html", context)


@no_store
def portal_home(request: HttpRequest) -> HttpResponse:
    return _home(request, _current(request))


@require_POST
@_unless_restricted
def portal_rsvp(request: HttpRequest) -> HttpResponse:
    participant = _current(request)
    form = RsvpForm(request.POST)
    if form.is_valid():
        services.portal_rsvp(
            participant=participant,
            answer=form.cleaned_data["answer"],
            note=form.cleaned_data["note"],
        )
        messages.success(request, _("Terima kasih, jawaban Anda tersimpan."))
    else:
        messages.error(request, _("Pilih jawaban kehadiran."))
    return HttpResponseRedirect(reverse("portal:home"))


@require_POST
@_unless_restricted
def portal_pledge(request: HttpRequest) -> HttpResponse:
    participant = _current(request)
    form = PledgeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tulis nama lengkap Anda dan centang pernyataan."))
        return HttpResponseRedirect(reverse("portal:home") + "#kerahasiaan")
    try:
        services.pledge_take(
            participant=participant,
            typed_name=form.cleaned_data["typed_name"],
            agreed=form.cleaned_data["agreed"],
            ip=client_ip(request),
            channel="online",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Pernyataan kerahasiaan Anda tercatat."))
    return HttpResponseRedirect(reverse("portal:home"))


@require_POST
def portal_leave(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return render(request, "portal/left.html")


@require_POST
@_unless_restricted
def portal_progress(request: HttpRequest, code: str) -> HttpResponse:
    """A participant adds a progress note to one of their own commitments."""
    participant = _current(request)
    if participant.pledged_at is None:
        raise Http404
    commitment = followup.commitments_of_participant(participant).filter(code=code).first()
    if commitment is None:
        raise Http404
    try:
        followup.commitment_progress_add(
            commitment=commitment, note=request.POST.get("note", ""), participant=participant
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Terima kasih, catatan kemajuan tersimpan."))
    return HttpResponseRedirect(reverse("portal:home") + "#komitmen")


@require_POST
@no_store
@_unless_restricted
def portal_minutes_agree(request: HttpRequest) -> HttpResponse:
    """The participant agrees to the shared minutes (once; again changes nothing)."""
    participant = _current(request)
    try:
        meeting.minutes_agree(participant=participant)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("Terima kasih, persetujuan Anda atas notulen tercatat."))
    return HttpResponseRedirect(reverse("portal:home") + "#notulen")


@require_POST
@no_store
@_unless_restricted
def portal_minutes_comment(request: HttpRequest) -> HttpResponse:
    """A comment on the shared minutes, for the counsellor's eyes only."""
    participant = _current(request)
    text = request.POST.get("comment", "")
    try:
        meeting.minutes_comment(participant=participant, text=text)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        # Shown again with the text, so nothing typed is lost.
        messages.error(request, " ".join(exc.messages))
        return _home(request, participant, comment_text=text)
    messages.success(request, _("Terima kasih, komentar Anda terkirim kepada konselor."))
    return HttpResponseRedirect(reverse("portal:home") + "#notulen")


@require_POST
@no_store
@_unless_restricted
def portal_laiseg(request: HttpRequest) -> HttpResponse:
    """The participant's own immediate evaluation (once, after attending the KKA)."""
    participant = _current(request)
    current = laiseg.state(participant)
    if not current:
        raise Http404
    if current == "done":
        messages.info(request, _("Penilaian Anda sudah tercatat sebelumnya. Terima kasih."))
        return HttpResponseRedirect(reverse("portal:home") + "#penilaian")
    scheme = laiseg.scheme_of(participant)
    form = laiseg.LaisegForm(request.POST, scheme=scheme)
    if not form.is_valid():
        return _home(request, participant, laiseg_form=form)
    try:
        followup.laiseg_record(
            conference=participant.conference,
            participant=participant,
            answers={key: form.cleaned_data[key] for key in form.fields},
            scheme=scheme,
            via_portal=True,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Terima kasih, penilaian Anda tercatat."))
    return HttpResponseRedirect(reverse("portal:home") + "#penilaian")
