"""Defaults are core's: every literal default a Python signature spells for a duration must equal core's value
(`allowly_core::client::DEFAULT_DURATIONS`), so a default changes in core and this test names every place to follow."""

from __future__ import annotations

import inspect
from typing import Callable, Dict, List, Tuple

from allowly import _client, _native, verify

# (callable, {parameter name: core's default name}) for every public and native signature that spells a duration.
SIGNATURES: List[Tuple[Callable[..., object], Dict[str, str]]] = [
    (_client.ConfirmationsAPI.wait, {"timeout": "wait_timeout", "poll_interval": "wait_poll_interval"}),
    (_native.NativeClient.wait_for_confirmation, {"timeout": "wait_timeout", "poll_interval": "wait_poll_interval"}),
    (_client.ReceiptsAPI.fetch_signed, {"timeout": "fetch_signed_timeout", "poll_interval": "fetch_signed_poll_interval"}),
    (_native.NativeClient.fetch_signed, {"timeout": "fetch_signed_timeout", "poll_interval": "fetch_signed_poll_interval"}),
    (verify.fetch_keys_doc, {"cache_ttl_seconds": "keys_doc_cache_ttl"}),
    (_native.fetch_keys_doc, {"cache_ttl_seconds": "keys_doc_cache_ttl"}),
]


def test_every_spelled_duration_default_is_cores() -> None:
    core = _native._client_defaults()
    assert {"timeout", "check_timeout", "wait_timeout", "fetch_signed_timeout"} <= set(core), core
    checked = 0
    for fn, names in SIGNATURES:
        params = inspect.signature(fn).parameters
        for param, core_name in names.items():
            assert params[param].default == core[core_name], f"{fn.__qualname__}({param}=…) differs from core's {core_name}"
            checked += 1
    assert checked == 10


def test_client_options_default_to_core() -> None:
    # The client's timeouts are None in the signature: None means core's default, never a second copy here.
    for cls in (_client.Allowly, _client.SyncAllowly):
        params = inspect.signature(cls).parameters
        assert params["timeout"].default is None and params["check_timeout"].default is None
