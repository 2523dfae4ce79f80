"""Every exit code is documented in the README, and the ones test_cli.py does not reach are
reached here through the real console entry point (``netra_diag.cli.main``)."""

import re
import subprocess
import sys
from pathlib import Path

from helpers import WAIT_S

from netra_diag.exitcodes import ExitCode

README = Path(__file__).resolve().parents[1] / "README.md"

# A defect of the tool, planted in a real interpreter: the command body raises a bug.
_CRASH = """
import sys
import netra_diag.session as session
def broken(request):
    raise ZeroDivisionError("a planted defect")
session.execute_run = broken
from netra_diag.cli import main
sys.argv = ["netra-diag", "run"]
main()
"""


def test_every_exit_code_is_in_the_readme_table():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.M)}
    assert documented == {int(code) for code in ExitCode}


def test_codes_are_distinct_and_keep_pytest_meanings():
    assert len({int(c) for c in ExitCode}) == len(ExitCode)
    assert (ExitCode.OK, ExitCode.FAILED, ExitCode.INTERRUPTED, ExitCode.USAGE_ERROR,
            ExitCode.NO_CHECKS) == (0, 1, 2, 4, 5)
    assert ExitCode.INTERNAL_ERROR not in (ExitCode.UNDECIDED, ExitCode.FAILED)
    assert ExitCode.OUTPUT_ERROR != ExitCode.INTERRUPTED


def test_an_internal_error_exits_7_with_its_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _CRASH], cwd=tmp_path, text=True,
                          capture_output=True, timeout=WAIT_S, check=False)
    assert proc.returncode == ExitCode.INTERNAL_ERROR, proc.stderr
    assert "ZeroDivisionError: a planted defect" in proc.stderr
    assert "defect in netra-diag" in proc.stderr
    assert proc.stdout == ""
