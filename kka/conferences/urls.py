from django.urls import path

from kka.conferences import views, views_followup, views_meeting, views_report

app_name = "conferences"

urlpatterns = [
    path("kasus/<str:code>/kka/baru/", views.conference_create, name="create"),
    path("kka/<str:code>/", views.conference_detail, name="detail"),
    path("kka/<str:code>/rencana/", views.plan_edit, name="plan"),
    path("kka/<str:code>/status/", views.conference_status, name="status"),
    path("kka/<str:code>/peserta/", views.participant_add, name="participant_add"),
    path(
        "kka/<str:code>/peserta/<str:participant>/", views.participant_edit, name="participant_edit"
    ),
    path(
        "kka/<str:code>/peserta/<str:participant>/hapus/",
        views.participant_remove,
        name="participant_remove",
    ),
    path(
        "kka/<str:code>/peserta/<str:participant>/undang/",
        views.invitation_send,
        name="invitation_send",
    ),
    path(
        "kka/<str:code>/peserta/<str:participant>/cabut-tautan/",
        views.links_revoke,
        name="links_revoke",
    ),
    path("kka/<str:code>/minta-persetujuan/", views.approval_request, name="approval_request"),
    path("kka/<str:code>/tinjau/", views.approval_review, name="approval_review"),
    path("kka/<str:code>/pertemuan/", views_meeting.meeting_page, name="meeting"),
    path("kka/<str:code>/notulen/", views_meeting.minutes_save, name="minutes_save"),
    path("kka/<str:code>/notulen/final/", views_meeting.minutes_finalise, name="minutes_finalise"),
    path(
        "kka/<str:code>/notulen/adendum/", views_meeting.minutes_addendum, name="minutes_addendum"
    ),
    path(
        "kka/<str:code>/hadir/<str:participant>/", views_meeting.attendance_set, name="attendance"
    ),
    path(
        "kka/<str:code>/kerahasiaan/<str:participant>/",
        views_meeting.pledge_on_device,
        name="pledge_on_device",
    ),
    path("kka/<str:code>/komitmen/", views_meeting.commitment_add, name="commitment_add"),
    path(
        "kka/<str:code>/komitmen/<str:commitment>/status/",
        views_meeting.commitment_status,
        name="commitment_status",
    ),
    path("kka/<str:code>/laiseg/<str:participant>/", views_meeting.laiseg, name="laiseg"),
    path(
        "kka/<str:code>/evaluasi-proses/",
        views_meeting.process_evaluation,
        name="process_evaluation",
    ),
    path("kka/<str:code>/tutup/", views_meeting.conference_close, name="close"),
    path("kka/<str:code>/laporan/", views_report.report_page, name="report"),
    path(
        "kka/<str:code>/penilaian/<str:evaluation>/",
        views_followup.later_evaluation,
        name="later_evaluation",
    ),
    path("kka/<str:code>/kka-berikutnya/", views_followup.next_kka, name="next_kka"),
    path("kasus/<str:code>/tindak-lanjut/", views_followup.followup_add, name="followup_add"),
    path(
        "tindak-lanjut/<str:code>/status/", views_followup.followup_status, name="followup_status"
    ),
]
