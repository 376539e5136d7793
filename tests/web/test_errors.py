"""Error pages are generic: no stack trace, settings, URL list or exception text."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.personas import World
from tests.web.urls_boom import BOOM_MESSAGE

# What Django's debug pages and tracebacks would show; none of it may reach a browser.
LEAKS = (
    "Traceback",
    "traceback",
    "Using the URLconf",
    "kka.urls",
    "urlpatterns",
    "healthz",
    "readyz",
    "SECRET_KEY",
    "DATABASES",
    "DJANGO_SETTINGS_MODULE",
    "settings.py",
    "site-packages",
    "Exception Value",
    "RuntimeError",
    "Http404",
    "Resolver404",
)


def assert_no_leaks(html: str) -> None:
    for leak in LEAKS:
        assert leak not in html, leak


@pytest.mark.django_db
def test_unknown_url_gets_the_generic_indonesian_404_page(client: Client) -> None:
    response = client.get("/tidak-ada-di-sini/")

    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="id">' in html
    assert "Halaman tidak ditemukan" in html
    assert_no_leaks(html)


@pytest.mark.django_db
def test_404_page_echoes_no_path_beyond_what_was_typed(client: Client) -> None:
    response = client.get("/akun/tidak-ada-di-sini/")

    html = response.content.decode()
    assert response.status_code == 404
    # The typed path appears at most once: in the language switcher's "next" field.
    assert html.count("tidak-ada-di-sini") <= 1
    assert 'value="/akun/tidak-ada-di-sini/"' in html or "tidak-ada-di-sini" not in html
    assert_no_leaks(html)


@pytest.mark.django_db
def test_404_page_escapes_what_was_typed(client: Client) -> None:
    response = client.get('/"><script>alert(1)</script>/')

    assert response.status_code == 404
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert '"><script' not in html


@pytest.mark.django_db
def test_logged_in_user_gets_the_same_generic_404_page(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.get("/tidak-ada-di-sini/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "Halaman tidak ditemukan" in html
    assert_no_leaks(html)


@pytest.mark.django_db
def test_404_raised_by_a_view_gets_the_same_page(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.get("/akun/lembaga/anggota/")  # a counsellor may not manage members

    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.content.decode()
    assert_no_leaks(response.content.decode())


@pytest.mark.django_db
def test_unknown_host_gets_the_generic_400_page(client: Client) -> None:
    response = client.get("/akun/masuk/", headers={"host": "penipu.example"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Permintaan tidak valid" in html
    assert "penipu.example" not in html
    assert_no_leaks(html)


@pytest.mark.django_db
@pytest.mark.urls("tests.web.urls_boom")
def test_failing_view_gets_the_generic_500_page(client: Client) -> None:
    client.raise_request_exception = False

    response = client.get("/uji/meledak/")

    assert response.status_code == 500
    html = response.content.decode()
    assert '<html lang="id">' in html
    assert "Terjadi kesalahan" in html
    assert BOOM_MESSAGE not in html
    assert_no_leaks(html)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
@pytest.mark.urls("tests.web.urls_boom")
def test_failing_view_for_a_logged_in_user_gets_the_generic_500_page(
    client: Client, world: World
) -> None:
    client.force_login(world.counsellor)
    client.raise_request_exception = False

    response = client.get("/uji/meledak/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Terjadi kesalahan" in html
    assert BOOM_MESSAGE not in html
    assert_no_leaks(html)


@pytest.mark.django_db
@pytest.mark.urls("tests.web.urls_boom")
def test_project_urls_still_work_beside_the_failing_view(client: Client) -> None:
    assert client.get("/akun/masuk/").status_code == 200
    assert client.get("/tidak-ada/").status_code == 404
    assert "Halaman tidak ditemukan" in client.get("/tidak-ada/").content.decode()


# What a database error or a file path would show.
INTERNALS = ("SELECT ", "INSERT ", "sqlite", "psycopg", "OperationalError", 'File "', '.py"')


def assert_no_internals(html: str) -> None:
    from django.conf import settings

    assert_no_leaks(html)
    for leak in (*INTERNALS, str(settings.BASE_DIR)):
        assert leak not in html, leak


@pytest.mark.django_db
def test_403_from_a_refused_write_is_the_generic_page(client: Client, world: World) -> None:
    from kka.cases import services as case_services
    from kka.cases.models import CaseRole
    from tests.personas import make_user

    client_record = case_services.client_create(
        actor=world.counsellor, organisation=world.org, full_name="Ani", birth_date="2012-01-01"
    )
    case = case_services.case_open(
        actor=world.counsellor,
        client=client_record,
        bidang="sosial",
        title="Judul-rahasia-kasus",
        intake_source="guru",
    )
    supervisor = make_user(organisation=world.org)
    case_services.case_member_add(
        actor=world.counsellor, case=case, user=supervisor, role=CaseRole.SUPERVISOR
    )
    client.force_login(supervisor)

    response = client.get(f"/kasus/{case.code}/ubah/")

    assert response.status_code == 403
    html = response.content.decode()
    assert "Tindakan tidak diizinkan" in html
    assert "Judul-rahasia-kasus" not in html
    assert_no_internals(html)


@pytest.mark.django_db
def test_csrf_failure_is_the_generic_page_without_the_reason(world: World) -> None:
    http = Client(enforce_csrf_checks=True)
    http.force_login(world.counsellor)

    response = http.post("/akun/masuk/", {"username": "x", "password": "y"})

    assert response.status_code == 403
    html = response.content.decode()
    assert "Formulir sudah tidak berlaku" in html
    for detail in ("CSRF", "Referer", "Origin checking", "cookie not set", "token missing"):
        assert detail not in html, detail
    assert_no_internals(html)


@pytest.mark.django_db
@pytest.mark.urls("tests.web.urls_boom")
def test_500_page_shows_no_sql_or_path(client: Client) -> None:
    client.raise_request_exception = False

    html = client.get("/uji/meledak/").content.decode()

    assert_no_internals(html)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/kasus/%00/", "/laporan/kelompok/%00/", "/kka/AB%00CD/"])
def test_a_nul_in_the_path_is_a_404_not_a_database_error(
    client: Client, world: World, path: str
) -> None:
    # PostgreSQL refuses NUL in text: without the guard these ended in a 500 there.
    client.force_login(world.counsellor)
    response = client.get(path)

    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.content.decode()
