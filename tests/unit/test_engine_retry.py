"""How a gateway asks the engine again (cluster/link.py `persist`): a request no engine took is
sent again until the failover window closes; one that may have arrived only where its command
id makes a second delivery harmless."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tanso.cluster.link import Unreachable, persist


class Script:
    """Answers each delivery from a list: an exception to raise or a value to return."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.attempts: list[tuple[float, int]] = []

    async def __call__(self, seconds: float, attempt: int) -> Any:
        self.attempts.append((seconds, attempt))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def run(script: Script, *, again: bool, failover: float = 30.0) -> Any:
    return asyncio.run(persist(script, 30.0, failover, again_after_timeout=again))


def test_a_request_no_engine_took_is_sent_again_until_one_does() -> None:
    script = Script(Unreachable("no responders"), Unreachable("no responders"), "answer")
    assert run(script, again=False) == "answer"
    assert [a for _, a in script.attempts] == [0, 1, 2]


def test_a_request_that_may_have_arrived_is_not_sent_again_without_a_command_id() -> None:
    script = Script(TimeoutError(), "never sent")
    with pytest.raises(TimeoutError):
        run(script, again=False)
    assert len(script.attempts) == 1
    assert script.attempts[0][0] > 29  # it waited for the whole deadline


def test_with_a_command_id_it_is_sent_again_after_an_unanswered_attempt() -> None:
    script = Script(TimeoutError(), ConnectionError("closed"), "answer")
    assert run(script, again=True) == "answer"
    assert [a for _, a in script.attempts] == [0, 1, 2]
    assert all(seconds <= 2.0 for seconds, _ in script.attempts)  # one attempt, not the deadline


def test_without_an_engine_it_gives_up_when_the_failover_window_closes() -> None:
    script = Script(*[Unreachable("no responders")] * 100)
    with pytest.raises(Unreachable):
        run(script, again=True, failover=0.0)
    assert len(script.attempts) == 1
