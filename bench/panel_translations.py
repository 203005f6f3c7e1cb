"""The panel's translation layer as a page uses it: ``t`` for a label (a page calls it a few
hundred times) and ``translate_stored`` for a run item's stored English detail (a run page or
an approval preview shows up to a hundred), with every built-in plugin's catalog loaded.

    .venv/bin/python bench/panel_translations.py

Prints the median of five rounds per call in microseconds.
"""

from __future__ import annotations

import statistics
import tempfile
import time

from core.config import Settings
from webapp import create_app
from webapp.i18n import t, translate_stored, use_language

CALLS = {
    "t('nav.campaigns')": lambda: t("nav.campaigns"),
    "a detail of two parts": lambda: translate_stored("sent to: a@b.de; attachment: x.pdf"),
    "a refused gateway setting": lambda: translate_stored(
        "invalid settings for sms_gateway 'http': timeout: Input should be a valid number, "
        "unable to parse string as a number; extra: Extra inputs are not permitted"
    ),
    "an upload's failure": lambda: translate_stored(
        "folder (/srv/out): Kampagne-3.csv; already exists (overwrite is off): "
        "/srv/out/Kampagne-3.csv; after 3 attempt(s)"
    ),
}
ROUND = 500


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings.from_env({"CAMPAIGN_DATA_DIR": data_dir}))
        with app.test_request_context("/"):
            use_language("de")
            for name, call in CALLS.items():
                call()  # the catalogs load once per process
                rounds = []
                for _ in range(5):
                    started = time.perf_counter()
                    for _ in range(ROUND):
                        call()
                    rounds.append((time.perf_counter() - started) / ROUND * 1e6)
                print(f"{name}: {statistics.median(rounds):.1f} µs")


if __name__ == "__main__":
    main()
