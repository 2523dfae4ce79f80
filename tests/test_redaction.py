"""The one redaction module: texts, data, verdicts, and the one way a URL is shown."""

from __future__ import annotations

from netra_diag.model import Evidence, Status, Verdict
from netra_diag.redaction import public_url, redact, redact_data, redact_verdict, url_secrets
from netra_diag.support.capture import connect_url


def test_public_url_hides_user_info_and_credential_query_values_and_keeps_the_rest():
    url = "wss://alice:s3cr3t@example.com:8443/ws?access_token=tok123&room=7&api_key=k9&flag"
    assert public_url(url) == ("wss://***@example.com:8443/ws?access_token=***&room=7"
                               "&api_key=***&flag")
    assert public_url("ws://127.0.0.1:8765/ws") == "ws://127.0.0.1:8765/ws"
    assert public_url("ws://h/ws?sig=abc&Session=x") == "ws://h/ws?sig=***&Session=***"


def test_public_url_hides_what_could_be_a_password_in_a_mistyped_url():
    for typo, shown in (("user:pw@host:6379", "***@host:6379"),
                        ("redis//u:p@h/0?token=t", "***@h/0?token=***"),
                        ("//u:p@h", "//***@h")):
        assert public_url(typo) == shown
        assert "p@" not in shown and "pw" not in shown


def test_url_secrets_lists_what_public_url_hides_raw_and_decoded():
    url = "ws://al%40ce:p%3Ass@h/ws?token=a%2Fb&room=7"
    found = url_secrets(url)
    assert {"al%40ce", "al@ce", "p%3Ass", "p:ss", "a%2Fb", "a/b"} <= set(found)
    assert "7" not in found
    for secret in found:
        assert secret not in public_url(url).replace("***", "")


def test_connect_url_drops_only_the_user_info_and_is_never_shown():
    url = "ws://alice:pw@h:1/ws?token=t"
    assert connect_url(url) == "ws://h:1/ws?token=t"  # the query is the endpoint's own
    assert connect_url("ws://h:1/ws") == "ws://h:1/ws"


def test_redact_longest_first_spares_identifiers_and_short_words_unless_asked():
    assert redact("abcd abcdef", ["abcd", "abcdef"]) == "*** ***"
    assert redact("event-flow got event", ["event"], keep=["event-flow"]) == "event-flow got ***"
    assert redact("a pin 123", ["123"]) == "a pin 123"  # below MIN_SECRET_LEN in reports
    assert redact("a pin 123", ["123"], min_len=1) == "a pin ***"


def test_redact_data_and_verdicts_reach_keys_values_and_evidence():
    assert redact_data({"tok9": ["x tok9", ("tok9",)], "n": 3}, ["tok9"]) == {
        "***": ["x ***", ["***"]], "n": 3}
    verdict = Verdict(Status.FAIL, "echo t0k", (Evidence("observed", "got t0k", data={
        "t0k": "t0k"}),), fix="rotate t0k")
    clean = redact_verdict(verdict, ["t0k"])
    assert (clean.summary, clean.evidence[0].message, clean.evidence[0].data, clean.fix) == (
        "echo ***", "got ***", {"***": "***"}, "rotate ***")
    assert redact_verdict(verdict, []) is verdict
