from netra_diag import check

@check(id="my-check", why="e2e", title="An example check")
def my_check(ctx):
    ...  # returns a verdict (your API; document it in the README)
