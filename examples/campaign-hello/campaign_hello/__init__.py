"""Example Campaign plugin: an action that appends a greeting per recipient to a text file
and records each greeting in a table of its own.

Campaign loads this package through the ``campaign`` entry point declared in
``pyproject.toml`` (``hello = "campaign_hello"``); nothing in the platform imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from campaign_hello.models import Greeting
from core import Action, Outcome, Recipient, hookimpl


class GreetingFile(Action):
    """Append one line ``<greeting> <first_name> <last_name>`` per recipient to a text file."""

    name = "greeting_file"
    title = "Write greetings to a file"
    description = (
        "Appends one line with a greeting and the recipient's first and last name "
        "to a UTF-8 text file and records it; recipients without any name fail with 'no name'."
    )
    # Appending is not idempotent: let the runner claim each item before it is processed.
    external_effects = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        path: str = Field(
            description="Text file the greetings are appended to (created if missing)."
        )
        greeting: str = Field(
            default="Hallo", description="Word put in front of each recipient's name."
        )

    params: Params

    def process(self, recipient: Recipient, context: Any) -> Outcome:
        parts = [str(recipient.data.get(key) or "").strip() for key in ("first_name", "last_name")]
        full_name = " ".join(part for part in parts if part)
        if not full_name:
            return Outcome.failed("no name")
        line = f"{self.params.greeting} {full_name}"
        path = Path(self.params.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        # Commits together with the run's record of this recipient.
        context.session.add(
            Greeting(
                run_id=context.run_id, recipient=recipient.key, line=line, written_at=context.now
            )
        )
        return Outcome.done(f"wrote {line!r} to {path}")


@hookimpl
def register_actions(register: Callable[[type[Action]], None]) -> None:
    register(GreetingFile)


@hookimpl
def register_migrations(register: Callable[[Path], None]) -> None:
    register(Path(__file__).with_name("migrations"))


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(Path(__file__).resolve().parent / "translations")
