"""The sync client: ``LlamaClient``. A thin shell over the sans-IO core (``_core.py``)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, cast, overload

import httpx
from tenacity import Retrying
from typing_extensions import Self, Unpack

from ._auth import DEFAULT_REFRESH_MARGIN, resolve_auth
from ._core import (
    ClientConfig,
    PreparedCall,
    interpret,
    prepare_chat,
    prepare_completion,
    prepare_info,
    transport_error,
    with_auth,
)
from ._exceptions import APIError
from ._params import ChatCreateParams, CompletionCreateParams, RequestOptions
from ._retry import DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT, RetryPolicy, RetryRun
from ._routes import DEFAULT_API_VERSION
from ._streaming import Stream, read_body
from .types.chat import ChatCompletion, ChatCompletionChunk, ChatMessage, ChatMessageParam
from .types.completion import Completion
from .types.model_info import ModelInfo

T = TypeVar("T")
MessagesParam = Sequence[ChatMessageParam | ChatMessage | Mapping[str, Any]]
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


class ChatCompletions:
    def __init__(self, client: LlamaClient) -> None:
        self._client = client

    @overload
    def create(self, *, messages: MessagesParam, stream: Literal[False] = False,
               **kwargs: Unpack[ChatCreateParams]) -> ChatCompletion: ...

    @overload
    def create(self, *, messages: MessagesParam, stream: Literal[True],
               **kwargs: Unpack[ChatCreateParams]) -> Stream[ChatCompletionChunk, ChatCompletion]: ...

    @overload
    def create(self, *, messages: MessagesParam, stream: bool,
               **kwargs: Unpack[ChatCreateParams]) -> ChatCompletion | Stream[ChatCompletionChunk, ChatCompletion]: ...

    def create(self, *, messages: MessagesParam, stream: bool = False,
               **kwargs: Unpack[ChatCreateParams]) -> ChatCompletion | Stream[ChatCompletionChunk, ChatCompletion]:
        """Ask for a chat reply.

        ``client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}], max_tokens=64)``;
        with ``stream=True``, iterate the returned ``Stream`` for ``ChatCompletionChunk`` objects.
        """
        call = prepare_chat(self._client._config, messages, stream, kwargs)
        return self._client._execute(call)


class Chat:
    def __init__(self, client: LlamaClient) -> None:
        self.completions = ChatCompletions(client)


class Completions:
    def __init__(self, client: LlamaClient) -> None:
        self._client = client

    @overload
    def create(self, *, prompt: str, stream: Literal[False] = False,
               **kwargs: Unpack[CompletionCreateParams]) -> Completion: ...

    @overload
    def create(self, *, prompt: str, stream: Literal[True],
               **kwargs: Unpack[CompletionCreateParams]) -> Stream[Completion, Completion]: ...

    @overload
    def create(self, *, prompt: str, stream: bool,
               **kwargs: Unpack[CompletionCreateParams]) -> Completion | Stream[Completion, Completion]: ...

    def create(self, *, prompt: str, stream: bool = False,
               **kwargs: Unpack[CompletionCreateParams]) -> Completion | Stream[Completion, Completion]:
        """Continue a prompt: ``client.completions.create(prompt="Once upon a time", max_tokens=32)``."""
        call = prepare_completion(self._client._config, prompt, stream, kwargs)
        return self._client._execute(call)


class LlamaClient:
    """A client for one Llama endpoint on Azure. Share one per application; it is thread-safe.

    >>> client = LlamaClient(endpoint="https://my-llama.eastus2.models.ai.azure.com", credential="KEY")
    >>> reply = client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}])  # doctest: +SKIP
    """

    def __init__(
        self,
        endpoint: str | None = None,
        credential: object = None,
        *,
        api: Literal["llama", "model-inference", "score"] | None = None,
        deployment: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        timeout: float | httpx.Timeout | None = None,
        stream_idle_timeout: float | None = None,
        total_timeout: float | None = None,
        http_client: httpx.Client | None = None,
        default_headers: Mapping[str, str] | None = None,
        scope: str | None = None,
        token_refresh_margin: float = DEFAULT_REFRESH_MARGIN,
    ) -> None:
        self._config = ClientConfig.create(
            endpoint, api=api, api_version=api_version, deployment=deployment,
            default_headers=default_headers, max_retries=max_retries, max_retry_wait=max_retry_wait,
            timeout=timeout, stream_idle_timeout=stream_idle_timeout, total_timeout=total_timeout,
        )
        self._auth = resolve_auth(credential, endpoint=self._config.base_url, scope=scope,
                                  refresh_margin=token_refresh_margin, is_async=False)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(limits=DEFAULT_LIMITS, timeout=self._config.timeout)
        self.chat = Chat(self)
        self.completions = Completions(self)

    @property
    def endpoint(self) -> str:
        return self._config.base_url

    @property
    def api(self) -> str:
        return self._config.api

    def get_model_info(self, **kwargs: Unpack[RequestOptions]) -> ModelInfo:
        """``GET /info``: ``client.get_model_info().model_name``."""
        return cast(ModelInfo, self._execute(prepare_info(self._config, kwargs)))

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
        stream_idle_timeout: float | None = None,
        default_headers: Mapping[str, str] | None = None,
        total_timeout: float | None = None,
    ) -> LlamaClient:
        """A copy with new defaults that shares this client's connections and credential.

        ``client.with_options(timeout=30, max_retries=0).chat.completions.create(...)``
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._config = self._config.with_options(
            timeout=timeout, max_retries=max_retries, max_retry_wait=max_retry_wait,
            stream_idle_timeout=stream_idle_timeout, default_headers=default_headers, total_timeout=total_timeout)
        copy._owns_http = False
        copy.chat = Chat(copy)
        copy.completions = Completions(copy)
        return copy

    def _execute(self, call: PreparedCall[T]) -> T | Stream[Any, Any]:
        run = RetryRun(RetryPolicy(call.max_retries, self._config.max_retry_wait), self._auth.invalidate,
                       self._auth.describe_failure)
        run.timer = call.timer
        retrying = Retrying(retry=run.should_retry, wait=run.next_wait, sleep=time.sleep, reraise=True)
        try:
            return retrying(self._attempt, call, run)
        except APIError as error:
            raise run.annotate(error) from error.__cause__

    def _attempt(self, call: PreparedCall[T], run: RetryRun) -> T | Stream[Any, Any]:
        request = with_auth(call, self._auth.sync_headers(), run.attempts + 1)
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as error:
            raise transport_error(error, call) from error
        if call.stream and response.status_code < 400 and call.chunk_type is not None:
            return Stream(response, call.chunk_type, where=call.where,
                          timer=call.timer)
        try:
            content = read_body(response, call.timer)
        except httpx.HTTPError as error:
            raise transport_error(error, call) from error
        finally:
            response.close()
        return interpret(call, response, content)

    def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, api={self.api!r}, auth={self._auth.kind})"
