from netra_diag import Verdict, check, failed


@check(id="string-evidence", why="e2e", title="Evidence that is a plain string")
def string_evidence(ctx):
    return failed("x", "not an Evidence")


@check(id="string-status", why="e2e", title="A verdict with a made-up status")
def string_status(ctx):
    return Verdict("broken", "x")
