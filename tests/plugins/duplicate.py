from netra_diag import check


@check(id="my-check", why="e2e", title="Same id as my_check.py")
def again(ctx):
    return None
