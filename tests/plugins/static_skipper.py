"""A check only a run can judge (``static_skip``) and one depending on it."""

from pathlib import Path

from netra_diag import check, passed


@check(id="only-a-run", why="e2e", title="Only a run can judge",
       static_skip="--static: only a run shows it; run without --static to judge it")
def only_a_run(ctx):
    (Path(ctx.root) / "called").write_text("called")
    raise RuntimeError("a dynamic check must not be called under --static")


@check(id="after-it", why="e2e", title="Depends on it", depends_on=["only-a-run"])
def after_it(ctx):
    return passed("ran after the skip")
