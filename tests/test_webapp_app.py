"""The app factory's request limit: a request larger than ``CAMPAIGN_MAX_UPLOAD`` is answered
with 413 and a clear message before its body is read, whether the client announced its size
or streams it in chunks; scripts get the message as JSON. A form within that size but with
too many fields gets a 413 that says so. The reverse proxies the panel trusts come from
``CAMPAIGN_TRUSTED_PROXIES``. An id in an address too large for any row is a page not found,
a Host header that is no server name a bad request."""

from __future__ import annotations

import dataclasses

import pytest

from core.models import Role

from panel_helpers import body, build_panel, client_for, post

LIMIT = 1024 * 1024
CHUNK = 64 * 1024


class CountingBody:
    """A request body of ``size`` bytes made up as it is read, counting what the app reads."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def read(self, wanted: int = -1) -> bytes:
        left = self.size - self.read_bytes
        count = left if wanted is None or wanted < 0 else min(wanted, left, CHUNK)
        self.read_bytes += count
        return b"x" * count

    def readline(self, wanted: int = -1) -> bytes:
        return self.read(wanted)


@pytest.fixture
def limited(panel):
    app = build_panel(dataclasses.replace(panel.runtime.settings, max_upload=LIMIT))
    return client_for(app, Role.CAMPAIGN_MANAGER)


MULTIPART = "multipart/form-data; boundary=----grenze"


def announced(upload: CountingBody) -> dict[str, object]:
    """The WSGI environment of an upload whose size the client announces (Content-Length)."""
    return {"wsgi.input": upload, "CONTENT_TYPE": MULTIPART, "CONTENT_LENGTH": str(upload.size)}


def chunked(upload: CountingBody) -> dict[str, object]:
    """The environment of an upload sent in chunks: no Content-Length, and the server marks
    the end of the body (as Werkzeug's and other servers do for chunked requests)."""
    return {"wsgi.input": upload, "CONTENT_TYPE": MULTIPART, "wsgi.input_terminated": True}


def test_an_announced_body_over_the_limit_is_refused_before_a_byte_is_read(limited):
    upload = CountingBody(200 * LIMIT)
    response = limited.post("/contacts/import", environ_overrides=announced(upload))
    assert response.status_code == 413
    page = body(response)
    assert "Anfrage zu groß" in page
    assert "größer als die erlaubten 1,0 MB" in page
    assert upload.read_bytes == 0


def test_a_body_streamed_in_chunks_is_cut_off_at_the_limit(limited):
    upload = CountingBody(200 * LIMIT)
    response = limited.post("/campaigns/1/data/import", environ_overrides=chunked(upload))
    assert response.status_code == 413
    assert "größer als die erlaubten 1,0 MB" in body(response)
    assert upload.read_bytes <= LIMIT + CHUNK


def test_scripts_get_the_refusal_as_json(limited):
    upload = CountingBody(2 * LIMIT)
    response = limited.post(
        "/contacts/import",
        environ_overrides=announced(upload),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 413
    assert response.get_json() == {
        "error": "Anfrage zu groß",
        "message": "Die gesendeten Daten sind größer als die erlaubten 1,0 MB. Bitte teilen "
        "Sie die Datei auf oder wenden Sie sich an die Administration.",
    }
    assert upload.read_bytes == 0


def test_the_trusted_proxies_come_from_the_settings(panel):
    settings = panel.runtime.settings
    over_https = {"X-Forwarded-Proto": "https"}
    proxied = build_panel(dataclasses.replace(settings, trusted_proxies=1)).test_client()
    assert "Strict-Transport-Security" in proxied.get("/login", headers=over_https).headers
    direct = build_panel(settings).test_client()
    assert "Strict-Transport-Security" not in direct.get("/login", headers=over_https).headers


def test_an_id_too_large_for_any_row_is_a_page_not_found(panel):
    client = panel.client(Role.CAMPAIGN_MANAGER)
    for path in ("/campaigns/2147483648", "/contacts/99999999999999999999999"):
        assert client.get(path).status_code == 404, path
    assert post(client, "/campaigns/2147483648/copy").status_code == 404
    assert client.get("/campaigns/2147483647").status_code == 404


def test_a_form_with_too_many_fields_is_refused_with_a_message_that_says_so(panel):
    client = panel.client(Role.CAMPAIGN_MANAGER)
    too_many = "&".join(f"field{number}=x" for number in range(1001))
    urlencoded = client.post(
        "/campaigns/new",
        data=too_many,
        content_type="application/x-www-form-urlencoded",
        headers={"Accept": "application/json"},
    )
    assert urlencoded.status_code == 413
    assert urlencoded.get_json()["message"] == (
        "Das Formular hat mehr als 1.000 Felder oder ein Feld größer als 512,0 KB (Dateien "
        "ausgenommen). Bitte senden Sie weniger auf einmal."
    )
    parts = {f"field{number}": "x" for number in range(1001)}
    multipart = client.post("/contacts/import", data=parts, content_type="multipart/form-data")
    assert multipart.status_code == 413
    assert "mehr als 1.000 Felder" in body(multipart)
    one_large_field = client.post(
        "/contacts/import",
        data={"note": "x" * (512 * 1024 + 1)},
        content_type="multipart/form-data",
    )
    assert one_large_field.status_code == 413
    assert "ein Feld größer als 512,0 KB" in body(one_large_field)


@pytest.mark.parametrize("host", ["..", "a" * 300])
def test_a_host_header_that_is_no_server_name_gets_the_panels_400_page(panel, host):
    response = panel.app.test_client().get("/campaigns/", headers={"Host": host})
    assert response.status_code == 400
    page = body(response)
    assert "Die Kopfzeile „Host“ der Anfrage nennt keinen gültigen Server." in page
    assert 'href="/login"' in page  # the page's links work
