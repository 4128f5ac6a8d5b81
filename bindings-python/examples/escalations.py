import os

from allowly import SyncAllowly

base_url = os.environ.get("ALLOWLY_BASE_URL", "https://api.allowly.ai")
dev = {"base_url": base_url, "allow_insecure_http": True}  # only for `allowly serve --dev` on your own machine

with SyncAllowly(os.environ["ALLOWLY_SETUP_KEY"], **dev) as setup, SyncAllowly(os.environ["ALLOWLY_KEY"], **dev) as app:
    # Two approvers, each with a credential of their own (shown once: hand it to the person, never log it).
    lead = setup.admin.members.create("team-lead-example", display_name="Team lead")
    cfo = setup.admin.members.create("cfo-example", display_name="CFO")
    auth = app.authorizations.create(
        user_id="user-123", agent_id="billing-agent", scopes=["payments.send"],
        requires_escalation_for=["payments.send"],
        escalation_targets={"payments.send": ["member:team-lead-example", "member:cfo-example"]},  # level 1, level 2
    )
    call = {"authorization_id": auth.authorization_id, "scopes": ["payments.send"], "resource": "invoice:42"}
    asked = app.check(**call).results["payments.send"]
    print(asked.decision, asked.reason, asked.escalation_to)  # escalate scope_requires_escalation member:team-lead-example

    # Each member answers with their own credential; the server records who from it.
    for member in (lead, cfo):
        with SyncAllowly(member.credential, **dev) as approver:
            step = approver.escalations.approve(asked.escalation_id, note="checked the invoice")
            print(f"level {step.level}/{step.levels}:", step.status, "→", step.escalation_status)

    print(app.escalations.wait(asked.escalation_id, timeout=30).status)  # approved
    allowed = app.check(**call).results["payments.send"]
    print(allowed.decision, allowed.reason)  # allow escalation_approved (once: the next call asks again)
