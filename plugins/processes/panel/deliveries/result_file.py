"""A provider's result file a person uploads for a letter delivery whose file was sent: the
import supplierMgt runs for a file in the service's inbox, for the providers that send their
results by e-mail or on paper rather than to a folder."""

from __future__ import annotations

from pathlib import PurePath

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.models import Role
from plugins.processes.models import Delivery
from plugins.processes.panel.deliveries.views import bp
from plugins.processes.provider_results import ResultFileError, import_result_file
from webapp import db_session, get_or_404, get_runtime, role_required, stored_text, t, username

MAX_RESULT_BYTES = 20 * 1024 * 1024
"""A result file has a short line per letter: 20 MB hold several hundred thousand."""


@bp.post("/<int:delivery_id>/result-file")
@role_required(Role.CAMPAIGN_MANAGER)
def upload_result_file(delivery_id: int) -> Response:
    session = db_session()
    delivery = get_or_404(Delivery, delivery_id)
    subject = f"{delivery.campaign.name}: {delivery.label}"
    back = url_for(".delivery", delivery_id=delivery.id) + "#result-heading"
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(t("deliveries.result.no_file"), "error")
        return redirect(back)
    data = upload.stream.read(MAX_RESULT_BYTES + 1)
    if len(data) > MAX_RESULT_BYTES:
        flash(t("deliveries.result.too_large", megabytes=MAX_RESULT_BYTES // 2**20), "error")
        return redirect(back)
    file_name = PurePath(upload.filename.replace("\\", "/")).name
    session.commit()  # the import writes in a session of its own; SQLite wants ours ended
    try:
        imported = import_result_file(
            get_runtime(), data, file_name, delivery_id=delivery_id, by=username()
        )
    except ResultFileError as exc:
        flash(t("deliveries.result.refused", problems=stored_text(exc.text)), "error")
        return redirect(back)
    if not imported.repeated:
        record_audit(
            session,
            username(),
            "delivery.result_file",
            "delivery",
            delivery_id,
            subject,
            {"file": file_name, "sent": imported.sent, "failed": imported.failed},
        )
        session.commit()
    flash(stored_text(imported.summary()), "info" if imported.repeated else "success")
    return redirect(back)
