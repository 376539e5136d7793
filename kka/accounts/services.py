"""Writes on users, organisations and memberships. Each one audits itself."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from kka.accounts.models import Membership, Organisation, Role, User
from kka.accounts.policy import role_in
from kka.accounts.sessions import user_sessions_end
from kka.audit.services import audit_log

ORGANISATION_EDITABLE_FIELDS = (
    "name",
    "setting",
    "address",
    "city",
    "phone",
    "email",
    "time_zone",
    "head_title",
    "head_name",
    "head_staff_number",
    "letter_number_pattern",
    "require_plan_approval",
    "structuring_text",
    "asas_variant",
    "evaluation_scheme",
    "letterhead_upper",
    "website",
    "paper_size",
    "plan_format",
    "report_threshold",
)


@transaction.atomic
def organisation_create(
    *, actor: User | None, name: str, setting: str, **fields: Any
) -> Organisation:
    organisation = Organisation(name=name, setting=setting, **fields)
    organisation.full_clean()
    organisation.save()
    audit_log(
        action="org.created",
        actor=actor,
        organisation=organisation,
        object_type="organisation",
        object_ref=organisation.code,
    )
    return organisation


@transaction.atomic
def organisation_update(*, actor: User, organisation: Organisation, **fields: Any) -> Organisation:
    unknown = set(fields) - set(ORGANISATION_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    changed = [name for name, value in fields.items() if getattr(organisation, name) != value]
    for name in changed:
        setattr(organisation, name, fields[name])
    organisation.full_clean()
    if changed:
        organisation.save(update_fields=changed)
        audit_log(
            action="org.updated",
            actor=actor,
            actor_role=role_in(actor, organisation.pk),
            organisation=organisation,
            object_type="organisation",
            object_ref=organisation.code,
            refs={"fields": ",".join(sorted(changed))},
        )
    return organisation


LOGO_MAX_BYTES = 1024 * 1024
LOGO_TYPES = {"image/png", "image/jpeg"}


@transaction.atomic
def organisation_set_logo(
    *, actor: User, organisation: Organisation, data: bytes | None
) -> Organisation:
    """Replace (or, with ``None``, remove) the logo printed in the kop surat.

    The image is checked by content (PNG or JPEG, at most 1 MB) and stored encrypted
    like every other uploaded file; the previous file is deleted after the commit.
    """
    from kka.lib import private_files

    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    old = organisation.logo_stored_name
    new = ""
    if data is not None:
        if len(data) > LOGO_MAX_BYTES:
            raise ValidationError(_("Logo terlalu besar (paling besar 1 MB)."))
        if private_files.sniff_content_type(data) not in LOGO_TYPES:
            raise ValidationError(_("Logo harus berupa gambar PNG atau JPEG."))
        new = private_files.store(data).stored_name
    organisation.logo_stored_name = new
    organisation.save(update_fields=["logo_stored_name"])
    audit_log(
        action="org.logo_changed",
        actor=actor,
        actor_role=role_in(actor, organisation.pk),
        organisation=organisation,
        object_type="organisation",
        object_ref=organisation.code,
        refs={"logo": "set" if new else "removed"},
    )
    if old:
        transaction.on_commit(lambda: private_files.remove(old))
    return organisation


@transaction.atomic
def member_add(
    *,
    actor: User | None,
    organisation: Organisation,
    email: str,
    full_name: str,
    role: str,
    request: HttpRequest | None = None,
    password: str | None = None,
) -> Membership:
    """Add a person to the organisation, creating their account when it is new.

    A new account has a random password nobody knows unless one is given; when a request is
    given, the person is sent a link to set their own password.
    """
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if user is None:
        user = User(email=email, full_name=full_name)
        # A random password nobody knows keeps the account usable for the
        # "set your password" link, which Django only sends to usable accounts.
        user.set_password(password or secrets.token_urlsafe(32))
        user.full_clean()
        user.save()
    if Membership.objects.filter(user=user, organisation=organisation).exists():
        raise ValidationError(_("Orang ini sudah menjadi anggota lembaga."), code="duplicate")
    membership = Membership(user=user, organisation=organisation, role=role)
    membership.full_clean()
    membership.save()
    audit_log(
        action="org.member_added",
        actor=actor,
        actor_role=role_in(actor, organisation.pk),
        organisation=organisation,
        object_type="membership",
        object_ref=membership.code,
        refs={"affected_user": user.pk, "role": role, "new_account": int(created)},
    )
    if created and request is not None and not password:
        transaction.on_commit(lambda: _send_welcome(request=request, email=email))
    return membership


def _send_welcome(*, request: HttpRequest, email: str) -> None:
    form = PasswordResetForm({"email": email})
    if form.is_valid():
        form.save(
            request=request,
            subject_template_name="accounts/emails/welcome_subject.txt",
            email_template_name="accounts/emails/welcome.txt",
            use_https=request.is_secure(),
        )


def _admins_left_after(membership: Membership, *, role: str, active: bool) -> int:
    others = Membership.objects.filter(
        organisation=membership.organisation, role=Role.ADMIN, is_active=True
    ).exclude(pk=membership.pk)
    return others.count() + (1 if role == Role.ADMIN and active else 0)


@transaction.atomic
def member_change_role(*, actor: User, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError(_("Peran tidak dikenal."), code="invalid_role")
    if membership.role == role:
        return membership
    if _admins_left_after(membership, role=role, active=membership.is_active) == 0:
        raise ValidationError(
            _("Lembaga harus tetap memiliki setidaknya satu admin."), code="last_admin"
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_log(
        action="org.member_role_changed",
        actor=actor,
        actor_role=role_in(actor, membership.organisation.pk),
        organisation=membership.organisation,
        object_type="membership",
        object_ref=membership.code,
        refs={"affected_user": membership.user_id, "from": old, "to": role},
    )
    return membership


@transaction.atomic
def member_set_active(*, actor: User, membership: Membership, active: bool) -> Membership:
    if membership.is_active == active:
        return membership
    if not active and _admins_left_after(membership, role=membership.role, active=False) == 0:
        raise ValidationError(
            _("Lembaga harus tetap memiliki setidaknya satu admin."), code="last_admin"
        )
    membership.is_active = active
    membership.save(update_fields=["is_active"])
    audit_log(
        action="org.member_reactivated" if active else "org.member_deactivated",
        actor=actor,
        actor_role=role_in(actor, membership.organisation.pk),
        organisation=membership.organisation,
        object_type="membership",
        object_ref=membership.code,
        refs={"affected_user": membership.user_id},
    )
    if not active:
        # Access ends on the next request anyway (memberships are read per request);
        # ending every session of the person makes that true on every server at once.
        user_sessions_end(actor=actor, user=membership.user, reason="deactivated")
    return membership


@transaction.atomic
def user_set_language(*, user: User, language: str) -> None:
    if user.language != language:
        user.language = language
        user.full_clean(exclude=["password"])
        user.save(update_fields=["language"])


def audit_auth_event(
    *, action: str, user: User | None, outcome: str = "success", affected: User | None = None
) -> None:
    """Login, logout and password events (called from auth signals and auth views)."""
    refs = {"affected_user": affected.pk} if affected is not None else {}
    audit_log(action=action, actor=user, outcome=outcome, refs=refs)
