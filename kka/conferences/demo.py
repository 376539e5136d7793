"""Demo cases for ``kka demo``: a realistic case file and a planned KKA per organisation.

Everything goes through the services, so encryption, the timeline and the audit
chain are exactly as in real use. No mail is sent (nothing is invited).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from kka.accounts.models import Organisation, User
from kka.cases import services as case_services
from kka.conferences import services


def _next_weekday_at(organisation: Organisation, days: int, hour: int) -> dt.datetime:
    zone = zoneinfo.ZoneInfo(organisation.time_zone)
    day = timezone.now().astimezone(zone).date() + dt.timedelta(days=days)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=zone)


def build_school(organisation: Organisation, counsellor: User) -> None:
    today = timezone.now().date()
    client = case_services.client_create(
        actor=counsellor,
        organisation=organisation,
        full_name="Dimas Anggara Putra",
        sex="L",
        birth_date=today.replace(year=today.year - 14, day=1).isoformat(),
        nisn="0112233445",
        group="VIII B",
        guardians=[{"full_name": "Siti Rahmawati", "relationship": "ibu", "phone": "081234567890"}],
    )
    case = case_services.case_open(
        actor=counsellor,
        client=client,
        bidang="belajar",
        title="Penurunan prestasi belajar",
        intake_source="guru",
        description="Nilai turun sejak awal semester; sering terlambat dan tampak mengantuk.",
    )
    report = case_services.record_add(
        actor=counsellor,
        case=case,
        occurred_on=today - dt.timedelta(days=10),
        source="laporan_guru",
        content="Wali kelas: tugas sering tidak dikumpulkan, tiga kali terlambat minggu ini.",
        may_bring_to_kka=True,
    )
    interview = case_services.record_add(
        actor=counsellor,
        case=case,
        occurred_on=today - dt.timedelta(days=7),
        source="wawancara",
        content="Konseli membantu orang tua berjualan hingga larut malam.",
        may_bring_to_kka=True,
    )
    case_services.problem_map_set_core(
        actor=counsellor, case=case, core_problem="Prestasi belajar menurun"
    )
    case_services.aspect_add(
        actor=counsellor,
        case=case,
        kind="gejala",
        text="Tugas tidak dikumpulkan",
        records=[report],
    )
    cause = case_services.aspect_add(
        actor=counsellor,
        case=case,
        kind="penyebab",
        text="Kurang tidur karena bekerja malam",
        records=[interview],
    )
    for name, role, category, contribution in [
        ("Ratna Dewi, S.Pd.", "Wali kelas", "staf_lembaga", "Memantau tugas dan kehadiran"),
        ("Siti Rahmawati", "Ibu", "keluarga", "Mengatur jam kerja anak di rumah"),
        ("Puskesmas Sukamaju", "Psikolog puskesmas", "profesional", "Asesmen lanjutan"),
    ]:
        case_services.resource_add(
            actor=counsellor,
            case=case,
            name=name,
            role=role,
            category=category,
            contribution=contribution,
            aspects=[cause],
        )
    case_services.consent_record(
        actor=counsellor,
        client=client,
        giver="orang_tua",
        giver_name="Siti Rahmawati",
        giver_relationship="ibu kandung",
        channel="lisan",
        purposes=["purpose_hold_kka", "share_school_staff", "share_family", "purpose_documents"],
    )
    conference = services.conference_create(actor=counsellor, case=case)
    services.conference_update_plan(
        actor=counsellor,
        conference=conference,
        place="Ruang BK",
        starts_at=_next_weekday_at(organisation, 7, 9),
        ends_at=_next_weekday_at(organisation, 7, 10),
        briefing="Kita akan membicarakan cara membantu seorang siswa mengatur waktu belajar "
        "dan istirahatnya. Mohon bawa catatan kehadiran dan tugas bila ada.",
        records=[report, interview],
    )
    for resource in case.problem_map.resources.all()[:2]:
        services.participant_add(
            actor=counsellor, conference=conference, resource=resource, disclosure="briefing"
        )
    services.conference_set_status(actor=counsellor, conference=conference, status="planned")

    other = case_services.client_create(
        actor=counsellor,
        organisation=organisation,
        full_name="Nabila Putri Lestari",
        sex="P",
        birth_date=today.replace(year=today.year - 13, day=1).isoformat(),
        group="VII A",
    )
    case_services.case_open(
        actor=counsellor,
        client=other,
        bidang="sosial",
        title="Relasi dengan teman sebaya",
        intake_source="sendiri",
    )


def build_company(organisation: Organisation, counsellor: User) -> None:
    client = case_services.client_create(
        actor=counsellor,
        organisation=organisation,
        full_name="Rahmat Hidayat",
        sex="L",
        birth_date="1994-03-12",
        employee_number="NSL-2231",
        group="Gudang",
    )
    case = case_services.case_open(
        actor=counsellor,
        client=client,
        bidang="karir",
        title="Konflik dengan rekan kerja",
        intake_source="atasan",
        description="Atasan melaporkan pertengkaran berulang di gudang.",
    )
    case_services.consent_record(
        actor=counsellor,
        client=client,
        giver="konseli",
        giver_name="Rahmat Hidayat",
        channel="lisan",
        purposes=["purpose_hold_kka", "share_employer", "share_school_staff"],
    )
    services.conference_create(actor=counsellor, case=case)
