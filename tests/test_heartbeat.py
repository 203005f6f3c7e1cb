"""core.jobs.heartbeat.beating: a background beat that lasts exactly as long as its block."""

import threading

from core.jobs.heartbeat import beating

from waiting import DEADLINE


def test_beats_while_the_block_runs_and_never_after():
    beats = []
    three = threading.Event()

    def beat():
        beats.append(threading.current_thread().name)
        if len(beats) == 3:
            three.set()

    with beating(beat, every=0.01):
        assert three.wait(DEADLINE)
    after = len(beats)

    assert after >= 3 and set(beats) == {"heartbeat"}
    assert not any(thread.name == "heartbeat" for thread in threading.enumerate())
    assert len(beats) == after


def test_a_failing_beat_is_logged_and_the_beating_goes_on(caplog):
    calls = []
    second = threading.Event()

    def beat():
        calls.append(1)
        if len(calls) == 2:
            second.set()
        raise ConnectionError("the database is restarting")

    with beating(beat, every=0.01):
        assert second.wait(DEADLINE)

    assert "a heartbeat failed" in caplog.text
    assert "the database is restarting" in caplog.text
