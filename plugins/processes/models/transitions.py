"""The one check every state machine of the campaign processes goes through."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Set


class TransitionError(ValueError):
    """A state change that the object's state machine does not allow."""

    def __init__(self, what: str, current: enum.Enum | None, wanted: enum.Enum, allowed: Set):
        self.what = what
        self.current = current
        self.wanted = wanted
        choices = ", ".join(sorted(state.value for state in allowed)) or "none (final state)"
        origin = f"from {current.value!r}" if current is not None else "as a new object"
        super().__init__(
            f"{what} cannot move {origin} to {wanted.value!r}; allowed next states: {choices}"
        )


def check_transition(
    what: str,
    transitions: Mapping[enum.Enum | None, Set[enum.Enum]],
    current: enum.Enum | None,
    wanted: enum.Enum,
) -> None:
    """Raise TransitionError unless ``transitions[current]`` contains ``wanted``.

    ``current`` is None for an object being created: ``transitions[None]`` lists the states
    it may start in. Staying in the same state is not a transition and always passes.
    """
    if current == wanted:
        return
    allowed = transitions.get(current, frozenset())
    if wanted not in allowed:
        raise TransitionError(what, current, wanted, allowed)
