import os

from fastmcp import FastMCP
from allowly import AllowlyMCPMiddleware

base_url = os.environ.get("ALLOWLY_BASE_URL", "https://api.allowly.ai")
dev = {"base_url": base_url, "allow_insecure_http": True}  # only for `allowly serve --dev` on your own machine
authorizations = {os.environ["EXAMPLE_USER_ID"]: os.environ["EXAMPLE_AUTHORIZATION_ID"]}  # your database

mcp = FastMCP("my-email-agent")
mcp.add_middleware(AllowlyMCPMiddleware(
    api_key=os.environ["ALLOWLY_KEY"],
    # Who is calling. A stdio server runs for the one user who started it; over HTTP, leave user_id_fn out and the
    # subject of the access token your FastMCP auth validated is the user. Never the model's `user_id` argument.
    user_id_fn=lambda ctx: os.environ["EXAMPLE_USER_ID"],
    authorization_id_fn=lambda user_id: authorizations.get(user_id),  # may be async
    **dev,
))


@mcp.tool()
def send_email(to: str, body: str) -> str:
    # Only reached if Allowly allowed it (after the user confirmed, when the authorization asks for that)
    return f"sent to {to}"


if __name__ == "__main__":
    mcp.run()  # stdio
