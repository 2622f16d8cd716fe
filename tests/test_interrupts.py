"""A Ctrl-C swallowed by Python (raised inside a __del__) is still seen at the next check."""

from __future__ import annotations

import os
import signal
import time

import pandas as pd
import pytest

from diffkit import interrupts
from diffkit.report import write_report
from diffkit.sweep import COLUMNS


class _InterruptsWhileCollected:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler's KeyboardInterrupt is raised here and "ignored"


# The swallowed KeyboardInterrupt is the point of these tests: pytest reports it as unraisable.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(autouse=True)
def _ctrl_c_not_ignored():
    """A background job (CI under nohup) starts with SIGINT ignored; a terminal does not."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_swallowed_ctrl_c_is_raised_again_at_the_next_check() -> None:
    with interrupts.handling():
        _InterruptsWhileCollected()
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()
    interrupts.check()  # outside the block the request is forgotten


def test_a_report_is_not_moved_into_place_after_a_swallowed_ctrl_c(tmp_path) -> None:
    # No rows, so no chart tasks (whose runner checks too): only the final check stands.
    frame = pd.DataFrame(columns=COLUMNS)
    old = write_report(frame, [], tmp_path / "r", title="old").read_bytes()
    with interrupts.handling():
        _InterruptsWhileCollected()
        with pytest.raises(KeyboardInterrupt):
            write_report(frame, [], tmp_path / "r", title="new")
    assert (tmp_path / "r" / "index.html").read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
