"""The admin client (``client.admin``, a setup key's calls) against the real ``allowly serve --dev``: API keys shown
once and never in a repr, the webhook endpoint, signing-key rotation, audit pages and the page iterator with every
filter, the export, and a runtime key refused with ``PermissionDeniedError`` on each call."""

from __future__ import annotations

from typing import Dict, List

import pytest

import allowly
from conftest import client_kwargs


def setup_kwargs(server: Dict[str, str]) -> Dict[str, object]:
    return {**client_kwargs(server), "api_key": server["setup_api_key"]}


async def test_api_keys_are_shown_once_listed_and_revoked(server: Dict[str, str]) -> None:
    async with allowly.Allowly(**setup_kwargs(server)) as admin:
        assert isinstance(admin.admin, allowly.Admin)
        created = await admin.admin.api_keys.create(tier="runtime", name="py ci")
        assert isinstance(created, allowly.CreatedApiKey)
        assert created.key and created.key.startswith("allowly_rt_") and created.key.startswith(created.prefix)
        assert created.key not in repr(created) and "<redacted>" in repr(created)
        async with allowly.Allowly(**{**client_kwargs(server), "api_key": created.key}) as fresh:
            await fresh.authorizations.create(user_id="u", agent_id="bot", scopes=["a"])
        listed = await admin.admin.api_keys.list()
        mine = [k for k in listed if k.id == created.id]
        assert len(mine) == 1 and (mine[0].name, mine[0].tier, mine[0].revoked_at) == ("py ci", "runtime", None)
        assert all(created.key not in repr(k) and created.key not in str(k.to_dict()) for k in listed)
        revoked = await admin.admin.api_keys.revoke(created.id)
        assert revoked.id == created.id and revoked.revoked_at
        with pytest.raises(allowly.ValidationError) as bad:
            await admin.admin.api_keys.create(tier="root", name="x")
        assert bad.value.fields[0].field == "tier"
        with pytest.raises(allowly.NotFoundError):
            await admin.admin.api_keys.revoke("key_missing")


def test_webhook_and_rotation_through_the_blocking_client(server: Dict[str, str]) -> None:
    with allowly.SyncAllowly(**setup_kwargs(server)) as admin:
        hook = admin.admin.webhook.set("http://127.0.0.1:9/hook")
        assert hook.signing_secret.startswith("whsec_") and hook.signing_secret not in repr(hook)
        read = admin.admin.webhook.get()
        assert (read.url, read.events) == (hook.url, hook.events) and read.events
        admin.admin.webhook.delete()
        with pytest.raises(allowly.NotFoundError):
            admin.admin.webhook.get()
        rotation = admin.admin.signing_keys.rotate()
        assert rotation.workspace_id == server["workspace_id"] and rotation.key_id


async def test_audit_filters_pages_iterates_and_exports(server: Dict[str, str], client: allowly.Allowly) -> None:
    auth = await client.authorizations.create(user_id="u-py-audit", agent_id="bot-py", scopes=["mail.send"])
    ids: List[str] = [auth.receipt.receipt_id]
    for scope, run in [("mail.send", "r1"), ("files.delete", "r1"), ("mail.send", "r2")]:
        result = await client.check(authorization_id=auth.authorization_id, scopes=[scope], context={"run_id": run})
        ids.append(result.results[scope].receipt.receipt_id)
    for rid in ids:
        await client.receipts.fetch_signed(rid, poll_interval=0.05, timeout=20)

    async with allowly.Allowly(**setup_kwargs(server)) as admin:
        audit = admin.admin.audit
        sends = await audit.list(action="mail.send", agent_id="bot-py")
        assert [r.receipt_id for r in sends.receipts] == [ids[3], ids[1]]
        assert isinstance(sends, allowly.AuditPage) and len(sends) == 2 and sends.next_cursor is None
        rows = sends.rows()
        assert all(isinstance(r, allowly.AuditRow) and r.action == "mail.send" for r in rows)
        denied = await audit.list(run_id="r1", decision="deny", user_id="u-py-audit")
        assert [r.reason for r in denied.rows()] == ["scope_not_in_authorization"]
        assert len(await audit.list(user_id="u-py-audit", since="2999-01-01T00:00:00Z")) == 0

        first = await audit.list(user_id="u-py-audit", limit=3)
        assert len(first) == 3 and first.next_cursor
        rest = await audit.list(user_id="u-py-audit", limit=3, cursor=first.next_cursor)
        assert [r.receipt_id for r in first.receipts + rest.receipts] == ids[::-1]

        walked = [r.receipt_id async for r in audit.iter(user_id="u-py-audit", limit=1)]
        assert walked == ids[::-1]
        with pytest.raises(allowly.ValidationError) as bad:
            audit.iter(limit=0)
        assert bad.value.fields[0].field == "limit"

        exported = await audit.export(since="2000-01-01T00:00:00Z")
        mine = [r for r in exported if r.receipt_id in ids]
        assert [r.receipt_id for r in mine] == ids
        assert mine[1].json == sends.receipts[1].json


def test_blocking_iter_and_a_runtime_key_refused(server: Dict[str, str]) -> None:
    with allowly.SyncAllowly(**setup_kwargs(server)) as admin:
        assert all(isinstance(r, allowly.SignedReceipt) for r in admin.admin.audit.iter(limit=2))
    with allowly.SyncAllowly(**client_kwargs(server)) as runtime:
        calls = [
            lambda: runtime.admin.api_keys.list(),
            lambda: runtime.admin.api_keys.create(tier="setup", name="x"),
            lambda: runtime.admin.webhook.get(),
            lambda: runtime.admin.signing_keys.rotate(),
            lambda: runtime.admin.audit.list(),
            lambda: list(runtime.admin.audit.iter()),
            lambda: runtime.admin.audit.export(),
        ]
        for call in calls:
            with pytest.raises(allowly.PermissionDeniedError) as denied:
                call()
            assert denied.value.code == "insufficient_key_tier"
