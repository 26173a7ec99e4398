"""Loads a baton document export (JSON lines of `[name, doc]`) the way a consumer would.

A plain reader: `json` line by line, documents grouped by stream through their descriptor.
Checks what a consumer relies on (one start first; every descriptor and event refers to it and
to a descriptor seen before; `seq_num` counts 1, 2, ... per stream; a stop, if any, comes last
and its `num_events` match), and round-trips each descriptor's events through
`event_model.pack_event_page` / `unpack_event_page`. Prints, as one JSON object on stdout:

    {"documents": N, "stop": <exit_status or null>,
     "streams": {"primary": {"rows": R, "columns": {key: [value, ...]}}, ...}}

so a test can compare the primary stream's columns with what the journal says. Exits 1 naming
the problem otherwise.

databroker is not used: databroker 2.x (the version pip installs) has no JSONL reader and needs
a Tiled server; the v1 `BlueskyJSONLCatalog` is not installable alongside current event-model.

    .venv/bin/python tests/documents/load_jsonl.py procedure.jsonl
"""

import json
import sys

from event_model import pack_event_page, unpack_event_page


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def main(path: str) -> int:
    with open(path, encoding="utf-8") as file:
        pairs = [json.loads(line) for line in file if line.strip()]
    if not pairs or pairs[0][0] != "start":
        return fail("the first document is not a start")
    start = pairs[0][1]
    descriptors = {}
    events = {}
    stop = None
    for number, (name, doc) in enumerate(pairs, start=1):
        if stop is not None:
            return fail(f"document {number} ({name}) comes after the stop")
        if name == "start":
            if number != 1:
                return fail(f"a second start at document {number}")
        elif name == "descriptor":
            if doc["run_start"] != start["uid"]:
                return fail(f"descriptor {number} names another run")
            descriptors[doc["uid"]] = doc
        elif name == "event":
            descriptor = descriptors.get(doc["descriptor"])
            if descriptor is None:
                return fail(f"event {number} names a descriptor not seen before")
            stream = events.setdefault(descriptor["name"], [])
            if doc["seq_num"] != len(stream) + 1:
                return fail(f"event {number}: seq_num {doc['seq_num']} after {len(stream)}")
            if set(doc["data"]) - set(descriptor["data_keys"]):
                return fail(f"event {number} has keys its descriptor lacks")
            stream.append(doc)
        elif name == "stop":
            if doc["run_start"] != start["uid"]:
                return fail("the stop names another run")
            stop = doc
        else:
            return fail(f"document {number}: unexpected name {name!r}")
    if stop is not None:
        counted = {name: len(docs) for name, docs in events.items()}
        if stop["num_events"] != counted:
            return fail(f"stop num_events {stop['num_events']} but the file has {counted}")
    streams = {}
    for name, docs in events.items():
        # A page holds events of one descriptor with the same keys.
        pages = {}
        for doc in docs:
            pages.setdefault((doc["descriptor"], tuple(sorted(doc["data"]))), []).append(doc)
        for group in pages.values():
            again = [
                {k: v for k, v in event.items() if not (k == "filled" and not v)}
                for event in unpack_event_page(pack_event_page(*group))
            ]
            if again != group:
                return fail(f"stream {name}: events do not survive pack/unpack_event_page")
        keys = sorted({key for doc in docs for key in doc["data"]})
        streams[name] = {
            "rows": len(docs),
            "columns": {key: [doc["data"].get(key) for doc in docs] for key in keys},
        }
    summary = {
        "documents": len(pairs),
        "stop": stop["exit_status"] if stop else None,
        "streams": streams,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(fail("usage: load_jsonl.py FILE.jsonl"))
    sys.exit(main(sys.argv[1]))
