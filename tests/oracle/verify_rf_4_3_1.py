"""Every receipt the 0.3.1 lifecycle exported, verified by the official reference verifier `allowly-receipt-format==4.3.1`.

    tests/oracle/.venv-rf-4.3.1/bin/python tests/oracle/verify_rf_4_3_1.py EXPORT_DIR

Run with the receipt-format venv's python (`make test-oracles` builds it). EXPORT_DIR is what
lifecycle_sdk_0_3_1.py wrote: receipts.jsonl, keys.json, expected.json. Checks, with the official package only:

1. its `load_keys_from_json` accepts our key document;
2. its `verify_receipt` accepts every exported receipt (expected workspace and trusted fingerprints given), and the
   export holds exactly the receipts the lifecycle was handed;
3. its own command-line verifier (`allowly-receipt-verify --export`, the console script the package installs) reports
   every receipt OK and exits 0, and with `--authorization-id` finds each authorization's chain consistent;
4. a copy of a signed receipt with its decision edited is rejected with a signature mismatch, by the API and by the
   command-line verifier.

The trusted fingerprints are those of the key document the lifecycle fetched from the server it ran against (a test
that started the server itself is entitled to trust it); a real auditor pins them out of band.
"""

from __future__ import annotations

import copy
import importlib.metadata as md
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import allowly_receipt_format as arf


def step(text: str) -> None:
    print(f"  ok  {text}", flush=True)


def cli(args: list[str]) -> subprocess.CompletedProcess:
    """The package's own console script (`allowly-receipt-verify`), from the same venv as this interpreter."""
    exe = Path(sys.executable).parent / "allowly-receipt-verify"
    assert exe.exists(), f"{exe} is missing: is allowly-receipt-format installed in this venv?"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    export = Path(sys.argv[1])
    keys_path, receipts_path = export / "keys.json", export / "receipts.jsonl"
    expected = json.loads((export / "expected.json").read_text())
    workspace = expected["workspace_id"]
    print(f"official allowly-receipt-format=={md.version('allowly-receipt-format')} on {export}")

    keys_doc = json.loads(keys_path.read_text())
    assert keys_doc.get("workspace_id") == workspace, (
        f"key document is for {keys_doc.get('workspace_id')!r}, the receipts for {workspace!r}")
    keys = arf.load_keys_from_json(keys_doc)
    assert keys, "the key document holds no key"
    trusted = {arf.public_key_fingerprint(k) for k in keys}
    published = {k["public_key_fingerprint"] for k in keys_doc["keys"]}
    assert trusted == published, f"fingerprints computed by the verifier {trusted} != published {published}"
    step(f"load_keys_from_json: {len(keys)} key(s), published fingerprints match the verifier's")

    lines = [l for l in receipts_path.read_text(encoding="utf-8").splitlines() if l.strip()]
    want = [r["receipt_id"] for r in expected["receipts"]]
    assert lines, "no receipts were exported"
    receipts = [json.loads(l) for l in lines]
    got = [r.get("receipt_id") for r in receipts]
    assert got == want, f"exported receipts {got} != the ones the lifecycle was handed {want}"
    failures = []
    for receipt in receipts:
        try:
            arf.verify_receipt(receipt, keys, expected_workspace_id=workspace, trusted_key_fingerprints=trusted)
        except arf.VerificationError as e:
            failures.append(f"{receipt.get('receipt_id')} ({receipt.get('action') or receipt.get('event')}): "
                            f"{type(e).__name__}: {e}")
    assert not failures, "the official verifier rejected:\n    " + "\n    ".join(failures)
    kinds = sorted({r.get("action") or r.get("event") for r in receipts})
    step(f"verify_receipt: all {len(receipts)} receipts valid ({', '.join(kinds)})")

    fp_args = [a for fp in sorted(trusted) for a in ("--trusted-key-fingerprint", fp)]
    run = cli(["--workspace-id", workspace, *fp_args, "--export", str(receipts_path), str(keys_path)])
    assert run.returncode == 0, f"allowly-receipt-verify --export exited {run.returncode}:\n{run.stdout}{run.stderr}"
    assert f"{len(receipts)} ok, 0 invalid" in run.stdout, f"allowly-receipt-verify --export said:\n{run.stdout}"
    step(f"allowly-receipt-verify --export: {len(receipts)} ok, 0 invalid (exit 0)")
    # Per authorization, its chain invariants (one create first, nothing after the revoke but denials, ...).
    for auth_id in sorted({r["authorization_id"] for r in receipts if r.get("event") == "authorization.create"}):
        run = cli(["--workspace-id", workspace, *fp_args, "--export", str(receipts_path), "--authorization-id", auth_id,
                   str(keys_path)])
        assert run.returncode == 0 and "Receipt subset OK" in run.stdout, (
            f"allowly-receipt-verify --authorization-id {auth_id} exited {run.returncode}:\n{run.stdout}{run.stderr}")
        step(f"allowly-receipt-verify --authorization-id {auth_id}: chain OK")

    # Tamper: the over-budget denial edited to read as an allow (what someone covering an overspend would do).
    denial = next((r for r in receipts if r.get("action") == "llm.enrich" and r.get("decision") == "deny"), None)
    assert denial is not None, "the export has no llm.enrich denial to tamper with"
    forged = copy.deepcopy(denial)
    forged["decision"] = "allow"
    try:
        arf.verify_receipt(forged, keys, expected_workspace_id=workspace, trusted_key_fingerprints=trusted)
    except arf.SignatureMismatchError as e:
        step(f"tampered copy of {denial['receipt_id']} (deny -> allow) rejected: SignatureMismatchError ({e})")
    except arf.VerificationError as e:
        raise AssertionError(f"tampered copy rejected as {type(e).__name__} ({e}), not a signature mismatch")
    else:
        raise AssertionError(f"the official verifier accepted a tampered copy of {denial['receipt_id']}")
    with tempfile.TemporaryDirectory(prefix="allowly-oracle-") as tmp:
        forged_path = Path(tmp) / "tampered.json"
        forged_path.write_text(json.dumps(forged))
        run = cli(["--workspace-id", workspace, *fp_args, str(forged_path), str(keys_path)])
    assert run.returncode != 0, f"allowly-receipt-verify accepted the tampered copy:\n{run.stdout}{run.stderr}"
    assert "INVALID" in run.stderr, f"allowly-receipt-verify on the tampered copy said:\n{run.stdout}{run.stderr}"
    step(f"allowly-receipt-verify on the tampered copy: exit {run.returncode}, {run.stderr.strip()}")
    print("oracle: official allowly-receipt-format 4.3.1 verified every receipt and rejected the tampered one")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, arf.VerificationError, OSError, ValueError, KeyError) as e:
        sys.exit(f"FAIL: {type(e).__name__}: {e}")
