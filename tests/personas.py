"""Persona builders: small keyword-default functions, used by every test module."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from kka.accounts.models import Membership, Organisation, Role, Setting, User

PASSWORD = "Kata-sandi-uji-yang-panjang-42"
_counter = itertools.count(1)


def make_organisation(
    *,
    name: str | None = None,
    setting: str = Setting.SEKOLAH,
    time_zone: str = "Asia/Jakarta",
    **fields: object,
) -> Organisation:
    n = next(_counter)
    return Organisation.objects.create(
        name=name or f"Lembaga Uji {n}", setting=setting, time_zone=time_zone, **fields
    )


def make_user(
    *,
    organisation: Organisation | None = None,
    role: str = Role.KONSELOR,
    email: str | None = None,
    full_name: str | None = None,
    password: str = PASSWORD,
    language: str = "id",
) -> User:
    n = next(_counter)
    user = User.objects.create_user(
        email=email or f"pengguna{n}@uji.test",
        password=password,
        full_name=full_name or f"Pengguna Uji {n}",
        language=language,
    )
    if organisation is not None:
        Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


@dataclass
class World:
    """One organisation with every role, plus an outsider from another organisation."""

    org: Organisation
    other_org: Organisation
    counsellor: User
    other_counsellor: User
    coordinator: User
    head: User
    admin: User
    dpo: User
    outsider: User  # a counsellor of another organisation

    def personas(self) -> dict[str, User]:
        return {
            "counsellor": self.counsellor,
            "other_counsellor": self.other_counsellor,
            "coordinator": self.coordinator,
            "head": self.head,
            "admin": self.admin,
            "dpo": self.dpo,
            "outsider": self.outsider,
        }


def make_world() -> World:
    org = make_organisation(name="SMP Uji Kerahasiaan")
    other_org = make_organisation(
        name="PT Lain", setting=Setting.PERUSAHAAN, time_zone="Asia/Makassar"
    )
    return World(
        org=org,
        other_org=other_org,
        counsellor=make_user(organisation=org, role=Role.KONSELOR, full_name="Konselor Satu"),
        other_counsellor=make_user(organisation=org, role=Role.KONSELOR, full_name="Konselor Dua"),
        coordinator=make_user(organisation=org, role=Role.KOORDINATOR),
        head=make_user(organisation=org, role=Role.PIMPINAN),
        admin=make_user(organisation=org, role=Role.ADMIN),
        dpo=make_user(organisation=org, role=Role.DPO),
        outsider=make_user(organisation=other_org, role=Role.KONSELOR),
    )
