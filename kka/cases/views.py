"""Case file pages. Each view: access function → form → service → redirect/render."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kka.accounts import policy
from kka.accounts.decorators import organisation_capability
from kka.accounts.models import Membership, User
from kka.cases import access, selectors, services
from kka.cases.forms import (
    AspectForm,
    CaseFilterForm,
    CaseForm,
    CaseMemberForm,
    CaseStatusForm,
    ClientCreateForm,
    ClientForm,
    ConsentForm,
    ConsentTextForm,
    ConsentWithdrawForm,
    CoreProblemForm,
    GuardianForm,
    RecordForm,
    ResourceForm,
)
from kka.cases.models import (
    Case,
    CaseMember,
    CaseRecord,
    CaseStatus,
    Guardian,
    ProblemAspect,
    ProblemMap,
    ProblemResource,
)
from kka.documents.kinds import persetujuan as consent_documents
from kka.lib import private_files
from kka.lib.http import file_response, no_store

PAGE_SIZE = 25


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _uploads(files: list[Any]) -> list[tuple[str, bytes]]:
    return [(f.name, f.read()) for f in files]


def case_url(case: Case) -> str:
    return reverse("cases:case_detail", kwargs={"code": case.code})


# --- lists ---------------------------------------------------------------------------


@organisation_capability(policy.may_counsel)
@no_store
def case_list(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    choices = selectors.bidang_choices(organisation)
    form = CaseFilterForm(request.GET or None, bidang_choices=choices)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.case_list(
        viewer=request.user,
        organisation=organisation,
        status=filters.get("status", ""),
        bidang=filters.get("bidang", ""),
        query=filters.get("q", ""),
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("halaman"))
    services.audit_read(
        actor=_user(request),
        action="case.list_viewed",
        obj=organisation,
        organisation_id=organisation.pk,
        shown=",".join(c.code for c in page.object_list),
    )
    query = request.GET.copy()
    query.pop("halaman", None)
    return render(
        request,
        "cases/case_list.html",
        {
            "form": form,
            "page": page,
            "bidang_labels": dict(choices),
            "query_string": query.urlencode(),
        },
    )


@organisation_capability(policy.may_counsel)
@no_store
def client_list(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    query = request.GET.get("q", "").strip()[:100]
    qs = selectors.client_list(viewer=request.user, organisation=organisation, query=query)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("halaman"))
    services.audit_read(
        actor=_user(request),
        action="client.list_viewed",
        obj=organisation,
        organisation_id=organisation.pk,
        shown=",".join(c.code for c in page.object_list),
    )
    return render(request, "cases/client_list.html", {"page": page, "q": query})


# --- clients -------------------------------------------------------------------------


@organisation_capability(policy.may_counsel)
def client_create(request: HttpRequest) -> HttpResponse:
    form = ClientCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        values = {k: form.cleaned_data[k] for k in ClientForm.base_fields}
        try:
            client = services.client_create(
                actor=_user(request),
                organisation=request.organisation,  # type: ignore[attr-defined]
                guardians=form.guardians(),
                **values,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Konseli tersimpan."))
            return redirect("cases:client_detail", code=client.code)
    return render(request, "cases/client_form.html", {"form": form, "creating": True})


@login_required
@no_store
def client_detail(request: HttpRequest, code: str) -> HttpResponse:
    client = access.access_client(request.user, code)
    services.audit_read(
        actor=_user(request),
        action="client.viewed",
        obj=client,
        organisation_id=client.organisation_id,
    )
    cases = access.visible_cases(request.user).filter(client=client).order_by("-opened_at")
    return render(
        request,
        "cases/client_detail.html",
        {
            "client": client,
            "is_minor": selectors.client_is_minor(client),
            "guardians": client.guardians.all(),
            "cases": cases,
            "consent": selectors.current_consent(client),
            "consents": selectors.consent_history(client).order_by("-recorded_at"),
            "guardian_form": GuardianForm(),
        },
    )


@login_required
def client_edit(request: HttpRequest, code: str) -> HttpResponse:
    client = access.access_client(request.user, code, write=True)
    initial = {name: getattr(client, name) for name in ClientForm.base_fields}
    initial["birth_date"] = client.birth_date_value
    form = ClientForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.client_update(actor=_user(request), client=client, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Data konseli diperbarui."))
            return redirect("cases:client_detail", code=client.code)
    return render(request, "cases/client_form.html", {"form": form, "client": client})


@login_required
@require_POST
def guardian_add(request: HttpRequest, code: str) -> HttpResponse:
    client = access.access_client(request.user, code, write=True)
    form = GuardianForm(request.POST)
    if form.is_valid():
        services.guardian_add(actor=_user(request), client=client, **form.cleaned_data)
        messages.success(request, _("Orang tua / wali ditambahkan."))
    else:
        messages.error(request, _("Data orang tua / wali belum lengkap."))
    return redirect("cases:client_detail", code=client.code)


@login_required
@require_POST
def guardian_remove(request: HttpRequest, code: str, guardian: str) -> HttpResponse:
    client = access.access_client(request.user, code, write=True)
    target = Guardian.objects.filter(client=client, code=guardian).first()
    if target is None:
        raise Http404
    services.guardian_remove(actor=_user(request), guardian=target)
    messages.success(request, _("Orang tua / wali dihapus."))
    return redirect("cases:client_detail", code=client.code)


# --- consent -------------------------------------------------------------------------


@login_required
def consent_add(request: HttpRequest, code: str) -> HttpResponse:
    client = access.access_client(request.user, code, write=True)
    is_minor = selectors.client_is_minor(client)
    initial: dict[str, Any] = {"given_on": selectors.local_today(client.organisation)}
    if not is_minor:
        initial.update(giver="konseli", giver_name=client.full_name)
    form = ConsentForm(request.POST or None, request.FILES or None, initial=initial)
    text = services.consent_text_ensure(organisation=client.organisation)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        zone = zoneinfo.ZoneInfo(client.organisation.time_zone)
        given_at = dt.datetime.combine(data["given_on"], dt.time(12, 0), tzinfo=zone)
        if data["given_on"] == selectors.local_today(client.organisation):
            given_at = timezone.now()
        scan = (data["scan"].name, data["scan"].read()) if data.get("scan") else None
        try:
            services.consent_record(
                actor=_user(request),
                client=client,
                giver=data["giver"],
                giver_name=data["giver_name"],
                giver_relationship=data["giver_relationship"],
                channel=data["channel"],
                given_at=given_at,
                purposes=data["purposes"],
                note=data["note"],
                scan=scan,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Persetujuan tercatat."))
            return redirect("cases:client_detail", code=client.code)
    return render(
        request,
        "cases/consent_form.html",
        {
            "client": client,
            "form": form,
            "text": text,
            "is_minor": is_minor,
            "guardians": client.guardians.all(),
        },
    )


@login_required
@require_POST
def consent_withdraw(request: HttpRequest, code: str, consent: str) -> HttpResponse:
    # Withdrawing consent is the subject's right: allowed while processing is restricted.
    client = access.access_client(request.user, code, write=True, despite_restriction=True)
    target = access.access_consent(
        request.user, client, consent, write=True, despite_restriction=True
    )
    form = ConsentWithdrawForm(request.POST)
    form.is_valid()
    try:
        services.consent_withdraw(
            actor=_user(request), consent=target, note=form.cleaned_data.get("note", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Penarikan persetujuan tercatat."))
    return redirect("cases:client_detail", code=client.code)


@login_required
def consent_proof(request: HttpRequest, code: str, consent: str) -> HttpResponse:
    client = access.access_client(request.user, code)
    target = access.access_consent(request.user, client, consent)
    services.audit_read(
        actor=_user(request),
        action="consent.proof_exported",
        obj=target,
        organisation_id=client.organisation_id,
        client=client.code,
    )
    # The same layout as the registered document (kind "bukti_persetujuan"), rendered
    # for reading: a supervisor may read it, and reading registers no document.
    pdf = consent_documents.proof_pdf(viewer=_user(request), consent=target)
    return file_response(pdf, f"bukti-persetujuan-{target.code}.pdf", "application/pdf")


@login_required
def consent_scan(request: HttpRequest, code: str, attachment: str) -> HttpResponse:
    client = access.access_client(request.user, code)
    target = access.access_client_attachment(request.user, client, attachment)
    services.attachment_downloaded(
        actor=_user(request), attachment=target, organisation_id=client.organisation_id
    )
    return file_response(
        private_files.read(target.stored_name),
        f"pindaian-{target.code}{private_files.ALLOWED_TYPES[target.content_type]}",
        target.content_type,
    )


def _may_edit_consent_text(membership: Membership | None) -> bool:
    return policy.may_manage_members(membership) or (
        membership is not None and membership.is_active and membership.role == "koordinator"
    )


@organisation_capability(_may_edit_consent_text)
def consent_text_edit(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    current = services.consent_text_ensure(organisation=organisation)
    form = ConsentTextForm(request.POST or None, initial={"body": current.body})
    if request.method == "POST" and form.is_valid():
        text = services.consent_text_update(
            actor=_user(request), organisation=organisation, body=form.cleaned_data["body"]
        )
        messages.success(request, _("Teks persetujuan versi %(v)s disimpan.") % {"v": text.version})
        return redirect("cases:consent_text_edit")
    return render(request, "cases/consent_text.html", {"form": form, "current": current})


# --- cases ---------------------------------------------------------------------------


@login_required
def case_open(request: HttpRequest, code: str) -> HttpResponse:
    client = access.access_client(request.user, code, write=True)
    if not policy.may_counsel(
        Membership.objects.filter(
            user_id=_user(request).pk, organisation_id=client.organisation_id, is_active=True
        ).first()
    ):
        raise Http404
    form = CaseForm(
        request.POST or None, bidang_choices=selectors.bidang_choices(client.organisation)
    )
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_open(actor=_user(request), client=client, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Kasus %(code)s dibuka.") % {"code": case.code})
            return redirect("cases:case_detail", code=case.code)
    return render(request, "cases/case_form.html", {"form": form, "client": client})


@login_required
@no_store
def case_detail(request: HttpRequest, code: str) -> HttpResponse:
    case, role = access.access_case_with_role(request.user, code)
    services.audit_read(
        actor=_user(request), action="case.viewed", obj=case, organisation_id=case.organisation_id
    )
    problem_map = (
        ProblemMap.objects.filter(case=case)
        .prefetch_related("aspects__records", "aspects__resources", "resources")
        .first()
    )
    records = case.records.prefetch_related("attachments").order_by("-occurred_on", "-id")
    writable = role in access.WRITER_ROLES
    members = list(case.members.select_related("user").order_by("role", "id"))
    context: dict[str, Any] = {
        "case": case,
        "role": role,
        "writable": writable,
        "is_owner": role == access.OWNER,
        "client": case.client,
        "is_minor": selectors.client_is_minor(case.client),
        "bidang_label": selectors.bidang_label(case.organisation, case.bidang),
        "members": members,
        "problem_map": problem_map,
        "records": records,
        "consent": selectors.current_consent(case.client),
        "timeline": selectors.case_timeline(case),
        "conferences": case.conferences.order_by("sequence"),  # type: ignore[attr-defined]
        "followups": case.followups.select_related(  # type: ignore[attr-defined]
            "conference", "next_conference", "consent"
        ).order_by("-created_at", "-id"),
        "status_form": CaseStatusForm(initial={"status": case.status}),
    }
    if writable:
        record_choices = [
            (r.code, f"{r.occurred_on:%d-%m-%Y} · {r.get_source_display()}") for r in records
        ]
        aspects = list(problem_map.aspects.all()) if problem_map else []
        context.update(
            core_form=CoreProblemForm(
                initial={"core_problem": problem_map.core_problem if problem_map else ""}
            ),
            aspect_form=AspectForm(record_choices=record_choices),
            resource_form=ResourceForm(aspect_choices=[(a.code, a.text[:60]) for a in aspects]),
        )
    if role == access.OWNER:
        context["member_form"] = CaseMemberForm(
            candidates=_member_candidates(case, members=members)
        )
    return render(request, "cases/case_detail.html", context)


def _member_candidates(
    case: Case, *, members: list[CaseMember] | None = None
) -> list[tuple[str, str]]:
    if members is None:
        existing = set(case.members.values_list("user_id", flat=True))
    else:
        existing = {m.user_id for m in members}
    existing.add(case.owner_id)
    memberships = (
        Membership.objects.filter(
            organisation_id=case.organisation_id,
            is_active=True,
            role__in=policy.COUNSELLING_ROLES,
        )
        .select_related("user")
        .order_by("user__full_name")
    )
    return [
        (m.code, f"{m.user.full_name} ({m.get_role_display()})")
        for m in memberships
        if m.user_id not in existing
    ]


@login_required
def case_edit(request: HttpRequest, code: str) -> HttpResponse:
    case = access.access_case(request.user, code, write=True)
    form = CaseForm(
        request.POST or None,
        bidang_choices=selectors.bidang_choices(case.organisation),
        initial={n: getattr(case, n) for n in services.CASE_EDITABLE},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.case_update(actor=_user(request), case=case, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Kasus diperbarui."))
            return redirect("cases:case_detail", code=case.code)
    return render(
        request, "cases/case_form.html", {"form": form, "case": case, "client": case.client}
    )


@login_required
@require_POST
def case_status(request: HttpRequest, code: str) -> HttpResponse:
    case = access.access_case(request.user, code, write=True)
    form = CaseStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Status tidak dikenal."))
        return redirect("cases:case_detail", code=case.code)
    try:
        services.case_change_status(actor=_user(request), case=case, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Status kasus: %(status)s.")
            % {"status": CaseStatus(form.cleaned_data["status"]).label},
        )
    return redirect("cases:case_detail", code=case.code)


@login_required
@require_POST
def case_member_add(request: HttpRequest, code: str) -> HttpResponse:
    case, role = access.access_case_with_role(request.user, code, write=True)
    if role != access.OWNER:
        raise PermissionDenied
    form = CaseMemberForm(request.POST, candidates=_member_candidates(case))
    if form.is_valid():
        membership = Membership.objects.select_related("user").get(code=form.cleaned_data["user"])
        try:
            services.case_member_add(
                actor=_user(request),
                case=case,
                user=membership.user,
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Konselor ditambahkan ke kasus."))
    else:
        messages.error(request, _("Pilih konselor dan perannya."))
    return redirect("cases:case_detail", code=case.code)


@login_required
@require_POST
def case_member_remove(request: HttpRequest, code: str, member: str) -> HttpResponse:
    case, role = access.access_case_with_role(request.user, code, write=True)
    if role != access.OWNER:
        raise PermissionDenied
    target = CaseMember.objects.filter(case=case, code=member).first()
    if target is None:
        raise Http404
    services.case_member_remove(actor=_user(request), member=target)
    messages.success(request, _("Konselor dilepas dari kasus."))
    return redirect("cases:case_detail", code=case.code)


# --- records -------------------------------------------------------------------------


@login_required
def record_add(request: HttpRequest, code: str) -> HttpResponse:
    case = access.access_case(request.user, code, write=True)
    form = RecordForm(
        request.POST or None,
        request.FILES or None,
        initial={"occurred_on": selectors.local_today(case.organisation)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_add(
                actor=_user(request),
                case=case,
                occurred_on=data["occurred_on"],
                source=data["source"],
                content=data["content"],
                may_bring_to_kka=data["may_bring_to_kka"],
                files=_uploads(data["attachments"]),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Catatan ditambahkan."))
            return redirect("cases:case_detail", code=case.code)
    return render(request, "cases/record_form.html", {"form": form, "case": case})


@login_required
def record_edit(request: HttpRequest, code: str, record: str) -> HttpResponse:
    case, role = access.access_case_with_role(request.user, code, write=request.method == "POST")
    target = access.access_record(request.user, case, record, write=request.method == "POST")
    writable = role in access.WRITER_ROLES
    form = RecordForm(
        request.POST or None,
        initial={
            "occurred_on": target.occurred_on,
            "source": target.source,
            "content": target.content,
            "may_bring_to_kka": target.may_bring_to_kka,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.record_update(
            actor=_user(request),
            record=target,
            occurred_on=data["occurred_on"],
            source=data["source"],
            content=data["content"],
            may_bring_to_kka=data["may_bring_to_kka"],
        )
        for name, data_bytes in _uploads(data["attachments"]):
            try:
                services.attachment_add(
                    actor=_user(request), record=target, filename=name, data=data_bytes
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
        messages.success(request, _("Catatan diperbarui."))
        return redirect("cases:case_detail", code=case.code)
    if request.method != "POST":
        services.audit_read(
            actor=_user(request),
            action="record.viewed",
            obj=target,
            organisation_id=case.organisation_id,
            case=case.code,
        )
    return render(
        request,
        "cases/record_form.html",
        {
            "form": form,
            "case": case,
            "record": target,
            "writable": writable,
            "attachments": target.attachments.all(),
        },
    )


@login_required
def attachment_download(request: HttpRequest, code: str, attachment: str) -> HttpResponse:
    case = access.access_case(request.user, code)
    target = access.access_attachment(request.user, case, attachment)
    services.attachment_downloaded(
        actor=_user(request), attachment=target, organisation_id=case.organisation_id
    )
    return file_response(
        private_files.read(target.stored_name),
        f"lampiran-{target.code}{private_files.ALLOWED_TYPES[target.content_type]}",
        target.content_type,
    )


# --- problem map ---------------------------------------------------------------------


@login_required
@require_POST
def map_core(request: HttpRequest, code: str) -> HttpResponse:
    case = access.access_case(request.user, code, write=True)
    form = CoreProblemForm(request.POST)
    if form.is_valid():
        services.problem_map_set_core(
            actor=_user(request), case=case, core_problem=form.cleaned_data["core_problem"]
        )
        messages.success(request, _("Masalah inti disimpan."))
    else:
        messages.error(request, _("Masalah inti wajib diisi."))
    return redirect(f"{case_url(case)}#peta")


@login_required
@require_POST
def aspect_add(request: HttpRequest, code: str) -> HttpResponse:
    case = access.access_case(request.user, code, write=True)
    record_choices = [(r.code, r.code) for r in case.records.all()]
    form = AspectForm(request.POST, record_choices=record_choices)
    if form.is_valid():
        records = CaseRecord.objects.filter(case=case, code__in=form.cleaned_data["records"])
        try:
            services.aspect_add(
                actor=_user(request),
                case=case,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                records=records,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Aspek ditambahkan."))
    else:
        messages.error(request, _("Uraian aspek wajib diisi."))
    return redirect(f"{case_url(case)}#peta")


@login_required
@require_POST
def aspect_remove(request: HttpRequest, code: str, aspect: str) -> HttpResponse:
    case = access.access_case(request.user, code, write=True)
    target = access.access_aspect(request.user, case, aspect, write=True)
    services.aspect_remove(actor=_user(request), aspect=target)
    messages.success(request, _("Aspek dihapus."))
    return redirect(f"{case_url(case)}#peta")


@login_required
@require_POST
def resource_add(request: HttpRequest, code: str) -> HttpResponse:
    case = access.access_case(request.user, code, write=True)
    aspects = ProblemAspect.objects.filter(problem_map__case=case)
    form = ResourceForm(request.POST, aspect_choices=[(a.code, a.code) for a in aspects])
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.resource_add(
                actor=_user(request),
                case=case,
                name=data["name"],
                role=data["role"],
                category=data["category"],
                contribution=data["contribution"],
                aspects=aspects.filter(code__in=data["aspects"]),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Sumber bantuan ditambahkan."))
    else:
        messages.error(request, _("Nama, peran dan kategori sumber bantuan wajib diisi."))
    return redirect(f"{case_url(case)}#peta")


@login_required
@require_POST
def resource_remove(request: HttpRequest, code: str, resource: str) -> HttpResponse:
    case = access.access_case(request.user, code, write=True)
    target: ProblemResource = access.access_resource(request.user, case, resource, write=True)
    services.resource_remove(actor=_user(request), resource=target)
    messages.success(request, _("Sumber bantuan dihapus."))
    return redirect(f"{case_url(case)}#peta")
