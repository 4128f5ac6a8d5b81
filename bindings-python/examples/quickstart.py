import asyncio
import os

from allowly import Allowly
from allowly.identifiers import from_email
from allowly.verify import verify_receipt


async def main() -> None:
    async with Allowly(
        api_key=os.environ["ALLOWLY_KEY"],
        base_url=os.environ.get("ALLOWLY_BASE_URL", "https://api.allowly.ai"),
        allow_insecure_http=True,  # only for `allowly serve --dev` on your own machine
    ) as allowly:
        user_id = from_email("alice@example.com", pepper=os.environ["ALLOWLY_PII_PEPPER"])
        authorization = await allowly.authorizations.create(
            user_id=user_id, agent_id="my-email-agent", scopes=["email.read", "email.send"]
        )
        result = await allowly.check(
            authorization_id=authorization.authorization_id,
            scopes=["email.send"],
            resource="gmail:thread:abc123",
        )
        decision = result.results["email.send"]
        print(decision.decision, decision.reason)  # allow scope_granted

        # Receipts are signed asynchronously: wait for the signature, then verify it offline.
        signed = await allowly.receipts.fetch_signed(decision.receipt.receipt_id)
        keys = await allowly.keys.fetch(signed.to_dict()["workspace_id"])
        verified = verify_receipt(signed, keys)  # raises a VerificationError subclass if anything was altered
        print(verified.receipt_id, "is genuine:", verified.name, "→", verified.decision)


asyncio.run(main())
