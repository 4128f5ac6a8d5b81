"""A tool's OWN input request (2026-07-28 `input_required` with its own `requestState`) behind the MCP middleware,
against the real `allowly serve --dev` and the real FastMCP 4.x and official SDK `MCPServer`.

The gate wraps the tool's state inside its own, bound to the call: the accepted confirmation's retry reaches the
tool (the gate does not ask again), the tool's retry resumes it once with its own state and answer, and a replayed or
moved wrapped state is refused with -32602 without running the tool. `ran` counts real tool-body runs; `rounds`
records what each tool body saw (its own state and answers), so the gate's state is proven never to reach it."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional, Tuple, Union

import pytest

import allowly
from mcp_fronts import FRONTS, NEW, Front, connected, gate_options, text_of

from mcp import types as mt  # noqa: E402
from mcp.server.mcpserver import Context as SdkContext  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402
from fastmcp import Context as FastContext  # noqa: E402

TOOL_STATE = "tool-round-1"
SUBJECT_QUESTION = "Which subject?"
ASKED = mt.InputRequiredResult.model_validate(
    {
        "inputRequests": {
            "subject": {
                "method": "elicitation/create",
                "params": {
                    "mode": "form",
                    "message": SUBJECT_QUESTION,
                    "requestedSchema": {
                        "type": "object",
                        "properties": {"subject": {"type": "string"}},
                        "required": ["subject"],
                    },
                },
            }
        },
        "requestState": TOOL_STATE,
    }
)
ACCEPT = {"allowly_confirmation": {"action": "accept", "content": {}}}
SUBJECT = {"subject": {"action": "accept", "content": {"subject": "hello"}}}
TO = {"to": "a@example.com"}

Rounds = List[Tuple[str, Optional[str], Optional[List[str]]]]


def _subject(answers: Any) -> Optional[str]:
    answer = (answers or {}).get("subject")
    content = answer.get("content") if isinstance(answer, dict) else getattr(answer, "content", None)
    return None if not content else content.get("subject")


def _body(name: str, to: str, ctx: Any, ran: List[str], rounds: Rounds) -> Any:
    """One round of a tool that asks its own question, then runs with the answer."""
    answers = ctx.input_responses
    rounds.append((name, ctx.request_state, None if answers is None else sorted(answers)))
    subject = _subject(answers)
    if subject is None:
        return ASKED
    ran.append(name)
    return f"sent to {to}: {subject} (state {ctx.request_state})"


def asking_server(front: Front, options: Dict[str, Any], ran: List[str], rounds: Rounds) -> Any:
    """The front's server plus two tools that ask their own question: one confirm-gated, one allowed outright."""
    srv = front.server(options, ran)
    context_type = FastContext if front.name == "fastmcp" else SdkContext

    def ask_and_send(to: str, ctx: Any) -> Any:
        return _body("ask_and_send", to, ctx, ran, rounds)

    def ask_and_read(to: str, ctx: Any) -> Any:
        return _body("ask_and_read", to, ctx, ran, rounds)

    def ask_big(ctx: Any) -> Any:
        ran.append("ask_big")
        return mt.InputRequiredResult(input_requests=ASKED.input_requests, request_state="x" * 70_000)

    ask_big.__annotations__ = {"ctx": context_type, "return": Union[str, mt.InputRequiredResult]}
    srv.tool()(ask_big)
    for tool in (ask_and_send, ask_and_read):
        # Real types (not this module's postponed strings): the framework injects its Context by annotation.
        tool.__annotations__ = {"to": str, "ctx": context_type, "return": Union[str, mt.InputRequiredResult]}
        srv.tool()(tool)
    return srv


@pytest.fixture(params=FRONTS, ids=lambda f: f.name)
def front(request: pytest.FixtureRequest) -> Front:
    return request.param


@pytest.fixture
async def asker(client: allowly.Allowly) -> Dict[str, str]:
    """A user granted ask_and_send with confirmation and ask_and_read outright."""
    user_id = f"user-{uuid.uuid4().hex[:8]}"
    auth = await client.authorizations.create(
        user_id=user_id,
        agent_id="mcp-test-agent",
        scopes=["ask_and_send", "ask_and_read", "ask_big"],
        requires_confirm_for=["ask_and_send"],
    )
    return {"user_id": user_id, "authorization_id": auth.authorization_id}


async def _call(c: Any, name: str, arguments: Dict[str, Any], **retry: Any) -> Any:
    return await c.session.call_tool(name=name, arguments=arguments, allow_input_required=True, **retry)


async def _refused(c: Any, name: str, arguments: Dict[str, Any], **retry: Any) -> MCPError:
    with pytest.raises(MCPError) as refused:
        await _call(c, name, arguments, **retry)
    assert refused.value.code == -32602
    return refused.value


async def test_confirm_gated_tool_asks_its_own_question_after_the_gate_and_runs_once(
    front, server, asker, client
) -> None:
    ran: List[str] = []
    rounds: Rounds = []
    srv = asking_server(front, gate_options(server, asker, signed_in=asker["user_id"]), ran, rounds)
    async with connected(front, srv, NEW, answer="accept") as c:
        first = await _call(c, "ask_and_send", TO)
        assert first.result_type == "input_required" and list(first.input_requests) == ["allowly_confirmation"]
        assert rounds == [] and ran == []

        # The accepted confirmation reaches the tool, which asks its own question; the gate does not ask again.
        second = await _call(c, "ask_and_send", TO, input_responses=ACCEPT, request_state=first.request_state)
        assert second.result_type == "input_required" and list(second.input_requests) == ["subject"]
        assert second.input_requests["subject"].params.message == SUBJECT_QUESTION
        assert rounds == [("ask_and_send", None, None)], "the gate's state and answers never reach the tool"
        wrapped = second.request_state
        assert wrapped and wrapped not in (TOOL_STATE, first.request_state)

        # The same wrapped state on another call (other arguments) is refused, and spends nothing.
        await _refused(
            c, "ask_and_send", {"to": "mallory@example.com"}, input_responses=SUBJECT, request_state=wrapped
        )
        assert ran == [] and len(rounds) == 1

        # The tool's retry resumes it once, with its own state and answer.
        done = await _call(c, "ask_and_send", TO, input_responses=SUBJECT, request_state=wrapped)
        assert not done.is_error, done
        assert text_of(done) == f"sent to a@example.com: hello (state {TOOL_STATE})"
        assert rounds[1] == ("ask_and_send", TOOL_STATE, ["subject"])
        assert ran == ["ask_and_send"]
        assert done.meta["allowly.ai/decision"] == "allow"
        assert done.meta["allowly.ai/reason"] == "user_confirmed"
        receipts = done.meta["allowly.ai/receipt_ids"]
        assert len(receipts) == 3  # the confirm, the user's answer, the re-check: one confirmation only

        replayed = await _refused(c, "ask_and_send", TO, input_responses=SUBJECT, request_state=wrapped)
        assert "already used" in replayed.error.message
    assert ran == ["ask_and_send"] and len(rounds) == 2, "a replayed retry never runs the tool body again"
    for receipt_id in receipts:
        assert (await client.receipts.fetch_signed(receipt_id, poll_interval=0.1, timeout=20)).receipt_id == receipt_id


async def test_a_client_that_answers_both_questions_gets_the_tool_result(front, server, asker) -> None:
    ran: List[str] = []
    rounds: Rounds = []
    asked: List[str] = []
    srv = asking_server(front, gate_options(server, asker, signed_in=asker["user_id"]), ran, rounds)

    if front.name == "fastmcp":
        import fastmcp

        async def handler(message: str, response_type: Any, params: Any, context: Any) -> Any:
            asked.append(message)
            return mt.ElicitResult(action="accept", content={"subject": "hello"} if message == SUBJECT_QUESTION else {})

        connection = fastmcp.Client(srv, elicitation_handler=handler, mode=NEW)
    else:
        from mcp import Client as SdkClient

        async def callback(context: Any, params: Any) -> Any:
            asked.append(params.message)
            content = {"subject": "hello"} if params.message == SUBJECT_QUESTION else {}
            return mt.ElicitResult(action="accept", content=content)

        connection = SdkClient(srv, elicitation_callback=callback, mode=NEW)
    async with connection as c:
        result = await front.call(c, "ask_and_send", TO)
    assert len(asked) == 2 and "`ask_and_send`" in asked[0] and asked[1] == SUBJECT_QUESTION
    assert not result.is_error and text_of(result) == f"sent to a@example.com: hello (state {TOOL_STATE})"
    assert ran == ["ask_and_send"]


async def test_an_allowed_tool_asks_its_own_question_and_runs_once(front, server, asker) -> None:
    ran: List[str] = []
    rounds: Rounds = []
    srv = asking_server(front, gate_options(server, asker, signed_in=asker["user_id"]), ran, rounds)
    async with connected(front, srv, NEW, answer="accept") as c:
        first = await _call(c, "ask_and_read", TO)
        assert first.result_type == "input_required" and list(first.input_requests) == ["subject"]
        assert first.request_state and first.request_state != TOOL_STATE
        await _refused(
            c, "ask_and_read", {"to": "b@example.com"}, input_responses=SUBJECT, request_state=first.request_state
        )
        assert ran == []
        done = await _call(c, "ask_and_read", TO, input_responses=SUBJECT, request_state=first.request_state)
        assert not done.is_error and text_of(done) == f"sent to a@example.com: hello (state {TOOL_STATE})"
        assert done.meta["allowly.ai/decision"] == "allow"
        assert len(done.meta["allowly.ai/receipt_ids"]) == 1, "the resumed round is not checked a second time"
        replayed = await _refused(c, "ask_and_read", TO, input_responses=SUBJECT, request_state=first.request_state)
        assert "already used" in replayed.error.message
    assert ran == ["ask_and_read"]
    assert [state for _, state, _ in rounds] == [None, TOOL_STATE]


async def test_a_tool_state_too_large_to_carry_is_an_internal_error_not_a_bare_state(front, server, asker) -> None:
    ran: List[str] = []
    srv = asking_server(front, gate_options(server, asker, signed_in=asker["user_id"]), ran, [])
    async with connected(front, srv, NEW, answer="accept") as c:
        with pytest.raises(MCPError) as refused:
            await _call(c, "ask_big", {})
    assert refused.value.code == -32603 and "too large" in refused.value.error.message
    assert ran == ["ask_big"]


async def test_the_gate_itself_binds_a_wrapped_state_to_its_call_and_opens_it_once(server, asker) -> None:
    """Below the frameworks (whose own request-state layer also binds arguments): the gate's wrapped state opens only
    for the same tool, arguments and user, once, and a 2025-11-25 run is left for the framework to relay."""
    gate = allowly.mcp.AllowlyGate(**gate_options(server, asker, signed_in=asker["user_id"]))
    meta = {"io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}}}

    async def step(arguments: Dict[str, Any], version: str = NEW, **retry: Any) -> Any:
        return await gate.step(
            "ask_and_read", arguments, server_context=None, access_token=None, protocol_version=version,
            request_meta=meta, client_capabilities=None, **retry,
        )

    ran = await step(TO)
    assert ran.kind == "run" and ran.meta["allowly.ai/decision"] == "allow"
    wrapped = gate.wrap_input_required(ran, ASKED)
    assert wrapped.kind == "input_required" and list(wrapped.result["inputRequests"]) == ["subject"]
    state = wrapped.result["requestState"]
    assert TOOL_STATE not in state

    for arguments in ({"to": "b@example.com"}, {}):
        moved = await step(arguments, input_responses=SUBJECT, request_state=state)
        assert moved.kind == "protocol_error" and moved.error["code"] == -32602
        assert moved.error["message"] == "requestState belongs to another tool call"
    answers = {**ACCEPT, **SUBJECT}
    resumed = await step(TO, input_responses=answers, request_state=state)
    assert resumed.kind == "resume" and resumed.request_state == TOOL_STATE
    assert resumed.input_responses == SUBJECT, "the gate's own answer is not the tool's"
    assert resumed.meta == ran.meta
    again = await step(TO, input_responses=answers, request_state=state)
    assert again.kind == "protocol_error" and again.error["message"] == "requestState was already used"

    legacy = await step(TO, version="2025-11-25")
    assert legacy.kind == "run" and gate.wrap_input_required(legacy, ASKED) is None
    await gate.close()
