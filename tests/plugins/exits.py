import os

from netra_diag import check


@check(id="exits-nine", why="e2e", title="A check that kills its interpreter")
def exits_nine(ctx):
    print("about to exit", flush=True)
    os._exit(9)
