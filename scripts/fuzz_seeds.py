#!/usr/bin/env python3
"""Writes the fuzz seed corpora (fuzz/seeds/<target>/) from the shared test data.

Seeds come from tests/conformance (every receipt vector, the key document) and tests/scenarios (every request body a
scenario sends), so the fuzzer starts from inputs that reach deep into each parser. The output is committed and
replayed by `cargo test` (core/tests/fuzz_replay.rs, server/tests/fuzz_replay.rs); rerun this after changing the
shared data. File names are content hashes, as libFuzzer names corpus files, so reruns are stable.
"""

import hashlib
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "seeds"
VECTORS = ROOT / "tests" / "conformance" / "receipt-format-v4" / "test-vectors.json"
# Wire-5 (JWS) receipts reach the envelope and payload decoders; against the wire-4 key document the fuzz targets
# use, none of them verifies (same key ids, other keys), which the targets' "nothing unsigned verifies" check allows.
VECTORS_V5 = ROOT / "tests" / "conformance" / "receipt-format-v5" / "test-vectors.json"

# Selector bytes of allowly_server::fuzzing::Route::ALL.
CHECK, CREATE_AUTH, REVOKE_AUTH, RESOLVE, SETTLE, CREATE_API_KEY, PUT_WEBHOOK, NO_FIELDS = range(8)
CREATE_MEMBER, RESOLVE_ESCALATION = range(8, 10)


class Raw(str):
    """A number token kept as spelled, so 1.0 and 1e2 stay non-integers in the seeds."""


def dump(v) -> str:
    """JSON text that keeps what json.dumps would lose: duplicate names (pair lists), number spellings."""
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, Pairs):
        return "{" + ",".join(dump(k) + ":" + dump(x) for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    return json.dumps(v)


class Pairs(list):
    pass


def load_raw(path: pathlib.Path):
    return json.loads(path.read_text(), object_pairs_hook=Pairs, parse_float=Raw, parse_int=Raw)


def get(pairs, name):
    return next(v for k, v in pairs if k == name)


def write(target: str, data: bytes) -> None:
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    vectors = load_raw(VECTORS)
    receipts = [get(c, "receipt") for c in get(vectors, "should_verify")]
    rejects = [get(c, "receipt") for c in get(vectors, "should_reject")]
    for c in get(vectors, "checkpoint_cases"):
        rejects.append(get(c, "checkpoint"))
    for r in receipts + rejects:
        text = dump(r).encode()
        write("json_canonical", text)
        write("verify_bytes", text)
    v5 = load_raw(VECTORS_V5)
    for group in ("should_verify", "should_reject"):
        for c in get(v5, group):
            write("verify_bytes", dump(get(c, "receipt")).encode())
    keys = get(vectors, "public_keys")
    write("key_document", dump(keys).encode())
    write("json_canonical", dump(keys).encode())
    for k in get(keys, "keys"):
        write("key_document", dump(Pairs([("workspace_id", "ws_test"), ("keys", [k])])).encode())
    # verify_mutate: vector i unedited, reordered (still valid), with a signature bit flipped, with a field replaced.
    for i in range(len(receipts)):
        write("verify_mutate", bytes([i]))
        write("verify_mutate", bytes([i, 6, 11]))
        write("verify_mutate", bytes([i, 2, i, 1]))
        write("verify_mutate", bytes([i, 0, 3, 16, 0, 4, 7, 2, 0]))

    bodies = {
        "create_authorization": CREATE_AUTH,
        "check": CHECK,
        "approve_confirmation": RESOLVE,
        "settle_budget": SETTLE,
        "revoke": REVOKE_AUTH,
        "create_member": CREATE_MEMBER,
        "resolve_escalation": RESOLVE_ESCALATION,
    }
    wire = {
        "approve_confirmation": {"approved", "ttl_seconds"},
        "revoke": {"revoked_by", "notes", "superseded_by"},
        "create_member": {"member_id", "display_name"},
        "resolve_escalation": {"resolution", "resolved_by", "note"},
    }
    for path in sorted((ROOT / "tests" / "scenarios").glob("*.json")):
        if path.name == "schema.json":
            continue
        for step in get(load_raw(path), "steps"):
            op = get(step, "op")
            if op not in bodies:
                continue
            args = Pairs((k, v) for k, v in dict(step).get("args", Pairs()) if k in wire.get(op, {k}))
            write("server_body", bytes([bodies[op]]) + dump(args).encode())
    write("server_body", bytes([CREATE_API_KEY]) + b'{"tier":"runtime","name":"ci"}')
    write("server_body", bytes([PUT_WEBHOOK]) + b'{"url":"https://hooks.example.invalid/allowly"}')
    write("server_body", bytes([NO_FIELDS]))
    write("server_body", bytes([NO_FIELDS]) + b"{}")
    write("server_body", bytes([CREATE_MEMBER]) + b'{"member_id":"l1","display_name":"Level one"}')
    write("server_body", bytes([RESOLVE_ESCALATION]) + b'{"resolution":"approved","resolved_by":"member:l1","note":null}')
    write("server_body", bytes([RESOLVE_ESCALATION]) + b'{"resolution":"rejected"}')
    for target in sorted(p.name for p in OUT.iterdir()):
        print(f"{target}: {len(list((OUT / target).iterdir()))} seeds")


if __name__ == "__main__":
    main()
