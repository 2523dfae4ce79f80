"""A check added in one file (``--checks-dir``): the proof that adding a check touches
nothing else. Everything the tool says about it comes from this declaration and its result:
its place along the chain, its checklist line, its symptom phrase, its headline."""

from netra_diag import CheckContext, Evidence, Verdict, check, failed


@check(id="audit-trail", why="e2e", title="Audit Trail", order=75,
       criterion="Every agent run leaves an audit record",
       symptom={"fail": ("[missing] leave no audit record ({id}: {missing} run(s) unrecorded)",
                         "leave no audit record ({id})")},
       headline="{missing} run(s) unrecorded", critical="[missing]",
       fix="write the audit record in the run's finally block")
def audit_trail(ctx: CheckContext) -> Verdict:
    """Every agent run writes an audit record when it ends, whatever its outcome."""
    return failed("2 agent runs ended without an audit record",
                  Evidence("location", "the run ends here without writing an audit record",
                           "netra_backend/app/agents/supervisor/supervisor.py", 1,
                           data={"missing": 2, "symbol": "Supervisor.run"}))
