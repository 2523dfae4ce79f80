import time

from netra_diag import check


@check(id="sleeps-forever", why="e2e", title="A check that hangs")
def sleeps_forever(ctx):
    while True:
        time.sleep(3600)
