"""Client options: written once (``_options.ClientOptions``) and agreed on by the constructor, ``with_options``,
``ClientConfig`` and the per-call options; ``with_options`` builds its copy with the constructor, and the copy
shares the pool, the credential, the pacing budget and the deployments with its original."""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any, get_type_hints

import httpx
import pytest
from support.shells import USER_HI, Shell, make_client

from llama_azure import (
    AsyncLlamaClient,
    ConfigurationError,
    Deployment,
    InternalServerError,
    LlamaClient,
    NotFoundError,
    ParameterError,
    RateLimit,
)
from llama_azure._base_client import BaseClient
from llama_azure._call.config import DEFAULT_TIMEOUT, ClientConfig
from llama_azure._call.options import OPTION_NAMES, ClientOptions, OptionChanges
from llama_azure._request.params import RequestOptions
from llama_azure.server.process import ReferenceServer

ENDPOINT = "https://unit.eastus2.models.ai.azure.com"
NEEDS_MODEL = re.escape("a model (the deployment name) is needed")
CLASSES = pytest.mark.parametrize("cls", [LlamaClient, AsyncLlamaClient])
# The public constructor, exactly: (name, kind, default, annotation). Users and type checkers read it.
SIGNATURE = [
    ("endpoint", "POSITIONAL_OR_KEYWORD", None, "str | None"),
    ("credential", "POSITIONAL_OR_KEYWORD", None,
     "str | KeyCredential | TokenCredential | AsyncTokenCredential | None"),
    ("api", "KEYWORD_ONLY", None, "Literal['llama', 'model-inference', 'score', 'openai-v1'] | None"),
    ("deployment", "KEYWORD_ONLY", None, "str | None"),
    ("api_version", "KEYWORD_ONLY", None, "str | None"),
    ("max_retries", "KEYWORD_ONLY", 2, "int"),
    ("max_retry_wait", "KEYWORD_ONLY", 60.0, "float"),
    ("timeout", "KEYWORD_ONLY", None, "float | httpx.Timeout | None"),
    ("stream_idle_timeout", "KEYWORD_ONLY", None, "float | None"),
    ("total_timeout", "KEYWORD_ONLY", None, "float | None"),
    ("http_client", "KEYWORD_ONLY", None, "HttpT | None"),
    ("default_headers", "KEYWORD_ONLY", None, "Mapping[str, str] | None"),
    ("scope", "KEYWORD_ONLY", None, "str | None"),
    ("token_refresh_margin", "KEYWORD_ONLY", 300.0, "float"),
    ("allow_insecure_http", "KEYWORD_ONLY", False, "bool"),
    ("max_response_bytes", "KEYWORD_ONLY", 64 * 1024 * 1024, "int"),
    ("model", "KEYWORD_ONLY", None, "str | None"),
    ("rate_limit", "KEYWORD_ONLY", None, "RateLimit | None"),
    ("on_retry", "KEYWORD_ONLY", None, "Callable[[int, BaseException, float], object] | None"),
    ("deployments", "KEYWORD_ONLY", None, "Sequence[Deployment] | None"),
    ("cool_down", "KEYWORD_ONLY", None, "CoolDown | None"),
]


def on_retry(attempt: int, error: BaseException, wait: float) -> None:
    """An ``on_retry`` that is not the default (None)."""


# A value other than the default for every option.
NOT_DEFAULT: dict[str, Any] = dict(
    timeout=12.0, max_retries=5, max_retry_wait=3.0, stream_idle_timeout=7.0, total_timeout=40.0,
    default_headers={"x-team": "blue"}, allow_insecure_http=True, max_response_bytes=1000, model="m",
    on_retry=on_retry)


@CLASSES
def test_the_public_constructor_is_unchanged(cls: type[BaseClient[Any]]) -> None:
    public = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and not p.name.startswith("_")]
    assert [(p.name, p.kind.name, p.default, p.annotation) for p in public] == SIGNATURE


def test_the_constructor_with_options_and_client_config_agree_on_the_options() -> None:
    from llama_azure._pacing.rate_limit import RateLimit as RateLimitClass

    init = get_type_hints(BaseClient.__init__, localns={"RateLimit": RateLimitClass})
    defaults = {p.name: p.default for p in inspect.signature(BaseClient.__init__).parameters.values()}
    options = get_type_hints(ClientOptions)
    changes = get_type_hints(OptionChanges)
    assert list(changes) == list(OPTION_NAMES) == list(options)
    for field in dataclasses.fields(ClientOptions):
        assert init[field.name] == options[field.name] == changes[field.name], field.name
        assert defaults[field.name] == field.default, field.name
    # ClientConfig holds every option the core reads, checked, with no default of its own.
    config_fields = {f.name: f for f in dataclasses.fields(ClientConfig)}
    for name in OPTION_NAMES:
        if name != "on_retry":  # the shells' alone
            assert config_fields[name].default is dataclasses.MISSING, name
            assert config_fields[name].default_factory is dataclasses.MISSING, name
    # The per-call options are client options too (and have the same names).
    per_call = set(RequestOptions.__annotations__) - {"extra_body", "extra_headers", "extra_query"}
    assert per_call <= set(OPTION_NAMES)


@CLASSES
def test_every_option_reaches_the_client_from_the_constructor_and_from_with_options(
        cls: type[BaseClient[Any]]) -> None:
    assert set(NOT_DEFAULT) == set(OPTION_NAMES)
    assert all(NOT_DEFAULT[f.name] != f.default for f in dataclasses.fields(ClientOptions))
    made = cls(ENDPOINT, "k", **NOT_DEFAULT)
    copied = cls(ENDPOINT, "k").with_options(**NOT_DEFAULT)
    assert made._options == copied._options == ClientOptions(**NOT_DEFAULT)
    assert made._config == copied._config
    assert copied._on_retry is on_retry and copied._config.model == "m"
    assert copied._config.timeout == httpx.Timeout(12.0, connect=5.0)


@CLASSES
def test_with_options_replaces_the_named_options_and_keeps_the_others(cls: type[BaseClient[Any]]) -> None:
    client = cls(ENDPOINT, "k", max_retries=4, stream_idle_timeout=5.0, timeout=20.0,
                 default_headers={"x-a": "1"})
    copy = client.with_options(default_headers={"x-b": "2"}, max_response_bytes=10)
    assert copy._config.default_headers == {"x-a": "1", "x-b": "2"}  # added to the current ones
    assert (copy._config.max_retries, copy._config.stream_idle_timeout) == (4, 5.0)
    assert copy._config.max_response_bytes == 10
    again = copy.with_options(stream_idle_timeout=None, timeout=None, default_headers=None)
    assert again._config.stream_idle_timeout is None  # None: the constructor's default (no idle limit)
    assert again._config.timeout == DEFAULT_TIMEOUT
    assert again._config.default_headers == {"x-a": "1", "x-b": "2"} and again._config.max_response_bytes == 10
    assert client._config.max_response_bytes == 64 * 1024 * 1024 and client._config.default_headers == {"x-a": "1"}


@CLASSES
def test_with_options_refuses_what_a_copy_cannot_change(cls: type[BaseClient[Any]]) -> None:
    client = cls(ENDPOINT, "k")
    for name in ("endpoint", "credential", "rate_limit", "http_client", "deployments", "api", "max_retires"):
        unknown: dict[str, Any] = {name: None}
        with pytest.raises(ConfigurationError, match=f"with_options takes no option '{name}'"):
            client.with_options(**unknown)
    with pytest.raises(ConfigurationError, match="on_retry must be a callable"):
        client.with_options(on_retry="print")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="model must be a deployment name"):
        client.with_options(model=" ")
    routed = cls(deployments=[Deployment(ENDPOINT, model="a"), Deployment(ENDPOINT, model="b")], credential="k")
    with pytest.raises(ConfigurationError, match="model= is each Deployment's"):
        routed.with_options(model="c")
    with pytest.raises(ConfigurationError, match="model= and rate_limit= on each Deployment"):
        cls(deployments=[Deployment(ENDPOINT)], credential="k", model="c")


@CLASSES
def test_with_options_none_is_the_constructors_default_for_every_option(cls: type[BaseClient[Any]]) -> None:
    client = cls(ENDPOINT, "k", max_retries=5, max_retry_wait=9.0, max_response_bytes=10, allow_insecure_http=True,
                 total_timeout=30.0)
    nothing: dict[str, Any] = {name: None for name in OPTION_NAMES}
    copy = client.with_options(**nothing)
    fresh = cls(ENDPOINT, "k")
    for name in ("max_retries", "max_retry_wait", "max_response_bytes", "allow_insecure_http", "total_timeout",
                 "stream_idle_timeout", "timeout", "model"):
        assert getattr(copy._config, name) == getattr(fresh._config, name), name


@CLASSES
def test_a_copy_keeps_the_headers_as_given_and_no_repr_shows_them(cls: type[BaseClient[Any]]) -> None:
    headers = {"Ocp-Apim-Subscription-Key": "sub-secret"}
    client = cls(ENDPOINT, "k", default_headers=headers)
    headers["x-later"] = "1"  # the caller's dict changes after the client was made
    copy = client.with_options(max_retries=0)
    assert copy._config.default_headers == client._config.default_headers == {"Ocp-Apim-Subscription-Key": "sub-secret"}
    assert "sub-secret" not in repr(client._options) and "sub-secret" not in repr(copy)


@CLASSES
def test_a_paced_clients_copy_cannot_change_its_model(cls: type[BaseClient[Any]]) -> None:
    client = cls(ENDPOINT + "/models", "k", model="llama-a", rate_limit=RateLimit(requests=10))
    with pytest.raises(ConfigurationError, match="the copy shares the budget of this client's deployment"):
        client.with_options(model="llama-b")
    assert client.with_options(model="llama-a", max_retries=0).rate_limit is client.rate_limit


@CLASSES
def test_a_copy_is_built_by_the_constructor_and_shares_its_originals_resources(
        cls: type[BaseClient[Any]]) -> None:
    made: list[dict[str, Any]] = []

    class Recorded(cls):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(kwargs)
            super().__init__(*args, **kwargs)

    rate_limit = RateLimit(requests=10)
    client = Recorded(ENDPOINT, "k", rate_limit=rate_limit)
    copy = client.with_options(timeout=3.0).with_options(max_retries=0)
    assert type(copy) is Recorded and len(made) == 3
    assert "_shared" in made[1] and made[1]["timeout"] == 3.0
    for shared in ("_auth", "_pacer", "_http", "_pool"):
        assert getattr(copy, shared) is getattr(client, shared), shared
    assert copy.rate_limit is rate_limit and not copy._owns_http and client._owns_http
    assert (copy._config.timeout.read, copy._config.max_retries) == (3.0, 0)
    routed = Recorded(deployments=[Deployment(ENDPOINT), Deployment(ENDPOINT, model="b")], credential="k")
    assert routed.with_options(timeout=3.0)._router is routed._router


@CLASSES
def test_with_options_timeout_none_is_the_injected_clients_chosen_timeout(cls: type[BaseClient[Any]]) -> None:
    pool_class = httpx.AsyncClient if cls is AsyncLlamaClient else httpx.Client
    injected = pool_class(timeout=7.0)
    client = cls(ENDPOINT, "k", http_client=injected)
    assert client.with_options(timeout=30.0)._config.timeout.read == 30.0
    assert client.with_options(timeout=30.0).with_options(timeout=None)._config.timeout.read == 7.0
    assert cls(ENDPOINT, "k").with_options(timeout=None)._config.timeout == DEFAULT_TIMEOUT


async def test_with_options_model_picks_the_foundry_deployment(shell_kind: str, server: ReferenceServer) -> None:
    async with Shell(make_client(shell_kind, server.url + "/models", server.api_key, max_retries=0)) as shell:
        with pytest.raises(ParameterError, match=NEEDS_MODEL):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))
        named = Shell(shell.client.with_options(model="default"))
        reply = await named.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))
        assert reply.choices
        with pytest.raises(NotFoundError):
            await Shell(named.client.with_options(model="no-such-deployment")).run(
                lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))
        with pytest.raises(ParameterError, match=NEEDS_MODEL):
            await Shell(named.client.with_options(model=None)).run(
                lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))


async def test_with_options_on_retry_is_the_copys_own(shell_kind: str, fault_server: ReferenceServer) -> None:
    seen: list[int] = []
    failing_once = {"x-llama-azure-fault": "status:503@1"}
    async with Shell(make_client(shell_kind, fault_server.url, fault_server.api_key, max_retries=1)) as shell:
        told = Shell(shell.client.with_options(on_retry=lambda attempt, error, wait: seen.append(attempt)))
        await told.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2, extra_headers=failing_once))
        assert seen == [1]
        await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2, extra_headers=failing_once))
        assert seen == [1]  # the original has none
        quiet = Shell(told.client.with_options(on_retry=None, max_retries=0))
        with pytest.raises(InternalServerError):
            await quiet.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2,
                                                                extra_headers=failing_once))
        assert seen == [1]


async def test_closing_a_copy_leaves_the_pool_open(shell_kind: str, server: ReferenceServer) -> None:
    async with Shell(make_client(shell_kind, server.url, server.api_key)) as shell:
        copy = Shell(shell.client.with_options(timeout=30.0))
        assert (await copy.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))).choices
        await copy.close()
        assert not shell.client._http.is_closed
        assert (await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))).choices
    assert shell.client._http.is_closed
