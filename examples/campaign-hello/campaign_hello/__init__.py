"""Example Campaign plugin: an action that appends a greeting per recipient to a text file
and records each greeting in a table of its own.

Campaign loads this package through the ``campaign`` entry point declared in
``pyproject.toml`` (``hello = "campaign_hello"``); nothing in the platform imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from campaign_hello.models import Greeting
from core import Action, Outcome, Recipient, hookimpl


class GreetingFile(Action):
    """Append ``<greeting> <first name> <last name>`` per recipient to a text file."""

    name = "greeting_file"
    title = "Write greetings to a file"
    external_effects = True  # appending twice writes twice: each item is claimed first
    cost_unit = "cents"  # the units of an outcome: what its greeting cost

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error
        path: str = Field(description="Text file (.txt) the greetings are appended to.")
        greeting: Literal["Hallo", "Moin"] = Field("Hallo", description="The first word.")
        price: Decimal = Field(Decimal("0.10"), ge=0, decimal_places=2, description="In euros.")

        @field_validator("path")
        @classmethod
        def _text_file(cls, path: str) -> str:
            if not path.endswith(".txt"):
                raise ValueError("must end in .txt")
            return path

    params: Params

    def process(self, recipient: Recipient, context: Any) -> Outcome:
        name = " ".join(filter(None, (recipient.data.get(k) for k in ("first_name", "last_name"))))
        if not name:
            return Outcome.failed("no name")
        line = f"{self.params.greeting} {name}"
        with Path(self.params.path).open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        context.session.add(Greeting(run_id=context.run_id, recipient=recipient.key, line=line))
        return Outcome.done(line, units=int(self.params.price * 100))


@hookimpl
def register_actions(register: Callable[[type[Action]], None]) -> None:
    register(GreetingFile)


@hookimpl
def register_migrations(register: Callable[[Path], None]) -> None:
    register(Path(__file__).with_name("migrations"))


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(Path(__file__).resolve().parent / "translations")
