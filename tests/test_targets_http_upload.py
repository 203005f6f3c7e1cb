"""The "http" upload target against a real HTTP server on 127.0.0.1 that records requests.

Timings are only ever bounded generously: they show that a wait or a timeout happened.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

import plugins.targets.http_upload as http_upload
from core import SettingsError
from core.models import FileDelivery, FileDeliveryStatus
from core.uploads import Upload, UploadError, UploadUnclear, deliver
from core.validation import problem_text
from plugins.targets import TRANSLATIONS
from plugins.targets.http_upload import HttpUpload
from webapp.i18n import render_stored

from upload_servers import RecordingHttpServer


@pytest.fixture
def server():
    server = RecordingHttpServer()
    yield server
    server.close()


@pytest.fixture
def payload(tmp_path) -> Upload:
    path = tmp_path / "extraction.csv"
    path.write_bytes(os.urandom(150_000))
    return Upload.of(path, "Kampagne-1-20261124.csv", "run-7/group:")


def target(server, **settings) -> HttpUpload:
    return HttpUpload({"url": server.url(), "timeout": 5} | settings)


def test_a_put_carries_the_file_its_checksum_and_the_delivery_key(server, payload):
    location = target(server, auth="bearer", secret="t0ken").upload(payload)

    (request,) = server.requests
    assert (request.method, request.path) == ("PUT", "/inbox/Kampagne-1-20261124.csv")
    assert request.body == payload.path.read_bytes()
    assert request.headers["Content-Length"] == str(payload.size)
    assert request.headers["X-Checksum-SHA256"] == hashlib.sha256(request.body).hexdigest()
    assert request.headers["Idempotency-Key"] == "run-7/group:"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.headers["Content-Type"] == "text/csv"
    assert location == server.url("/inbox/Kampagne-1-20261124.csv")


def test_a_post_with_basic_auth_and_placeholders_in_the_url(server, payload):
    url = server.url("/upload?name={file}&sha={sha256}&size={size}")
    target(server, url=url, method="POST", auth="basic", username="ada", secret="pw").upload(
        payload
    )

    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == (
        f"/upload?name=Kampagne-1-20261124.csv&sha={payload.sha256}&size={payload.size}"
    )
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"ada:pw").decode()


def test_a_server_error_is_transient_and_a_refusal_is_not(server, payload):
    server.answer(("status", 503, {"Retry-After": "7"}), ("status", 403))

    with pytest.raises(UploadError, match="the server answered 503: scripted failure") as first:
        target(server).upload(payload)
    assert (first.value.transient, first.value.retry_after) == (True, 7.0)

    with pytest.raises(UploadError, match="the server answered 403") as second:
        target(server).upload(payload)
    assert not second.value.transient
    assert server.files == {}


def test_a_slow_answer_within_the_timeout_counts(server, payload):
    server.answer(("slow", 0.5))
    target(server, timeout=10).upload(payload)
    assert list(server.files) == ["/inbox/Kampagne-1-20261124.csv"]


def test_an_answer_later_than_the_timeout_never_counts_as_delivered(server, payload):
    server.answer(("slow", 3), ("slow", 3), ("slow", 3))

    with pytest.raises(UploadError, match=r"no progress within 0\.5 s while waiting") as put:
        target(server, timeout=0.5).upload(payload)
    assert put.value.transient  # putting the same bytes again is harmless

    with pytest.raises(UploadUnclear, match="the server may have taken the file"):
        target(server, timeout=0.5, method="POST").upload(payload)

    with pytest.raises(UploadError) as deduplicated:
        target(server, timeout=0.5, method="POST", retry_unclear=True).upload(payload)
    assert deduplicated.value.transient and not isinstance(deduplicated.value, UploadUnclear)


def test_a_body_cut_off_midway_is_not_delivered(server, payload):
    server.answer(("cut", 10_000))

    with pytest.raises(UploadError) as caught:
        target(server).upload(payload)

    assert caught.value.transient
    assert [request.complete for request in server.requests] == [False]
    assert server.files == {}


def test_no_server_is_a_transient_error(payload):
    stopped = RecordingHttpServer()
    url = stopped.url()
    stopped.close()
    with pytest.raises(UploadError, match="the connection was refused") as caught:
        HttpUpload({"url": url}).upload(payload)
    assert caught.value.transient


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"url": "ftp://example.org/{file}"}, "needs an http:// or https:// URL with a host"),
        ({"url": "https://example.org/{name}"}, "unknown placeholder name"),
        ({"auth": "basic", "secret": "x"}, "basic auth needs a username"),
        ({"auth": "bearer"}, "bearer auth needs a secret or secret_env"),
        ({"method": "PATCH"}, "method: Input should be 'PUT' or 'POST'"),
    ],
)
def test_bad_settings_name_the_problem(settings, problem):
    with pytest.raises(SettingsError, match="invalid settings for upload_target 'http'") as caught:
        HttpUpload({"url": "https://example.org/{file}"} | settings)
    assert problem in str(caught.value)


def test_a_refused_url_is_said_in_the_readers_language_in_the_form_of_its_count():
    catalogs = {HttpUpload.__module__: [TRANSLATIONS]}
    with pytest.raises(SettingsError) as caught:
        HttpUpload({"url": "https://example.org/{name}"})
    ((field, message),) = caught.value.problems
    text = problem_text(field, message, HttpUpload.__module__)
    assert render_stored(text, "de", catalogs) == (
        "url: unbekannter Platzhalter name; verfügbar sind: file, sha256, size, reference"
    )
    assert render_stored(text, "en", catalogs) == (
        "url: unknown placeholder name; available: file, sha256, size, reference"
    )
    with pytest.raises(SettingsError) as caught:
        HttpUpload({"url": "https://example.org/{name}/{day}"})
    ((field, message),) = caught.value.problems
    text = problem_text(field, message, HttpUpload.__module__)
    assert render_stored(text, "de", catalogs) == (
        "url: 2 unbekannte Platzhalter: day, name; verfügbar sind: file, sha256, size, reference"
    )
    assert render_stored(text, "en", catalogs) == (
        "url: 2 unknown placeholders: day, name; available: file, sha256, size, reference"
    )


@pytest.fixture
def runtime(runtime_factory):
    return runtime_factory(("plugins.targets.http_upload", http_upload))


def test_deliver_retries_a_failing_server_until_it_takes_the_file(runtime, server, payload):
    server.answer(("status", 500), ("status", 502))
    settings = {"url": server.url(), "backoff": 0.05, "retries": 3}

    delivered = deliver(
        runtime,
        key="run-7/group:",
        target="http",
        settings=settings,
        path=payload.path,
        remote_name=payload.remote_name,
        manifest={"rows": 12},
    )

    assert [request.path for request in server.requests] == [
        "/inbox/Kampagne-1-20261124.csv",
        "/inbox/Kampagne-1-20261124.csv",
        "/inbox/Kampagne-1-20261124.csv",
        "/inbox/Kampagne-1-20261124.csv.manifest.json",
    ]
    assert server.files["/inbox/Kampagne-1-20261124.csv"] == payload.path.read_bytes()
    assert delivered.attempts == 4
    with runtime.database.session() as session:
        record = session.get(FileDelivery, delivered.id)
        assert (record.status, record.attempts) == (FileDeliveryStatus.DONE, 4)


def test_deliver_names_the_target_when_the_server_keeps_failing(runtime, server, payload):
    server.answer(*[("status", 500)] * 3)
    settings = {"url": server.url(), "backoff": 0.01, "retries": 2}

    with pytest.raises(UploadError) as caught:
        deliver(
            runtime,
            key="run-7/group:",
            target="http",
            settings=settings,
            path=payload.path,
            remote_name=payload.remote_name,
        )

    assert str(caught.value) == (
        f"http (PUT http://127.0.0.1:{server.server.server_address[1]}/inbox/{{file}}): "
        "Kampagne-1-20261124.csv; the server answered 500: scripted failure; "
        "after 3 attempts"
    )
    assert len(server.requests) == 3 and server.files == {}
