"""Validates bluesky event-model documents with event-model's own validators.

Reads `[name, doc]` JSON arrays, one per line, on stdin (the suitcase-jsonl format that
`baton`'s document export writes) and checks each document with
`event_model.schema_validators[DocumentNames[name]]`. Exits 0 when every document is valid,
printing how many it checked; otherwise exits 1, naming the first bad line and why.

Run with the venv scripts/setup-epics.sh makes (tests/epics/requirements.txt pins event-model):
    .venv/bin/python tests/documents/validate.py < procedure.jsonl
"""

import json
import sys

from event_model import DocumentNames, schema_validators


def main() -> int:
    count = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            name, doc = json.loads(line)
            schema_validators[DocumentNames[name]].validate(doc)
        except Exception as error:  # any failure names the document and stops
            print(f"line {number}: invalid document: {error}", file=sys.stderr)
            print(f"line {number}: {line.strip()[:500]}", file=sys.stderr)
            return 1
        count += 1
    if count == 0:
        print("no documents on stdin", file=sys.stderr)
        return 1
    print(f"{count} documents valid (event-model)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
