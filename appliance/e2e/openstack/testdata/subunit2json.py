"""Reads a subunit v2 stream on stdin (tempest's results) and writes one JSON object per test on
stdout: {"id": ..., "status": "success"|"fail"|"skip"|..., "reason": ...}. The reason is the test's
skip reason or traceback, from its attachments. Run with Debian's python3 (python3-subunit)."""
import json
import sys

import subunit
import testtools


def emit(test):
    details = test.get("details", {})
    reason = "\n".join(details[k].as_text() for k in ("reason", "traceback") if k in details)
    json.dump({"id": test["id"], "status": test["status"], "reason": reason}, sys.stdout)
    sys.stdout.write("\n")


result = testtools.StreamToDict(emit)
result.startTestRun()
try:
    subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout").run(result)
finally:
    result.stopTestRun()
