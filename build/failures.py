"""Prints the failed tests of the given TRX files, each different message once with its tests.

build/test.sh calls it just before its last line, so that a run whose output is cut to its end
still names what failed and why, not only how many. Tests that fail with the same message (such as
every test of a shared fixture that failed) are listed under that message once.
"""

import sys
import xml.etree.ElementTree as ElementTree

NAMESPACE = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
FAILED = {"Failed", "Error", "Timeout", "Aborted"}
MESSAGE_LINES = 15


def failures(trx_path):
    root = ElementTree.parse(trx_path).getroot()
    for result in root.iter(NAMESPACE + "UnitTestResult"):
        if result.get("outcome") in FAILED:
            message = result.findtext(f"{NAMESPACE}Output/{NAMESPACE}ErrorInfo/{NAMESPACE}Message") or "(no message)"
            yield result.get("testName"), message.strip()


def main(paths):
    by_message = {}
    for path in paths:
        project = path.rsplit("/", 1)[-1].removesuffix(".trx")
        for name, message in failures(path):
            by_message.setdefault(message, []).append(f"{project}: {name}")
    for message, tests in by_message.items():
        print(f"FAILED ({len(tests)}): " + "; ".join(tests[:5]) + (f"; and {len(tests) - 5} more" if len(tests) > 5 else ""))
        lines = message.splitlines()
        for line in lines[:MESSAGE_LINES]:
            print(f"    {line}")
        if len(lines) > MESSAGE_LINES:
            print(f"    ... ({len(lines) - MESSAGE_LINES} more lines in the TRX file)")


if __name__ == "__main__":
    main(sys.argv[1:])
