"""Client import screens: upload a spreadsheet, check the preview, confirm."""

from __future__ import annotations

from typing import IO, Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from kka.accounts import policy
from kka.accounts.decorators import organisation_capability
from kka.cases import imports
from kka.cases.models import ImportBatch

# The file plus the multipart envelope and the CSRF field.
MAX_REQUEST_BYTES = imports.MAX_BYTES + 256 * 1024


class _InMemoryUploadHandler(MemoryFileUploadHandler):
    """Keep the upload in memory: a plaintext client list is never written to disk."""

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        self.activated = content_length <= MAX_REQUEST_BYTES


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Berkas XLSX atau CSV"),
        widget=forms.FileInput(attrs={"accept": ".xlsx,.csv"}),
        help_text=gettext_lazy("Maksimal 5 MB dan 5.000 baris."),
    )


def _too_large(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_REQUEST_BYTES
    except ValueError:
        return True


@csrf_exempt
@organisation_capability(policy.may_counsel)
def client_import(request: HttpRequest) -> HttpResponse:
    # Upload handlers can only be replaced before the CSRF check reads the body, hence
    # csrf_exempt here and csrf_protect on the inner view (as Django's docs advise).
    request.upload_handlers = [_InMemoryUploadHandler(request)]
    return _client_import(request)


@csrf_protect
def _client_import(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm()
    error = ""
    if request.method == "POST":
        if _too_large(request):  # refused without reading the body
            error = _("Berkas terlalu besar. Ukuran maksimal 5 MB.")
        else:
            form = ImportUploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    batch = imports.import_prepare(
                        actor=request.user,  # type: ignore[arg-type]
                        organisation=request.organisation,  # type: ignore[attr-defined]
                        filename=upload.name or "",
                        data=upload.read(),
                    )
                except ValidationError as exc:
                    form.add_error("file", exc)
                else:
                    return redirect("cases:client_import_preview", code=batch.code)
    context: dict[str, Any] = {
        "form": form,
        "error": error,
        "columns": imports.column_help(),
        "example_header": imports.EXAMPLE_HEADER,
    }
    return render(request, "cases/import_upload.html", context)


@organisation_capability(policy.may_counsel)
def client_import_preview(request: HttpRequest, code: str) -> HttpResponse:
    batch = (
        ImportBatch.objects.select_related("organisation")
        .filter(
            code=code,
            organisation=request.organisation,  # type: ignore[attr-defined]
            created_by_id=request.user.pk,
        )
        .first()
    )
    if batch is None:
        raise Http404
    if batch.confirmed_at is not None:
        messages.warning(request, imports.already_confirmed_message())
        return redirect("cases:client_list")
    if request.method == "POST":
        try:
            result = imports.import_confirm(actor=request.user, batch=batch)  # type: ignore[arg-type]
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("cases:client_import_preview", code=batch.code)
        messages.success(
            request,
            _("%(n)s konseli baru ditambahkan, %(m)s sudah terdaftar.")
            % {"n": result.created, "m": result.skipped},
        )
        return redirect("cases:client_list")
    try:
        rows = imports.batch_rows(batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("cases:client_import")
    context = {
        "batch": batch,
        "rows": rows,
        "counts": imports.count_statuses(rows),
    }
    return render(request, "cases/import_preview.html", context)
