"""Upload target "http": the file as the body of a PUT or POST to a URL.

The body streams from disk with its exact ``Content-Length``, its SHA-256 in a header the
receiver can check (``checksum_header``) and the delivery key as idempotency key. Only an
answer with one of ``success_statuses`` counts as delivered: a refused connection, a body
cut off, a 5xx or a timeout never does. What is tried again follows from what is known:

- the request did not get out whole (refused, reset while sending): nothing arrived; retry;
- 408, 429 and 5xx: retry, after the server's Retry-After if it sends one;
- the body went out but no answer came (read timeout, dropped connection): a PUT is
  repeated, since putting the same bytes twice leaves the same file; a POST may have been
  taken, so it is reported unclear unless ``retry_unclear`` says the server deduplicates
  by the idempotency key;
- any other answer (4xx): refused; no retry.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, field_validator

from core import UploadTarget, UploadTargetParams, hookimpl
from core.http_requests import HttpCredentials, retry_after
from core.messages import ExplainedError, stored_for
from core.uploads import PLACEHOLDER, Upload, UploadError, UploadUnclear, fill_placeholders
from plugins.targets import TRANSLATIONS

PLACEHOLDERS = ("file", "sha256", "size", "reference")
SEND_BLOCK = 1 << 16
RETRIED_STATUSES = frozenset({408, 429})
stored = stored_for(__name__)


def check_placeholders(template: str, known: Sequence[str]) -> str:
    """Refuse a ``{name}`` the template's user does not fill, naming those it does."""
    unknown = set(PLACEHOLDER.findall(template)) - set(known)
    if unknown:
        raise ExplainedError(
            stored.plural(
                "unknown placeholder {names}; available: {available}",
                "{count} unknown placeholders: {names}; available: {available}",
                count=len(unknown),
                names=sorted(unknown),
                available=list(known),
            )
        )
    return template


class HttpUploadParams(UploadTargetParams, HttpCredentials):
    url: str = Field(
        description="Where the file goes, e.g. https://provider.example/inbox/{file}; "
        "placeholders: {file}, {sha256}, {size}, {reference}."
    )
    method: Literal["PUT", "POST"] = "PUT"
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    checksum_header: str = Field(
        "X-Checksum-SHA256", description="Header carrying the SHA-256 (hex); empty: none."
    )
    idempotency_header: str = Field(
        "Idempotency-Key", description="Header carrying the delivery key; empty: none."
    )
    success_statuses: list[int] = Field(default_factory=lambda: [200, 201, 202, 204], min_length=1)
    timeout: float = Field(
        60.0, gt=0, le=900, description="Seconds to connect, for each write and for the answer."
    )
    retry_unclear: bool = Field(
        False,
        description="Repeat a POST whose answer was lost; only safe when the server "
        "deduplicates by the idempotency key.",
    )

    @field_validator("url")
    @classmethod
    def _url_template(cls, url: str) -> str:
        check_placeholders(url, PLACEHOLDERS)
        parts = urlsplit(fill_placeholders(url, dict.fromkeys(PLACEHOLDERS, "x")))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("needs an http:// or https:// URL with a host")
        return url


class _NotSent(Exception):
    """The request did not get out whole: the server cannot have taken it."""


class _NoAnswer(Exception):
    """The whole request went out but no answer came back."""


class HttpUpload(UploadTarget):
    name = "http"
    title = "HTTP upload"
    description = (
        "Sends the file as the body of a PUT or POST with its SHA-256 and an idempotency "
        "key; only a success status counts as delivered."
    )
    Params = HttpUploadParams
    params: HttpUploadParams

    def where(self) -> str:
        parts = urlsplit(self.params.url)
        return f"{self.params.method} {parts.scheme}://{parts.netloc}{parts.path}"

    def upload(self, upload: Upload) -> str:
        url = self._url(upload)
        try:
            status, headers, payload = self._exchange(url, upload)
        except _NotSent as exc:
            raise UploadError(str(exc), transient=True) from None
        except _NoAnswer as exc:
            if self.params.method == "PUT" or self.params.retry_unclear:
                raise UploadError(str(exc), transient=True) from None
            raise UploadUnclear(f"{exc}; the server may have taken the file") from None
        if status in self.params.success_statuses:
            return headers.get("Location") or url
        answer = payload[:200].decode(errors="replace").strip()
        problem = f"the server answered {status}" + (f": {answer}" if answer else "")
        if status in RETRIED_STATUSES or status >= 500:
            raise UploadError(
                problem, transient=True, retry_after=retry_after(headers.get("Retry-After"))
            )
        raise UploadError(problem)

    def _url(self, upload: Upload) -> str:
        values = {
            "file": quote(upload.remote_name),
            "sha256": upload.sha256,
            "size": str(upload.size),
            "reference": quote(upload.reference, safe=""),
        }
        return fill_placeholders(self.params.url, values)

    def _headers(self, upload: Upload) -> dict[str, str]:
        headers = {"Content-Type": upload.content_type, "Content-Length": str(upload.size)}
        headers |= self.params.authorization()
        if self.params.checksum_header:
            headers[self.params.checksum_header] = upload.sha256
        if self.params.idempotency_header:
            headers[self.params.idempotency_header] = upload.reference
        return headers | self.params.headers

    def _exchange(self, url: str, upload: Upload) -> tuple[int, Any, bytes]:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=self.params.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            try:
                connection.putrequest(self.params.method, target, skip_accept_encoding=True)
                for name, value in self._headers(upload).items():
                    connection.putheader(name, value)
                connection.endheaders()
                with upload.path.open("rb") as body:
                    while block := body.read(SEND_BLOCK):
                        connection.send(block)
            except (OSError, http.client.HTTPException) as exc:
                raise _NotSent(_describe(exc, self.params.timeout, "sending")) from None
            try:
                response = connection.getresponse()
                return response.status, response.headers, response.read()
            except (OSError, http.client.HTTPException) as exc:
                problem = _describe(exc, self.params.timeout, "waiting for the answer")
                raise _NoAnswer(problem) from None
        finally:
            connection.close()


def _describe(exc: BaseException, timeout: float, doing: str) -> str:
    if isinstance(exc, TimeoutError):
        return f"no progress within {timeout:g} s while {doing}"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return f"the server closed the connection while {doing}"
    detail = str(exc)
    return f"{type(exc).__name__} while {doing}" + (f": {detail}" if detail else "")


@hookimpl
def register_upload_targets(register: Callable[[type[UploadTarget]], Any]) -> None:
    register(HttpUpload)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
