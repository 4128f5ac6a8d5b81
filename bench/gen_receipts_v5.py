"""A wire-5 (JWS) receipt set for P1c / P1b_wire5: DIR/receipts.jsonl and DIR/keys.json.

    python3 bench/gen_receipts_v5.py DIR [--count 10000]

Our server does not issue wire-5 receipts yet, so the set is signed here, with the fixed test keys and the canonical
writer of tests/conformance/receipt-format-v5/generate.py (stdlib + `cryptography`, no code of our verifier): the
payloads of that file's valid vectors in turn, each with its own receipt_id, signed by the key its vector names.
Prints a JSON summary (count, by_name) like bench/gen_receipts.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO / "tests" / "conformance" / "receipt-format-v5" / "generate.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("v5_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=Path)
    ap.add_argument("--count", type=int, default=10000)
    args = ap.parse_args()
    g = load_generator()
    import base64

    def decode(segment: str):
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))

    keys = {g.KID1: g.K1, g.KID2: g.K2}
    templates = []
    for name, kind, _, receipt in g.SHOULD_VERIFY:
        if name in ("header_members_reordered", "payload_not_canonical_text"):
            continue  # the set is what an issuer writes: canonical header and payload
        payload, kid = decode(receipt["payload"]), decode(receipt["protected"])["kid"]
        templates.append((payload.get("action") or payload["event"], payload, kid))
    by_name: Counter = Counter()
    lines = []
    for i in range(args.count):
        name, payload, kid = templates[i % len(templates)]
        payload = dict(payload, receipt_id=f"rcp_BENCH5{i:020d}")
        lines.append(json.dumps(g.jws(payload, kid, keys[kid]), separators=(",", ":")))
        by_name[name] += 1
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "receipts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (args.dir / "keys.json").write_text(json.dumps(g.PUBLIC_KEYS), encoding="utf-8")
    print(json.dumps({"count": len(lines), "wire": "5", "by_name": dict(sorted(by_name.items()))}))


if __name__ == "__main__":
    main()
