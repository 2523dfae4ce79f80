from netra_diag import Evidence, check, failed


@check(id="always-fails", why=1, title="A check that finds a problem")
def always_fails(ctx):
    return failed("the target is broken", Evidence("location", "broken here", "app.py", 3))


@check(id="after-failure", why="e2e", title="Depends on a failing check",
       depends_on=["always-fails"])
def after_failure(ctx):
    return None
