"""Pages of an organisation's own DOCX templates: list and upload, fields per kind,
a sample template, download and deactivation. For the org admin and the coordinator."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kka.accounts.decorators import organisation_capability
from kka.accounts.models import Membership, Role
from kka.documents import custom, registry
from kka.documents.models import DocumentTemplate
from kka.lib import private_files

DOCX_TYPE = custom.DOCX_TYPE
TEMPLATE_EDITORS = frozenset({Role.ADMIN, Role.KOORDINATOR})


def may_manage_templates(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role in TEMPLATE_EDITORS


def _kinds() -> list[registry.Kind]:
    return sorted(registry.load_all().values(), key=lambda kind: str(kind.title))


def _kind_or_404(code: str) -> registry.Kind:
    kinds = registry.load_all()
    if code not in kinds:
        raise Http404
    return kinds[code]


class TemplateUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Jenis dokumen"))
    file = forms.FileField(
        label=gettext_lazy("Berkas templat (.docx)"),
        help_text=gettext_lazy(
            "Dokumen Word dengan isian seperti {{ nama_lembaga }}. Templat lama untuk "
            "jenis yang sama tidak dipakai lagi."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".docx," + DOCX_TYPE}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["kind"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—")] + [(kind.code, str(kind.title)) for kind in _kinds()]


def _read_upload(upload: Any) -> bytes:
    if upload.size > custom.TEMPLATE_MAX_BYTES:
        raise ValidationError(custom.TemplateBroken("too_large").message)
    return bytes(upload.read())


@organisation_capability(may_manage_templates)
def template_list(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    form = TemplateUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        kind = _kind_or_404(form.cleaned_data["kind"])
        upload = form.cleaned_data["file"]
        try:
            custom.template_upload(
                actor=request.user,  # type: ignore[arg-type]
                organisation=organisation,
                kind=kind,
                original_name=upload.name,
                data=_read_upload(upload),
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            messages.success(
                request,
                _("Templat untuk %(kind)s dipakai mulai sekarang.") % {"kind": kind.title},
            )
            return redirect("documents:templates")
    active = custom.templates_by_kind(organisation)
    rows = [(kind, active.get(kind.code)) for kind in _kinds()]
    return render(request, "documents/templates_list.html", {"form": form, "rows": rows})


@organisation_capability(may_manage_templates)
@require_GET
def template_fields(request: HttpRequest, kind: str) -> HttpResponse:
    found = _kind_or_404(kind)
    organisation = request.organisation  # type: ignore[attr-defined]
    return render(
        request,
        "documents/templates_fields.html",
        {
            "kind": found,
            "fields": list(custom.field_help_items(found)),
            "active": custom.active_template(organisation, found.code),
            "max_mb": custom.TEMPLATE_MAX_BYTES // (1024 * 1024),
        },
    )


def _docx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=DOCX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@organisation_capability(may_manage_templates)
@require_GET
def template_sample(request: HttpRequest, kind: str) -> HttpResponse:
    found = _kind_or_404(kind)
    return _docx_response(custom.sample_docx(found), f"contoh-templat-{found.code}.docx")


@organisation_capability(may_manage_templates)
@require_GET
def template_download(request: HttpRequest, kind: str) -> HttpResponse:
    """The organisation's active template for ``kind`` as uploaded (to edit it)."""
    found = _kind_or_404(kind)
    template = custom.active_template(request.organisation, found.code)  # type: ignore[attr-defined]
    if template is None:
        raise Http404
    return _docx_response(private_files.read(template.stored_name), f"templat-{found.code}.docx")


@organisation_capability(may_manage_templates)
@require_POST
def template_deactivate(request: HttpRequest) -> HttpResponse:
    template = DocumentTemplate.objects.filter(
        organisation=request.organisation,  # type: ignore[attr-defined]
        kind=str(request.POST.get("kind", ""))[:40],
        active=True,
    ).first()
    if template is None:
        messages.error(request, _("Tidak ada templat aktif untuk jenis dokumen itu."))
    else:
        custom.template_deactivate(actor=request.user, template=template)  # type: ignore[arg-type]
        messages.success(request, _("Templat dinonaktifkan: KKA memakai tata letak bawaan lagi."))
    return redirect("documents:templates")
