"""The app factory's request limit: a request larger than ``CAMPAIGN_MAX_UPLOAD`` is answered
with 413 and a clear message before its body is read, whether the client announced its size
or streams it in chunks; scripts get the message as JSON. The reverse proxies the panel
trusts come from ``CAMPAIGN_TRUSTED_PROXIES``. An id in an address too large for any row is
a page not found."""

from __future__ import annotations

import dataclasses

import pytest

from core.models import Role

from panel_helpers import body, build_panel, client_for

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
    assert client.get("/campaigns/2147483647").status_code == 404
