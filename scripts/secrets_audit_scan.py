"""Scans everything scripts/secrets_audit.sh captured for secret material; exit 1 on any hit.

usage: secrets_audit_scan.py AUDIT_DIR REPO_DIR

What counts as a secret:
- any API-key-shaped text: `allowly_(rt|setup|mk|live|l1)_` (mk: member credentials) followed by 16+ key
  characters. The server lists and may log a key's display PREFIX (the tier prefix and 4 characters); that shape is
  counted and reported, not a hit;
- every API key the captured servers minted (their ready / dev-keys files), also without its tier prefix;
- the conformance test peppers (tests/conformance/identifiers) of 8+ characters — shorter ones ("p", "pepper") are
  ordinary words in logs and are listed as not searchable;
- each captured dev server's master key, and every Ed25519 signing key sealed in its SQLite database (opened with
  that master key and checked against the stored public key), in hex, base64 and base64url; PEM private-key blocks.
The secret SOURCES themselves (ready files, dev-keys files, master-key files, databases) are read, never scanned.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import sys
from pathlib import Path

import nacl.bindings
import nacl.signing

KEY_RE = re.compile(rb"allowly_(?:rt|setup|mk|live|l1)_[A-Za-z0-9]{16,}")
PREFIX_RE = re.compile(rb"allowly_(?:rt|setup|mk|live|l1)_[A-Za-z0-9]{1,15}(?![A-Za-z0-9])")
PEM_RE = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")
MIN_PEPPER = 8


def is_source(p: Path) -> bool:
    n = p.name
    return (n == "ready.json" or n.endswith(".dev-keys.json") or n.endswith(".master-key")
            or re.search(r"\.db(-wal|-shm|-journal)?$", n) is not None)


def encodings(raw: bytes) -> set[bytes]:
    return {
        raw.hex().encode(), raw.hex().upper().encode(),
        base64.b64encode(raw), base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="),
    }


def collect(audit: Path, repo: Path) -> tuple[dict[str, set[bytes]], list[str], dict[str, int]]:
    secrets: dict[str, set[bytes]] = {"api key": set(), "pepper": set(), "master key": set(), "signing key": set()}
    skipped: list[str] = []
    stats = {"servers": 0, "signing keys opened": 0, "peppers": 0}
    for p in audit.rglob("*"):
        if not p.is_file():
            continue
        if p.name == "ready.json" or p.name.endswith(".dev-keys.json"):
            try:
                doc = json.loads(p.read_text())
            except ValueError:
                continue
            for k in ("runtime_api_key", "setup_api_key"):
                if isinstance(doc.get(k), str) and doc[k]:
                    key = doc[k].encode()
                    secrets["api key"].add(key)
                    secrets["api key"].add(key.rsplit(b"_", 1)[-1])
        elif p.name.endswith(".master-key"):
            text = p.read_text().strip()
            master = base64.b64decode(text)
            secrets["master key"] |= encodings(master) | {text.encode()}
            db = p.with_name(p.name[: -len(".master-key")])
            if db.exists():
                stats["servers"] += 1
                conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                for key_id, public, sealed, nonce in conn.execute(
                        "SELECT key_id, public_key, sealed_private, seal_nonce FROM signing_keys"):
                    seed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                        bytes(sealed), key_id.encode(), bytes(nonce), master)
                    assert nacl.signing.SigningKey(seed).verify_key.encode() == bytes(public), key_id
                    stats["signing keys opened"] += 1
                    secrets["signing key"] |= encodings(seed) | encodings(seed + bytes(public))
                conn.close()
    vectors = json.loads((repo / "tests/conformance/identifiers/email-hmac-v1.json").read_text())
    for v in vectors:
        pepper = v.get("pepper", "")
        if len(pepper) >= MIN_PEPPER:
            stats["peppers"] += 1
            secrets["pepper"].add(pepper.encode())
            secrets["pepper"].add(json.dumps(pepper).encode()[1:-1])  # as it would appear JSON-escaped
        elif pepper:
            skipped.append(repr(pepper))
    return secrets, sorted(set(skipped)), stats


def scan_bytes(data: bytes, where: str, secrets: dict[str, set[bytes]]) -> list[str]:
    """Hits in one file, each named by file, line and kind, never showing more than a secret's first characters."""
    hits = []
    for m in KEY_RE.finditer(data):
        line = data.count(b"\n", 0, m.start()) + 1
        hits.append(f"{where}:{line}: API-key-shaped text {m.group()[:16].decode()}…")
    for m in PEM_RE.finditer(data):
        hits.append(f"{where}: PEM private key block")
    for kind, values in secrets.items():
        for s in values:
            i = data.find(s)
            if i >= 0:
                line = data.count(b"\n", 0, i) + 1
                hits.append(f"{where}:{line}: {kind} ({len(s)} chars, starts {s[:3].decode(errors='replace')}…)")
    return hits


def main() -> int:
    audit, repo = Path(sys.argv[1]), Path(sys.argv[2])
    secrets, skipped, stats = collect(audit, repo)
    # Control: one sample of every kind must be found, or the scan proves nothing.
    canary = b"\n".join([b"allowly_rt_" + b"Q" * 32] + [sorted(v)[0] for v in secrets.values() if v])
    found = scan_bytes(canary, "canary", secrets)
    expected = 1 + sum(1 for v in secrets.values() if v)
    assert len(found) >= expected, f"scanner control: {len(found)} of {expected} planted secrets found"
    files = [p for p in sorted(audit.rglob("*")) if p.is_file() and not is_source(p)]
    hits: list[str] = []
    total = 0
    prefixes = 0
    for p in files:
        data = p.read_bytes()
        total += len(data)
        prefixes += len(PREFIX_RE.findall(data))
        hits += scan_bytes(data, str(p.relative_to(audit)), secrets)
    print(f"secrets audit: scanned {len(files)} files, {total} bytes under {audit}")
    print(f"  scanner control: {len(found)} planted samples found ({expected} kinds planted)")
    print(f"  searched: API-key shape + {len(secrets['api key']) // 2} minted API keys, "
          f"{stats['peppers']} test peppers, "
          f"master keys of {stats['servers']} dev servers, {stats['signing keys opened']} signing keys opened from "
          f"their databases (each in hex/base64/base64url), PEM private-key headers")
    print(f"  not searchable (too short to tell from words): peppers {', '.join(skipped) or 'none'}")
    print(f"  key display prefixes seen (allowed): {prefixes}")
    if hits:
        print(f"SECRETS AUDIT FAILED: {len(hits)} hit(s)")
        for h in hits[:50]:
            print("  " + h)
        return 1
    print("secrets audit passed: no API key, pepper, master key or signing key in any captured output")
    return 0


if __name__ == "__main__":
    sys.exit(main())
