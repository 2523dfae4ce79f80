from netra_diag import SetupError, check


@check(id="needs-setup", why=2, title="A check that cannot decide")
def needs_setup(ctx):
    raise SetupError("the profile does not say how to build X", fix="set build.x.y")
