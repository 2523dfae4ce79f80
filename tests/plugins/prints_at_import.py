from netra_diag import check

print("noise from a plugin at import time")


@check(id="noisy-import", why="e2e", title="Prints while importing")
def noisy(ctx):
    return None
