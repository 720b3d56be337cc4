"""``mypy --strict`` accepts the correct usages and reports each marked misuse of the public types."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

HERE = Path(__file__).parent


@pytest.mark.timeout(600)
def test_mypy_accepts_correct_usage_and_rejects_each_misuse(tmp_path: Path) -> None:
    good, bad = HERE / "typed_usage.py", HERE / "typed_misuse.py"
    out, err, _ = api.run(["--strict", "--no-error-summary", "--show-error-codes", "--cache-dir",
                           str(tmp_path / "cache"), str(good), str(bad)])
    lines = [line for line in out.splitlines() if ": error:" in line]
    assert lines, out + err  # the misuses must be reported at all
    assert not [line for line in lines if good.name in line.split(":")[0]], out + err
    expected = {n for n, text in enumerate(bad.read_text().splitlines(), 1) if "  # error" in text}
    # A call's error may be reported on its first line: credit the marked line or the two lines above it.
    reported = {int(line.split(":")[1]) for line in lines if bad.name in line.split(":")[0]}
    missing = [n for n in sorted(expected) if not reported & {n, n - 1, n - 2} - (expected - {n})]
    assert len(expected) == 12
    assert not missing, f"no mypy error for lines {missing}:\n{out}{err}"
