"""Receipt verifications per second in Python over the exported receipt set (P1a / P1b).

    bench/.venv-ours/bin/python bench/verify_py.py ours single|batch DIR [--runs 5]
    bench/.venv/bin/python      bench/verify_py.py official single DIR [--runs 5] [--floor-runs 3]

`ours` is the allowly wheel (allowly.verify.verify_receipt per line, or allowly.verify.verify_batch over the whole export);
`official` is allowly-receipt-format 4.3.1 (or 5.0.0 for a wire-5 set, P1c / P1b_wire5), used the way its own export verifier uses it: each line parsed with its
duplicate-name check, then verify_receipt. Both sides get the same JSONL text, the expected workspace and the key
document's fingerprints as the trusted set. Every run must verify every receipt, or the script fails.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import emit, summary


def official(lines: list, keys_doc: dict, workspace: str, floor_runs: int):
    import allowly_receipt_format as arf
    from allowly_receipt_format.verifier import _extract_receipt, _reject_duplicate_json_names

    keys = arf.load_keys_from_json(keys_doc)
    trusted = {arf.public_key_fingerprint(k) for k in keys}

    def run() -> int:
        ok = 0
        for line in lines:
            receipt = _extract_receipt(json.loads(line, object_pairs_hook=_reject_duplicate_json_names))
            arf.verify_receipt(receipt, keys, expected_workspace_id=workspace, trusted_key_fingerprints=trusted)
            ok += 1
        return ok

    import base64
    import importlib.metadata as md

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    # The official verifier's own floor: its Ed25519 verify (cryptography/OpenSSL) of the same canonical bytes alone,
    # to tell how much of its time is Python and how much is the signature equation.
    # On wire 5 (a JWS line) the signed bytes are `protected.payload` and the key is the header's kid.
    by_id = {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key_bytes) for k in keys}
    prepared = []
    for line in lines:
        r = json.loads(line)
        if set(r) == {"protected", "payload", "signature"}:
            kid = json.loads(base64.urlsafe_b64decode(r["protected"] + "=" * (-len(r["protected"]) % 4)))["kid"]
            msg = f"{r['protected']}.{r['payload']}".encode("ascii")
            prepared.append((by_id[kid], base64.urlsafe_b64decode(r["signature"] + "=="), msg))
            continue
        msg = arf.canonicalize({k: v for k, v in r.items() if k != "signature"})
        prepared.append((by_id[r["key_id"]], base64.urlsafe_b64decode(r["signature"] + "=="), msg))
    for pub, sig, msg in prepared:  # warm-up, and proof the floor checks what the verifier checks
        pub.verify(sig, msg)
    floor = []
    for _ in range(floor_runs):
        started = time.perf_counter()
        for pub, sig, msg in prepared:
            pub.verify(sig, msg)
        floor.append(len(prepared) / (time.perf_counter() - started))
    return run, {"package": f"allowly-receipt-format=={md.version('allowly-receipt-format')}",
                 **({"ed25519_only_per_s": summary(floor)} if floor else {}),
                 "api": "json.loads(line, object_pairs_hook=_reject_duplicate_json_names) + verify_receipt(..., "
                        "expected_workspace_id=, trusted_key_fingerprints=) per line"}


def ours(lines: list, keys_doc: dict, workspace: str, mode: str):
    import allowly
    from allowly.verify import load_keys_from_json, verify_batch, verify_receipt

    keys = load_keys_from_json(keys_doc)
    trusted = list(keys.fingerprints)

    def single() -> int:
        ok = 0
        for line in lines:
            verify_receipt(line, keys, expected_workspace_id=workspace, trusted_fingerprints=trusted)
            ok += 1
        return ok

    def batch() -> int:
        results = verify_batch(lines, keys, expected_workspace_id=workspace, trusted_fingerprints=trusted)
        bad = [r for r in results if isinstance(r, Exception)]
        if bad:
            raise bad[0]
        return len(results)

    api = ("allowly.verify.verify_receipt(line, keys, expected_workspace_id=, trusted_fingerprints=) per line"
           if mode == "single" else "allowly.verify.verify_batch(all lines, keys, expected_workspace_id=, trusted_fingerprints=)")
    return (single if mode == "single" else batch), {"package": f"allowly {allowly.__version__} (release wheel)",
                                                      "api": api}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("impl", choices=["ours", "official"])
    ap.add_argument("mode", choices=["single", "batch"])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--floor-runs", type=int, default=0, help="official only: also time its bare Ed25519 verify")
    args = ap.parse_args()
    lines = (args.dir / "receipts.jsonl").read_text(encoding="utf-8").splitlines()
    lines = [l for l in lines if l.strip()]
    keys_doc = json.loads((args.dir / "keys.json").read_text())
    workspace = keys_doc["workspace_id"]
    if args.impl == "official":
        run, desc = official(lines, keys_doc, workspace, args.floor_runs)
    else:
        run, desc = ours(lines, keys_doc, workspace, args.mode)
    if run() != len(lines):  # warm-up pass, and proof that every receipt verifies
        raise SystemExit("not every receipt verified")
    rates, cpu_rates = [], []
    for _ in range(args.runs):
        started, cpu = time.perf_counter(), time.process_time()
        n = run()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert n == len(lines)
        rates.append(n / elapsed)
        cpu_rates.append(n / cpu)
    # Per CPU-second as well: on a shared machine a single-threaded rate per CPU-second is what other processes
    # disturb least (for the batch it is the total over all threads, so it shows the work, not the speed-up).
    emit({"impl": args.impl, "mode": args.mode, "receipts": len(lines), "per_second": summary(rates),
          "per_cpu_second": summary(cpu_rates), **desc})


if __name__ == "__main__":
    main()
