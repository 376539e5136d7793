from django.urls import path

from kka.portal import views

app_name = "portal"

urlpatterns = [
    path("undangan/", views.portal_enter, name="home"),
    path("undangan/kehadiran/", views.portal_rsvp, name="rsvp"),
    path("undangan/kerahasiaan/", views.portal_pledge, name="pledge"),
    path("undangan/keluar/", views.portal_leave, name="leave"),
    path("undangan/komitmen/<str:code>/", views.portal_progress, name="progress"),
    path("undangan/notulen/setuju/", views.portal_minutes_agree, name="minutes_agree"),
    path("undangan/notulen/komentar/", views.portal_minutes_comment, name="minutes_comment"),
    path("undangan/penilaian/", views.portal_laiseg, name="laiseg"),
]
