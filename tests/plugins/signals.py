import os
import signal

from netra_diag import check


@check(id="killed-by-signal", why="e2e", title="A check whose interpreter is killed")
def killed(ctx):
    os.kill(os.getpid(), signal.SIGKILL)
