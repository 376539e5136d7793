from django.contrib.auth import views as auth_views
from django.urls import path

from kka.accounts import views, views_sessions, views_two_factor

app_name = "accounts"

urlpatterns = [
    path("masuk/", views.LoginView.as_view(), name="login"),
    path("keluar/", auth_views.LogoutView.as_view(), name="logout"),
    path("kata-sandi/ubah/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "kata-sandi/ubah/selesai/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path("kata-sandi/lupa/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "kata-sandi/lupa/terkirim/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "kata-sandi/atur/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "kata-sandi/atur/selesai/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("verifikasi/", views_two_factor.otp_verify, name="otp_verify"),
    path("2fa/daftar/", views_two_factor.otp_enrol, name="otp_enrol"),
    path("2fa/", views_two_factor.otp_manage, name="otp_manage"),
    path("bahasa/", views.set_language, name="set_language"),
    path("lembaga/pilih/", views.switch_organisation, name="switch_organisation"),
    path("lembaga/anggota/", views.member_list, name="member_list"),
    path("lembaga/anggota/tambah/", views.member_add, name="member_add"),
    path("lembaga/anggota/<str:code>/", views.member_edit, name="member_edit"),
    path("lembaga/anggota/<str:code>/status/", views.member_set_active, name="member_set_active"),
    path("lembaga/pengaturan/", views.organisation_settings, name="organisation_settings"),
    path("lembaga/pengaturan/logo/", views.organisation_logo, name="organisation_logo"),
    path("sesi/", views_sessions.session_list, name="sessions"),
    path("sesi/akhiri-semua/", views_sessions.sessions_end_all, name="sessions_end_all"),
    path("sesi/<str:code>/akhiri/", views_sessions.session_end, name="session_end"),
]
