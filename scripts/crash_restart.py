#!/usr/bin/env python3
"""Crash-restart check of `allowly serve`: concurrent load, SIGKILL at random points, restart on the same database.

    crash_restart.py --backend sqlite|postgres [--cycles 6] [--servers N] [--allowly PATH] [--seed N]

The promises under test are the ones a crash could break: a receipt id a client was given is never lost and ends up
signed and verifiable; a budget is never overspent; `max_per_day` is never exceeded; a confirmation nonce and a budget
settlement succeed at most once. A response the client received counts as acknowledged; a request cut off by the kill
acknowledged nothing, but whatever the server committed for it is still held to the same limits (they are checked on
the server's own audit trail, not only on what clients saw). Clients retry a cut-off request with its Idempotency-Key
like the SDK does, so a retry that lands on the restarted server must be replayed, not decided again. With
`--servers 2` (PostgreSQL) two processes share the database behind a random pick per request and each cycle kills one.

Load goes over plain HTTP so "acknowledged" means exactly "a status line and body arrived"; receipts are verified with
allowly-core's verifier through the Python SDK (`allowly.verify_batch`). `postgres` needs ALLOWLY_TEST_PG_URL (an
admin URL, as `scripts/with-postgres.sh` sets): a fresh database is created and dropped. Exit 0 when every check
holds, 1 on any violation, 2 on a setup failure. API keys and the master key are never printed.
"""

import argparse
import base64
import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from devserver import DevServer, DevServerError, free_port  # noqa: E402  (tests/support/devserver.py)

# Small enough that every cycle's fresh authorizations reach their limits even on a loaded machine.
BUDGET_LIMIT = 800_000
MAX_PER_DAY = 15
# Each cycle kills only after this many acknowledged requests since the restart, then after a random extra delay.
MIN_LOAD_PER_CYCLE = 40
TIMEOUT = 5.0


class SetupError(Exception):
    pass


class Api:
    """One HTTP exchange per call on a fresh connection, to one of the servers picked at random (like a load balancer
    would); raises OSError / HTTPException when none completed."""

    def __init__(self, ports):
        self.ports = ports

    def call(self, method, path, key, body=None, idempotency_key=None, timeout=TIMEOUT):
        conn = http.client.HTTPConnection("127.0.0.1", random.choice(self.ports), timeout=timeout)
        try:
            headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            if method in ("POST", "DELETE"):
                headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None), raw
        finally:
            conn.close()


class Ledger:
    """What clients were told (acknowledged responses only), shared by the worker threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.receipts = set()
        self.acknowledged = 0
        self.unacknowledged = 0
        self.retried = 0  # logical requests answered only after retrying with their Idempotency-Key
        self.statuses = Counter()
        self.budget_allows = {}  # check receipt id -> (authorization id, estimate)
        self.settled = defaultdict(int)  # check receipt id -> 2xx settlements acknowledged
        self.settle_actual = {}
        self.rate_allows = Counter()  # authorization id -> allows acknowledged
        self.approvals = defaultdict(int)  # confirmation id -> 2xx resolutions acknowledged (across keys)
        self.nonces = []  # (nonce, confirmation id) already resolved once: replayed later, must never work again
        self.seen_nonces = set()  # every confirm nonce a client was given (none may sit in the database in clear)
        self.confirmed_allows = Counter()  # confirmation id -> user_confirmed allows acknowledged
        self.violations = []

    def ack(self, route, status, body):
        with self.lock:
            self.acknowledged += 1
            self.statuses[(route, status)] += 1
            collect_receipt_ids(body, self.receipts)

    def lost(self):
        with self.lock:
            self.unacknowledged += 1

    def violation(self, text):
        with self.lock:
            self.violations.append(text)


def collect_receipt_ids(value, into):
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("receipt_id", "check_receipt_id") and isinstance(v, str) and v.startswith("rcp_"):
                into.add(v)
            else:
                collect_receipt_ids(v, into)
    elif isinstance(value, list):
        for v in value:
            collect_receipt_ids(v, into)


class Load:
    def __init__(self, api, key, ledger, auths, seed):
        self.api, self.key, self.ledger, self.auths = api, key, ledger, auths
        self.stop = threading.Event()
        self.rng = random.Random(seed)

    def request(self, route, method, path, body=None):
        """One logical request, retried like the SDK does — same Idempotency-Key and body — until it is answered or
        15 s pass, so a retry can land on the restarted server after the kill cut off its first attempt."""
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 15
        attempts = 0
        while True:
            attempts += 1
            try:
                status, doc, _ = self.api.call(method, path, self.key, body, idempotency_key=key)
                break
            except (OSError, http.client.HTTPException, ValueError):
                self.ledger.lost()
                if self.stop.is_set() or time.monotonic() > deadline:
                    return None, None
                time.sleep(0.05)
        self.ledger.ack(route, status, doc)
        if attempts > 1:
            with self.ledger.lock:
                self.ledger.retried += 1
        return status, doc

    @staticmethod
    def tagged(body):
        """A check body with a unique `context.req`, so the audit trail shows how often each one was decided."""
        return dict(body, context={"req": uuid.uuid4().hex})

    def pick(self, kind):
        with self.ledger.lock:
            ids = list(self.auths[kind])
        # Mostly the newest authorization (the one at its limit), sometimes an older one across restarts.
        return ids[-1] if self.rng.random() < 0.8 else self.rng.choice(ids)

    def budget_worker(self):
        while not self.stop.is_set():
            auth = self.pick("budget")
            estimate = self.rng.randrange(20_000, 120_000)
            status, doc = self.request("check", "POST", "/v1/check",
                                       self.tagged({"authorization_id": auth, "scopes": ["llm.call"],
                                                    "estimated_cost_micros": estimate}))
            if status != 200:
                continue
            result = doc["results"]["llm.call"]
            if result["decision"] == "allow":
                with self.ledger.lock:
                    self.ledger.budget_allows[result["receipt"]["receipt_id"]] = (auth, estimate)
            with self.ledger.lock:
                unsettled = [r for r in self.ledger.budget_allows if r not in self.ledger.settle_actual]
            if unsettled and self.rng.random() < 0.7:
                self.settle(self.rng.choice(unsettled))

    def settle(self, check_receipt_id):
        auth, estimate = self.ledger.budget_allows[check_receipt_id]
        actual = self.rng.randrange(estimate // 2, estimate + 1)
        body = {"check_receipt_id": check_receipt_id, "actual_cost_micros": actual}
        status, _ = self.request("settle", "POST", "/v1/budget-settlements", body)
        if status == 200:
            with self.ledger.lock:
                self.ledger.settled[check_receipt_id] += 1
                self.ledger.settle_actual.setdefault(check_receipt_id, actual)
        elif status == 409:
            # Settled already (by us, or by a request whose answer the kill cut off).
            with self.ledger.lock:
                self.ledger.settle_actual.setdefault(check_receipt_id, None)
        if status == 200 and self.rng.random() < 0.3:
            # A second settlement under a new Idempotency-Key must be refused.
            again, _ = self.request("settle", "POST", "/v1/budget-settlements", body)
            if again == 200:
                with self.ledger.lock:
                    self.ledger.settled[check_receipt_id] += 1

    def rate_worker(self):
        while not self.stop.is_set():
            auth = self.pick("rate")
            status, doc = self.request("check", "POST", "/v1/check",
                                       self.tagged({"authorization_id": auth, "scopes": ["api.call"]}))
            if status == 200 and doc["results"]["api.call"]["decision"] == "allow":
                with self.ledger.lock:
                    self.ledger.rate_allows[auth] += 1

    def confirm_worker(self):
        while not self.stop.is_set():
            auth = self.pick("confirm")
            resource = f"doc:{uuid.uuid4().hex[:12]}"
            check = {"authorization_id": auth, "scopes": ["mail.send"], "resource": resource}
            status, doc = self.request("check", "POST", "/v1/check", self.tagged(check))
            if status != 200 or doc["results"]["mail.send"]["decision"] != "confirm":
                continue
            result = doc["results"]["mail.send"]
            nonce, confirmation_id = result["confirm_nonce"], result["confirmation_id"]
            with self.ledger.lock:
                self.ledger.seen_nonces.add(nonce)
            approved = self.rng.random() < 0.85
            self.resolve(nonce, confirmation_id, approved)
            if approved:
                status, doc = self.request("check", "POST", "/v1/check", self.tagged(check))
                if status == 200:
                    r = doc["results"]["mail.send"]
                    if r["decision"] == "allow" and r["reason"] == "user_confirmed":
                        with self.ledger.lock:
                            self.ledger.confirmed_allows[confirmation_id] += 1
            with self.ledger.lock:
                old = self.rng.choice(self.ledger.nonces) if self.ledger.nonces else None
            if old and self.rng.random() < 0.3:
                # Replaying a nonce resolved earlier (possibly before a crash) under a new Idempotency-Key.
                self.resolve(*old, approved=True, replay=True)

    def resolve(self, nonce, confirmation_id, approved, replay=False):
        path = "/v1/confirmations/" + urllib.parse.quote(nonce, safe="")
        status, doc = self.request("approve", "POST", path, {"approved": approved, "ttl_seconds": 600})
        if status == 200:
            with self.ledger.lock:
                self.ledger.approvals[confirmation_id] += 1
                if not replay:
                    self.ledger.nonces.append((nonce, confirmation_id))
        elif not replay and status in (404, 410):
            with self.ledger.lock:
                self.ledger.nonces.append((nonce, confirmation_id))


def create_authorizations(api, key, ledger, auths, generation):
    """A fresh budget / rate / confirm authorization per cycle, so limits are hit again right around each kill."""
    bodies = {
        "budget": {"user_id": "u_crash", "agent_id": f"budget_{generation}", "scopes": ["llm.call"],
                   "budget_limit_micros": BUDGET_LIMIT},
        "rate": {"user_id": "u_crash", "agent_id": f"rate_{generation}",
                 "scopes": [{"name": "api.call", "constraints": {"max_per_day": MAX_PER_DAY}}]},
        "confirm": {"user_id": "u_crash", "agent_id": f"confirm_{generation}", "scopes": ["mail.send"],
                    "requires_confirm_for": ["mail.send"]},
    }
    for kind, body in bodies.items():
        idem = str(uuid.uuid4())
        for _ in range(200):
            try:
                status, doc, _ = api.call("POST", "/v1/authorizations", key, body, idempotency_key=idem)
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
                continue
            ledger.ack("create", status, doc)
            if status != 201:
                raise SetupError(f"create authorization answered {status}: {doc}")
            with ledger.lock:
                auths[kind].append(doc["authorization_id"])
            break
        else:
            raise SetupError("could not create an authorization")


class Database:
    """Creates the database (PostgreSQL: a fresh one from the admin URL) and counts pending receipts in it."""

    def __init__(self, backend, workdir):
        self.backend = backend
        if backend == "sqlite":
            self.path = os.path.join(workdir, "crash.db")
            self.url = f"sqlite:{self.path}"
        else:
            admin = os.environ.get("ALLOWLY_TEST_PG_URL")
            if not admin:
                raise SetupError("--backend postgres needs ALLOWLY_TEST_PG_URL (run under scripts/with-postgres.sh)")
            self.admin = admin
            self.name = f"allowly_crash_{uuid.uuid4().hex[:10]}"
            self.psql(admin, f"CREATE DATABASE {self.name}")
            parts = urllib.parse.urlsplit(admin)
            self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))

    @staticmethod
    def psql(url, sql):
        out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SetupError(f"psql failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def pending_receipts(self):
        sql = "SELECT COUNT(*) FROM receipts WHERE status = 'pending'"
        if self.backend == "sqlite":
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            try:
                return conn.execute(sql).fetchone()[0]
            finally:
                conn.close()
        return int(self.psql(self.url, sql))

    def idempotency_bodies(self):
        sql = "SELECT body FROM idempotency"
        if self.backend == "sqlite":
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            try:
                return [row[0] for row in conn.execute(sql)]
            finally:
                conn.close()
        return self.psql(self.url, sql).splitlines()

    def drop(self):
        if self.backend == "postgres":
            try:
                self.psql(self.admin, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            except (SetupError, DevServerError) as e:
                print(f"warning: {e}", file=sys.stderr)


def audit_trail(api, setup_key, authorization_id):
    """Every signed receipt of an authorization, from the server's audit route (all pages)."""
    out, cursor = [], None
    while True:
        q = {"authorization_id": authorization_id, "limit": "1000"}
        if cursor:
            q["cursor"] = cursor
        status, doc, _ = api.call("GET", "/v1/audit?" + urllib.parse.urlencode(q), setup_key, timeout=30)
        if status != 200:
            raise SetupError(f"GET /v1/audit answered {status}")
        out.extend(doc["data"])
        cursor = doc.get("next_cursor")
        if not cursor:
            return out


def verify(api, keys, workspace_id, ledger, auths, db):
    """All checks after the last restart; returns the list of violations and the counts printed."""
    from allowly.verify import VerifiedReceipt, load_keys_from_json, verify_batch  # allowly-core's verifier

    violations = list(ledger.violations)
    counts = {}

    deadline = time.monotonic() + 120
    while (pending := db.pending_receipts()) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pending:
        violations.append(f"{pending} receipts still pending 120 s after the last restart (signer stalled?)")

    def fetch(receipt_id):
        status, doc, _ = api.call("GET", f"/v1/receipts/{receipt_id}?wait_ms=10000", keys["runtime_api_key"], timeout=30)
        return receipt_id, status, doc

    signed = []
    with ThreadPoolExecutor(4) as pool:
        for receipt_id, status, doc in pool.map(fetch, sorted(ledger.receipts)):
            if status != 200:
                violations.append(f"receipt {receipt_id} a client was given: GET answered {status}")
            elif doc.get("status") != "signed":
                violations.append(f"receipt {receipt_id} a client was given is still {doc.get('status')}")
            else:
                signed.append(doc["receipt"])
    status, _, key_doc = api.call("GET", f"/v1/workspaces/{workspace_id}/keys", keys["runtime_api_key"])
    if status != 200:
        raise SetupError(f"GET keys answered {status}")
    key_set = load_keys_from_json(key_doc.decode())
    results = verify_batch(signed, key_set, expected_workspace_id=workspace_id)
    verified = 0
    for receipt, result in zip(signed, results):
        if isinstance(result, VerifiedReceipt) and result.receipt_id == receipt["receipt_id"]:
            verified += 1
        else:
            violations.append(f"receipt {receipt['receipt_id']} does not verify: {result!r}")
    counts["receipts checked"] = len(ledger.receipts)
    counts["receipts verified"] = verified

    # Server truth: every receipt of every authorization, including decisions whose answer the kill cut off.
    audited = 0
    decided = Counter()  # context.req of a check body -> receipts of it (a retry must replay, not decide again)

    def trail_of(auth):
        nonlocal audited
        trail = audit_trail(api, keys["setup_api_key"], auth)
        audited += len(trail)
        for r in trail:
            req = (r.get("context") or {}).get("req")
            if "action" in r and req:
                decided[req] += 1
        return trail

    for auth in auths["budget"]:
        trail = trail_of(auth)
        allows = {r["receipt_id"]: r for r in trail if r.get("action") == "llm.call" and r["decision"] == "allow"}
        settles = Counter(r["context"]["check_receipt_id"] for r in trail if r.get("event") == "budget.settle")
        actual = {r["context"]["check_receipt_id"]: r["context"]["actual_cost_micros"]
                  for r in trail if r.get("event") == "budget.settle"}
        for rid, n in settles.items():
            if n > 1:
                violations.append(f"check {rid} settled {n} times")
        committed = sum(actual.get(rid, r["context"]["budget"]["estimated_cost_micros"]) for rid, r in allows.items())
        if committed > BUDGET_LIMIT:
            violations.append(f"budget of {auth} overspent: {committed} > {BUDGET_LIMIT}")
        for r in allows.values():
            if r["context"]["budget"]["spent_after_micros"] > BUDGET_LIMIT:
                violations.append(f"allow {r['receipt_id']} took {auth} past its limit")
        # A settlement whose answer the kill cut off is known only to the server: its amount comes from the trail.
        client_sum = sum(ledger.settle_actual.get(rid) or actual.get(rid, est)
                         for rid, (a, est) in ledger.budget_allows.items() if a == auth)
        for rid, (a, _) in ledger.budget_allows.items():
            told = ledger.settle_actual.get(rid)
            if a == auth and told is not None and actual.get(rid) != told:
                violations.append(f"check {rid}: settled {told} for the client, {actual.get(rid)} on the server")
        if client_sum > BUDGET_LIMIT:
            violations.append(f"clients were allowed {client_sum} > {BUDGET_LIMIT} on {auth}")
        missing = [rid for rid, (a, _) in ledger.budget_allows.items() if a == auth and rid not in allows]
        if missing:
            violations.append(f"{len(missing)} acknowledged budget allows of {auth} missing from the audit trail")
        status, doc, _ = api.call("GET", f"/v1/authorizations/{auth}", keys["runtime_api_key"])
        if status != 200 or doc["budget_spent_micros"] > BUDGET_LIMIT:
            violations.append(f"authorization {auth}: {status}, spent {doc and doc.get('budget_spent_micros')}")
        counts.setdefault("budget_exceeded denies (server)", 0)
        counts["budget_exceeded denies (server)"] += sum(1 for r in trail if r.get("reason") == "budget_exceeded")
        counts.setdefault("budget allows (server)", 0)
        counts["budget allows (server)"] += len(allows)
        counts.setdefault("settlements (server)", 0)
        counts["settlements (server)"] += len(actual)
        counts.setdefault("max budget committed", 0)
        counts["max budget committed"] = max(counts["max budget committed"], committed)

    for auth in auths["rate"]:
        trail = trail_of(auth)
        per_day = Counter(r["issued_at"][:10] for r in trail if r.get("action") == "api.call" and r["decision"] == "allow")
        for day, n in per_day.items():
            if n > MAX_PER_DAY:
                violations.append(f"max_per_day of {auth} exceeded on {day}: {n} > {MAX_PER_DAY}")
        if ledger.rate_allows[auth] > MAX_PER_DAY * max(1, len(per_day)):
            violations.append(f"clients were given {ledger.rate_allows[auth]} allows on {auth}")
        counts.setdefault("rate_limit_exceeded denies (server)", 0)
        counts["rate_limit_exceeded denies (server)"] += sum(1 for r in trail if r.get("reason") == "rate_limit_exceeded")
        counts.setdefault("rate allows (server)", 0)
        counts["rate allows (server)"] += sum(per_day.values())

    for auth in auths["confirm"]:
        trail = trail_of(auth)
        resolves = Counter(r["context"]["confirmation_id"] for r in trail if r.get("event") == "confirmation.resolve")
        approved = {r["context"]["confirmation_id"] for r in trail
                    if r.get("event") == "confirmation.resolve" and r["decision"] == "confirmation_approved"}
        consumed = Counter(r["context"]["confirmation_id"] for r in trail
                           if r.get("action") == "mail.send" and r["reason"] == "user_confirmed")
        for cnf, n in resolves.items():
            if n > 1:
                violations.append(f"confirmation {cnf} resolved {n} times")
        for cnf, n in consumed.items():
            if n > 1 or cnf not in approved:
                violations.append(f"confirmation {cnf}: {n} user_confirmed allows, approved={cnf in approved}")
        counts.setdefault("confirmations resolved (server)", 0)
        counts["confirmations resolved (server)"] += len(resolves)
        counts.setdefault("approvals consumed (server)", 0)
        counts["approvals consumed (server)"] += sum(consumed.values())
    counts["audit receipts checked"] = audited
    counts["check requests decided (server)"] = len(decided)
    twice = [req for req, n in decided.items() if n > 1]
    if twice:
        violations.append(f"{len(twice)} check requests were decided more than once (retry not replayed)")

    for cnf, n in ledger.approvals.items():
        if n > 1:
            violations.append(f"the nonce of {cnf} was accepted {n} times")
    for cnf, n in ledger.confirmed_allows.items():
        if n > 1:
            violations.append(f"clients got {n} user_confirmed allows for {cnf}")
    for rid, n in ledger.settled.items():
        if n > 1:
            violations.append(f"clients got {n} successful settlements of {rid}")
    # Stored answers kept for idempotent replays must not leak the secrets a client was handed.
    stored = "\n".join(db.idempotency_bodies())
    leaked = sum(1 for nonce in ledger.seen_nonces if nonce in stored)
    if leaked:
        violations.append(f"{leaked} confirm nonces are stored in clear in the idempotency table")
    counts["nonces checked absent from the database"] = len(ledger.seen_nonces)
    counts["nonce replays refused"] = ledger.statuses[("approve", 404)] + ledger.statuses[("approve", 410)]
    counts["second settlements refused"] = ledger.statuses[("settle", 409)]
    return violations, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--cycles", type=int, default=6, help="SIGKILL + restart cycles (default 6)")
    parser.add_argument("--allowly", default=os.environ.get("ALLOWLY_BIN", "target/debug/allowly"))
    parser.add_argument("--servers", type=int, default=1,
                        help="server processes sharing the database (PostgreSQL only); each cycle kills one")
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed; default: random)")
    args = parser.parse_args()
    if args.servers > 1 and args.backend != "postgres":
        parser.error("--servers > 1 needs --backend postgres (SQLite is one process's database)")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    label = args.backend if args.servers == 1 else f"{args.backend} x{args.servers} servers"
    print(f"crash-restart [{label}]: {args.cycles} cycles, seed {seed}", flush=True)

    workdir = tempfile.mkdtemp(prefix=f"allowly-crash-{args.backend}-")
    env = dict(os.environ)
    env["ALLOWLY_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    env.setdefault("RUST_LOG", "warn")
    db = None
    servers = []
    keep = True
    try:
        db = Database(args.backend, workdir)
        init = subprocess.run([args.allowly, "init", "--db", db.url], env=env, capture_output=True, text=True)
        if init.returncode != 0:
            raise SetupError(f"allowly init failed ({init.returncode}): {init.stderr.strip()}")
        keys = json.loads(init.stdout)
        workspace_id = keys["workspace_id"]
        for i in range(args.servers):
            servers.append(DevServer(workdir, binary=args.allowly, db_url=db.url, dev=False, port=free_port(), env=env,
                                     name=str(i)))
            servers[-1].start()
        api = Api([s.port for s in servers])
        ledger = Ledger()
        auths = {"budget": [], "rate": [], "confirm": []}
        create_authorizations(api, keys["runtime_api_key"], ledger, auths, 0)

        load = Load(api, keys["runtime_api_key"], ledger, auths, rng.randrange(1 << 30))
        workers = [load.budget_worker, load.budget_worker, load.rate_worker, load.rate_worker,
                   load.confirm_worker, load.confirm_worker]
        threads = [threading.Thread(target=w, daemon=True) for w in workers]
        for t in threads:
            t.start()
        startup_kills = unsigned_at_kills = 0
        for cycle in range(1, args.cycles + 1):
            with ledger.lock:
                floor = ledger.acknowledged + MIN_LOAD_PER_CYCLE
            deadline = time.monotonic() + 60
            while ledger.acknowledged < floor and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.1, 1.5))
            with ledger.lock:
                before = ledger.acknowledged
            server = rng.choice(servers)
            server.kill()
            # Receipts the dead server committed but had not signed yet: the restarted signer must finish them.
            unsigned = db.pending_receipts()
            unsigned_at_kills += unsigned
            time.sleep(rng.uniform(0.0, 0.3))
            if cycle % 3 == 0:
                # Also die while starting up: opening the database, migrating, resuming the signer.
                server.spawn()
                time.sleep(rng.uniform(0.0, 0.15))
                server.kill()
                startup_kills += 1
            started = time.monotonic()
            server.start()
            ready_in = time.monotonic() - started
            create_authorizations(api, keys["runtime_api_key"], ledger, auths, cycle)
            which = f" server {servers.index(server)}" if len(servers) > 1 else ""
            print(f"  cycle {cycle}: SIGKILL{which} after {before} acknowledged requests with {unsigned} receipts unsigned, "
                  f"ready again in {ready_in:.2f} s", flush=True)
        time.sleep(1.5)
        load.stop.set()
        for t in threads:
            t.join(timeout=30)

        violations, counts = verify(api, keys, workspace_id, ledger, auths, db)
        print(f"crash-restart [{label}]: cycles survived {args.cycles} (+{startup_kills} kills during startup), "
              f"requests acknowledged {ledger.acknowledged} ({ledger.retried} only after retrying across a kill), "
              f"attempts without an answer {ledger.unacknowledged}, receipts left unsigned by the kills {unsigned_at_kills}")
        for name, value in counts.items():
            print(f"  {name}: {value}")
        statuses = Counter()
        for (route, status), n in ledger.statuses.items():
            statuses[f"{route} {status}"] += n
        print("  responses: " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())))
        server_errors = {k: v for k, v in statuses.items() if k.split()[1].startswith("5")}
        if server_errors:
            violations.append(f"5xx answers under load: {server_errors}")
        if violations:
            print(f"crash-restart [{label}]: {len(violations)} VIOLATIONS", file=sys.stderr)
            for v in violations[:50]:
                print(f"  - {v}", file=sys.stderr)
            for server in servers:
                print(f"server log tail ({server.log_path}):\n{server.log_tail()}", file=sys.stderr)
            return 1
        print(f"crash-restart [{label}]: OK")
        keep = False
        return 0
    except (SetupError, DevServerError) as e:
        print(f"crash-restart [{label}]: setup failed: {e}", file=sys.stderr)
        return 2
    finally:
        for server in servers:
            server.stop()
        if db:
            db.drop()
        if keep:
            print(f"crash-restart [{label}]: database and server log kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
