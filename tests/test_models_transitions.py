import enum

import pytest

from plugins.processes.models.transitions import TransitionError, check_transition


class Light(enum.Enum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"


TRANSITIONS = {None: {Light.RED}, Light.RED: {Light.GREEN}, Light.GREEN: {Light.AMBER}}


def test_allowed_moves_and_staying_put_pass():
    check_transition("light", TRANSITIONS, None, Light.RED)
    check_transition("light", TRANSITIONS, Light.RED, Light.GREEN)
    check_transition("light", TRANSITIONS, Light.AMBER, Light.AMBER)


def test_a_refused_move_names_the_object_the_states_and_the_way_on():
    with pytest.raises(TransitionError) as caught:
        check_transition("light 3", TRANSITIONS, Light.RED, Light.AMBER)
    assert str(caught.value) == (
        "light 3 cannot move from 'red' to 'amber'; allowed next states: green"
    )
    assert (caught.value.current, caught.value.wanted) == (Light.RED, Light.AMBER)
