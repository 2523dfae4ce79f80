"""Signals the test through a FIFO named by NETRA_TEST_FIFO, then hangs."""

import os
import time

from netra_diag import check


@check(id="signals-then-hangs", why="e2e", title="Tells the test it started, then hangs")
def signals_then_hangs(ctx):
    with open(os.environ["NETRA_TEST_FIFO"], "w") as fifo:
        fifo.write("started\n")
    while True:
        time.sleep(3600)
