"""Erasure of a client's personal data (UU PDP Pasal 43-44), with two-person approval.

A counsellor who may write the client asks; a second authorised user (an active DPO or
coordinator of the organisation, never the one who asked) approves. The erasure then
anonymises in place: every row stays (codes, dates, statuses, bidang, counts), so
aggregate statistics and the letter-number register stay right, but every text that
can hold personal data is overwritten with ``MARKER`` (required fields) or emptied, the
stored files are removed, and private links are revoked. Audit rows are never touched:
they hold codes only, so the hash chain still verifies.

Files are removed *after* the transaction commits (``transaction.on_commit``): if the
erasure rolls back, rows and files are both unchanged. A crash between the commit and
the removal leaves encrypted files no row points to any more (their rows were renamed),
which a later sweep can delete; the reverse order could leave rows whose files are gone
while the data they describe is still there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import Membership, Role, User
from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.cases.models import (
    Attachment,
    Case,
    CaseRecord,
    Client,
    ClientNameToken,
    Consent,
    Guardian,
    ProblemAspect,
    ProblemMap,
    ProblemResource,
)
from kka.conferences.models import (
    Commitment,
    CommitmentProgress,
    Conference,
    Evaluation,
    FollowUp,
    LetterNumber,
    Minutes,
    MinutesAddendum,
    MinutesDraft,
    MinutesResponse,
    Participant,
    PortalLink,
    Report,
)
from kka.documents.models import Document
from kka.lib import private_files
from kka.lib.fields import EncryptedTextField
from kka.privacy.models import (
    BreakGlass,
    Correction,
    Erasure,
    RequestKind,
    RequestStatus,
    SubjectRequest,
)

logger = logging.getLogger(__name__)

MARKER = "[dihapus]"
APPROVER_ROLES = frozenset({Role.DPO, Role.KOORDINATOR})
ERASED_FILE_PREFIX = "dihapus-"
# The client's keyed exact-match tokens: emptied, so a re-import cannot find the row.
IDENTIFIER_TOKENS = ("nisn_token", "employee_number_token", "nik_token")

# Encrypted fields holding JSON: emptied to an empty object, not to "".
JSON_TEXT = {
    Evaluation: {"answers": "{}", "commitment_results": "{}"},
    MinutesDraft: {"content": "{}"},
}


# --- who ----------------------------------------------------------------------------------


def is_approver(user: Any, organisation_id: int) -> bool:
    """An active DPO or coordinator of the organisation (the second person)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return Membership.objects.filter(
        user_id=user.pk,
        organisation_id=organisation_id,
        is_active=True,
        role__in=APPROVER_ROLES,
    ).exists()


def approvers(organisation_id: int) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True,
        memberships__organisation_id=organisation_id,
        memberships__is_active=True,
        memberships__role__in=APPROVER_ROLES,
    ).distinct()


def _on_client_team(user: Any, client: Client) -> bool:
    try:
        case_access.access_client(user, client.code)
    except Http404:
        return False
    return True


def access_erasure_request(user: Any, code: str, *, decide: bool = False) -> SubjectRequest:
    """An erasure request, for an approver of its organisation or the client's team.

    Anyone else gets ``Http404``. ``decide``: approving or rejecting, which needs an
    approver who is not the requester; someone who may see the request but not decide
    gets ``PermissionDenied`` (403), the requester included.
    """
    request = (
        SubjectRequest.objects.select_related("client", "organisation", "created_by")
        .filter(code=code, kind=RequestKind.ERASURE)
        .first()
    )
    if request is None:
        raise Http404
    approver = is_approver(user, request.organisation_id)
    if not approver and not _on_client_team(user, request.client):
        raise Http404
    if decide and not approver:
        raise PermissionDenied
    if decide and request.created_by_id == user.pk:
        raise PermissionDenied
    return request


# --- what ---------------------------------------------------------------------------------


def is_erased(client: Client) -> bool:
    return Erasure.objects.filter(client=client).exists()


def erasure_of(request: SubjectRequest) -> Erasure | None:
    """The erasure an approved request carried out (its summary holds counts only)."""
    return Erasure.objects.filter(request=request).first()


def pending_request(client: Client) -> SubjectRequest | None:
    return SubjectRequest.objects.filter(
        client=client, kind=RequestKind.ERASURE, status=RequestStatus.AWAITING_APPROVAL
    ).first()


def _scope(client: Client) -> dict[str, QuerySet[Any]]:
    """Every row tied to the client that can hold personal data, by model."""
    cases = Case.objects.filter(client=client)
    conferences = Conference.objects.filter(case__client=client)
    participants = Participant.objects.filter(conference__case__client=client)
    minutes = Minutes.objects.filter(conference__case__client=client)
    problem_maps = ProblemMap.objects.filter(case__client=client)
    consents = Consent.objects.filter(client=client)
    records = CaseRecord.objects.filter(case__client=client)
    documents = Document.objects.filter(
        Q(client=client)
        | Q(case__client=client)
        | Q(conference__case__client=client)
        | Q(participant__conference__case__client=client)
        | Q(followup__case__client=client)
        | Q(evaluation__conference__case__client=client)
        | Q(consent__client=client)
    ).distinct()
    return {
        "client": Client.objects.filter(pk=client.pk),
        "guardians": Guardian.objects.filter(client=client),
        "cases": cases,
        "records": records,
        "attachments": Attachment.objects.filter(
            Q(record__case__client=client) | Q(pk__in=consents.values("scan_id"))
        ),
        "problem_maps": problem_maps,
        "aspects": ProblemAspect.objects.filter(problem_map__case__client=client),
        "resources": ProblemResource.objects.filter(problem_map__case__client=client),
        "consents": consents,
        "conferences": conferences,
        "participants": participants,
        "minutes": minutes,
        "minutes_drafts": MinutesDraft.objects.filter(minutes__conference__case__client=client),
        "addenda": MinutesAddendum.objects.filter(minutes__conference__case__client=client),
        "responses": MinutesResponse.objects.filter(minutes__conference__case__client=client),
        "commitments": Commitment.objects.filter(conference__case__client=client),
        "progress": CommitmentProgress.objects.filter(commitment__conference__case__client=client),
        "evaluations": Evaluation.objects.filter(conference__case__client=client),
        "followups": FollowUp.objects.filter(case__client=client),
        "reports": Report.objects.filter(conference__case__client=client),
        "letter_numbers": LetterNumber.objects.filter(conference__case__client=client),
        "documents": documents,
        "subject_requests": SubjectRequest.objects.filter(client=client),
        "corrections": Correction.objects.filter(client=client),
        "break_glass": BreakGlass.objects.filter(case__client=client),
    }


def preview(client: Client) -> dict[str, int]:
    """How much an erasure would touch: counts only, never content."""
    scope = _scope(client)
    return {
        "cases": scope["cases"].count(),
        "records": scope["records"].count(),
        "files": scope["attachments"].count(),
        "conferences": scope["conferences"].count(),
        "participants": scope["participants"].count(),
        "documents": scope["documents"].count(),
        "guardians": scope["guardians"].count(),
        "consents": scope["consents"].count(),
    }


# Plain (unencrypted) text columns that a person typed and that may name someone.
PLAIN_TEXT: dict[str, dict[str, str]] = {
    "cases": {"title": MARKER},
    "participants": {"role": MARKER, "institution": ""},
    "resources": {"role": MARKER},
    "consents": {"giver_relationship": ""},
    "conferences": {"organiser": ""},
}


def _encrypted_values(model: type[models.Model]) -> dict[str, str]:
    """Every encrypted field of ``model``: ``MARKER`` where a value is required, else empty."""
    values: dict[str, str] = {}
    for field in model._meta.get_fields():
        if isinstance(field, EncryptedTextField):
            values[field.name] = "" if field.blank else MARKER
    values.update(JSON_TEXT.get(model, {}))
    return values


def _overwrite(queryset: QuerySet[Any], extra: dict[str, Any]) -> int:
    values = {**_encrypted_values(queryset.model), **extra}
    if not values:
        return 0
    # One UPDATE per model over primary keys (a DISTINCT/joined queryset cannot update).
    return queryset.model.objects.filter(pk__in=list(queryset.values_list("pk", flat=True))).update(
        **values
    )


def _erase(client: Client) -> tuple[dict[str, int], list[str]]:
    """Anonymise everything of ``client``; returns the counts and the files to remove."""
    scope = _scope(client)
    summary = preview(client)
    now = timezone.now()

    # Attachments (record files and consent scans) go with their files: a row would only
    # point at nothing. Documents stay in the register (kind, number, date) without file.
    attachments = list(scope["attachments"].values_list("pk", "stored_name"))
    files = [stored_name for _pk, stored_name in attachments]
    scope["consents"].exclude(scan=None).update(scan=None)
    Attachment.objects.filter(pk__in=[pk for pk, _name in attachments]).delete()
    for pk, code, stored_name in list(scope["documents"].values_list("pk", "code", "stored_name")):
        if not stored_name.startswith(ERASED_FILE_PREFIX):
            files.append(stored_name)
            Document.objects.filter(pk=pk).update(stored_name=f"{ERASED_FILE_PREFIX}{code}")
    summary["stored_files"] = len(files)

    summary["links_revoked"] = PortalLink.objects.filter(
        participant__conference__case__client=client, revoked_at__isnull=True
    ).update(revoked_at=now)
    Participant.objects.filter(conference__case__client=client).update(pledge_ip=None)
    LetterNumber.objects.filter(conference__case__client=client).exclude(void_reason="").update(
        void_reason=MARKER
    )

    # Subject requests included: their notes say who asked (for this erasure too).
    for key, queryset in scope.items():
        if key not in ("guardians", "attachments"):
            _overwrite(queryset, PLAIN_TEXT.get(key, {}))
    Client.objects.filter(pk=client.pk).update(**dict.fromkeys(IDENTIFIER_TOKENS, ""))
    ClientNameToken.objects.filter(client=client).delete()
    scope["guardians"].delete()
    return summary, files


def _remove_files(stored_names: Iterable[str]) -> None:
    for stored_name in stored_names:
        try:
            private_files.remove(stored_name)
        except OSError as error:  # a file left behind is logged by type only
            logger.error("erased file not removed (%s)", type(error).__name__)


# --- services -----------------------------------------------------------------------------


def _audit(action: str, *, actor: User, request: SubjectRequest, **refs: Any) -> None:
    audit_log(
        action=action,
        actor=actor,
        actor_role=role_in(actor, request.organisation_id),
        organisation=request.organisation_id,
        object_type="subjectrequest",
        object_ref=request.code,
        refs={"kind": RequestKind.ERASURE.value, "client": request.client.code, **refs},
    )


@transaction.atomic
def erasure_request(*, actor: User, client: Client, requested_by_note: str = "") -> SubjectRequest:
    """Record an erasure request; it waits for a second authorised user's approval.

    The caller checked ``access_client(actor, code, write=True)``.
    """
    Client.objects.select_for_update().filter(pk=client.pk).first()
    if is_erased(client):
        raise ValidationError(_("Data konseli ini sudah dihapus."))
    if pending_request(client) is not None:
        raise ValidationError(
            _("Permintaan penghapusan untuk konseli ini sudah menunggu persetujuan.")
        )
    request = SubjectRequest(
        organisation_id=client.organisation_id,
        client=client,
        kind=RequestKind.ERASURE,
        status=RequestStatus.AWAITING_APPROVAL,
        requested_by_note=requested_by_note.strip(),
        created_by=actor,
    )
    request.save()
    _audit("privacy.erasure_requested", actor=actor, request=request)
    recipients = [u.pk for u in approvers(client.organisation_id) if u.pk != actor.pk]
    request_id = request.pk
    transaction.on_commit(lambda: notify_approvers(request_id=request_id, user_ids=recipients))
    return request


def notify_approvers(*, request_id: int, user_ids: list[int]) -> None:
    """A neutral mail to each approver: the request code and a link, nothing else."""
    from kka.conferences.reminders import absolute_url
    from kka.lib.mail import send_templated

    request = SubjectRequest.objects.select_related("organisation").get(pk=request_id)
    url = absolute_url(reverse("privacy:erasure_detail", kwargs={"code": request.code}))
    for user in User.objects.filter(pk__in=user_ids, is_active=True):
        send_templated(
            to=user.email,
            template="privacy/emails/erasure_requested",
            language=getattr(user, "language", "") or "id",
            context={
                "organisation_name": request.organisation.name,
                "request_code": request.code,
                "url": url,
            },
        )


def _locked_for_decision(actor: User, request: SubjectRequest) -> SubjectRequest:
    locked = SubjectRequest.objects.select_for_update().select_related("client").get(pk=request.pk)
    if locked.kind != RequestKind.ERASURE:
        raise ValidationError(_("Ini bukan permintaan penghapusan."))
    if locked.status != RequestStatus.AWAITING_APPROVAL:
        raise ValidationError(_("Permintaan ini sudah diputuskan."))
    # The views check this too; the service refuses on its own (two-person rule).
    if locked.created_by_id == actor.pk or not is_approver(actor, locked.organisation_id):
        raise PermissionDenied
    return locked


@transaction.atomic
def erasure_approve(*, actor: User, request: SubjectRequest) -> Erasure:
    """Approve and carry out the erasure in one transaction (files go after commit)."""
    request = _locked_for_decision(actor, request)
    client = Client.objects.select_for_update().get(pk=request.client_id)
    if is_erased(client):
        raise ValidationError(_("Data konseli ini sudah dihapus."))
    now = timezone.now()
    request.approved_by = actor
    request.approved_at = now
    request.save(update_fields=["approved_by", "approved_at"])
    _audit("privacy.erasure_approved", actor=actor, request=request)

    summary, files = _erase(client)
    erasure = Erasure.objects.create(client=client, request=request, erased_at=now, summary=summary)
    request.status = RequestStatus.DONE
    request.completed_at = now
    request.completed_by = actor
    request.save(update_fields=["status", "completed_at", "completed_by"])
    _audit(
        "privacy.erased",
        actor=actor,
        request=request,
        erasure=erasure.code,
        **{key: value for key, value in summary.items()},
    )
    transaction.on_commit(lambda: _remove_files(files))
    return erasure


@transaction.atomic
def erasure_reject(*, actor: User, request: SubjectRequest) -> SubjectRequest:
    request = _locked_for_decision(actor, request)
    request.status = RequestStatus.REJECTED
    request.completed_at = timezone.now()
    request.completed_by = actor
    request.save(update_fields=["status", "completed_at", "completed_by"])
    _audit("privacy.request_rejected", actor=actor, request=request)
    return request


def dpo_section(organisation: Any) -> dict[str, Any]:
    """Erasure requests of the organisation awaiting a second person (codes only)."""
    waiting = (
        SubjectRequest.objects.filter(
            organisation=organisation,
            kind=RequestKind.ERASURE,
            status=RequestStatus.AWAITING_APPROVAL,
        )
        .select_related("client")
        .order_by("due_at")
    )
    return {"waiting": list(waiting)}
