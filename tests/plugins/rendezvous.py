"""Two checks that pass only when they run at the same time (each waits for the other)."""

import os
import time
from pathlib import Path

from netra_diag import check, failed, passed


def meet(me: str, other: str):
    folder = Path(os.environ["NETRA_TEST_RENDEZVOUS"])
    (folder / me).touch()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # bounded: 10 s at most
        if (folder / other).exists():
            return passed(f"{me} met {other}")
        time.sleep(0.01)
    return failed(f"{other} never ran alongside {me}")


@check(id="meet-a", why="e2e", title="Meets B")
def meet_a(ctx):
    return meet("a", "b")


@check(id="meet-b", why="e2e", title="Meets A")
def meet_b(ctx):
    return meet("b", "a")
