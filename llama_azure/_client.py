"""The sync client: ``LlamaClient``. A thin shell over the sans-IO core (``_call/``)."""

from __future__ import annotations

import time
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

import httpx
from typing_extensions import Self, Unpack

from . import _observe
from ._base_client import BaseClient
from ._call.attempt import Driver, Headers, ReadBody, Send, Step
from ._call.prepare import prepare_chat, prepare_completion, prepare_info, prepare_parse
from ._call.prepared import CallOutcome, PreparedCall
from ._call.retry import Sleep
from ._pacing.pacer import Pause, Store
from ._pacing.wait import pause
from ._resources import RawResponses, Resource
from ._streaming.raw_response import RawResponse, raw_response
from ._streaming.streams import Stream, read_body

if TYPE_CHECKING:  # the parameter validators and the pydantic models load at the first call
    from collections.abc import Generator, Sequence

    from pydantic import BaseModel

    from ._request.params import (
        ChatCreateParams,
        ChatParseParams,
        CompletionCreateParams,
        ModelInfoParams,
        ToolRunParams,
    )
    from ._tools.functions import ToolSpec
    from ._tools.runner import ToolRun, ToolRunStream
    from .types.chat import ChatCompletion, ChatCompletionChunk, MessagesParam
    from .types.completion import Completion
    from .types.model_info import ModelInfo
    from .types.parsed import ModelT, ParsedChatCompletion

T = TypeVar("T")


class ChatCompletionsWithRawResponse(Resource["LlamaClient"]):
    """``client.chat.completions.with_raw_response``: ``create`` returns a :class:`RawResponse`."""

    @overload
    def create(self, *, messages: MessagesParam, stream: Literal[False] = False,
               **kwargs: Unpack[ChatCreateParams]) -> RawResponse[ChatCompletion]: ...

    @overload
    def create(self, *, messages: MessagesParam, stream: Literal[True], **kwargs: Unpack[ChatCreateParams]
               ) -> RawResponse[Stream[ChatCompletionChunk, ChatCompletion]]: ...

    def create(self, *, messages: MessagesParam, stream: bool = False,
               **kwargs: Unpack[ChatCreateParams]) -> RawResponse[Any]:
        """``raw = client.chat.completions.with_raw_response.create(messages=..., max_tokens=8)``;
        ``raw.headers``, ``raw.retries_taken``, ``raw.parse()``."""
        return self._client._execute_raw(prepare_chat(self._client._config, messages, stream, kwargs))


class CompletionsWithRawResponse(Resource["LlamaClient"]):
    """``client.completions.with_raw_response``: ``create`` returns a :class:`RawResponse`."""

    @overload
    def create(self, *, prompt: str, stream: Literal[False] = False,
               **kwargs: Unpack[CompletionCreateParams]) -> RawResponse[Completion]: ...

    @overload
    def create(self, *, prompt: str, stream: Literal[True],
               **kwargs: Unpack[CompletionCreateParams]) -> RawResponse[Stream[Completion, Completion]]: ...

    def create(self, *, prompt: str, stream: bool = False,
               **kwargs: Unpack[CompletionCreateParams]) -> RawResponse[Any]:
        """``raw = client.completions.with_raw_response.create(prompt="Hi")``; ``raw.parse()``."""
        return self._client._execute_raw(prepare_completion(self._client._config, prompt, stream, kwargs))


class ChatCompletions(RawResponses["LlamaClient", ChatCompletionsWithRawResponse]):
    _raw_class = ChatCompletionsWithRawResponse

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

    @overload
    def parse(self, *, messages: MessagesParam, response_format: type[ModelT], stream: Literal[False] = False,
              **kwargs: Unpack[ChatParseParams]) -> ParsedChatCompletion[ModelT]: ...

    @overload
    def parse(self, *, messages: MessagesParam, response_format: type[ModelT], stream: Literal[True],
              **kwargs: Unpack[ChatParseParams]
              ) -> Stream[ChatCompletionChunk, ParsedChatCompletion[ModelT]]: ...

    @overload
    def parse(self, *, messages: MessagesParam, stream: Literal[False] = False,
              **kwargs: Unpack[ChatParseParams]) -> ParsedChatCompletion[BaseModel]: ...

    @overload
    def parse(self, *, messages: MessagesParam, stream: Literal[True],
              **kwargs: Unpack[ChatParseParams]) -> Stream[ChatCompletionChunk, ParsedChatCompletion[BaseModel]]: ...

    def parse(self, *, messages: MessagesParam, response_format: type[ModelT] | None = None, stream: bool = False,
              **kwargs: Unpack[ChatParseParams]
              ) -> ParsedChatCompletion[Any] | Stream[ChatCompletionChunk, ParsedChatCompletion[Any]]:
        """Ask for JSON valid for a pydantic model and read it back: ``reply.choices[0].message.parsed``.

        ``client.chat.completions.parse(messages=[...], response_format=Answer, max_tokens=64)``; the model's
        JSON schema is sent as a strict ``json_schema`` response format. An answer that is not a valid
        ``Answer`` raises ``StructuredOutputError`` (with ``.content``). With ``stream=True``,
        ``until_done()`` gives the parsed completion.

        Calls of tools made by ``pydantic_function_tool(Model)`` get ``function.parsed_arguments``, a ``Model``
        (``ToolArgumentsError``, naming the tool, when they are not valid); ``response_format`` may then be left
        out.
        """
        call = prepare_parse(self._client._config, messages, response_format, stream, kwargs)
        return self._client._execute(call)


    @overload
    def run_tools(self, *, messages: MessagesParam, tools: Sequence[ToolSpec], max_rounds: int = 10,
                  raise_tool_errors: bool = False, stream: Literal[False] = False,
                  **kwargs: Unpack[ToolRunParams]) -> ToolRun: ...

    @overload
    def run_tools(self, *, messages: MessagesParam, tools: Sequence[ToolSpec], max_rounds: int = 10,
                  raise_tool_errors: bool = False, stream: Literal[True],
                  **kwargs: Unpack[ToolRunParams]) -> ToolRunStream: ...

    def run_tools(self, *, messages: MessagesParam, tools: Sequence[ToolSpec], max_rounds: int = 10,
                  raise_tool_errors: bool = False, stream: bool = False,
                  **kwargs: Unpack[ToolRunParams]) -> ToolRun | ToolRunStream:
        """Run the tool loop: ask, run the tools the model calls, send the results back, until it answers.

        ``run = client.chat.completions.run_tools(messages=[...], tools=[get_weather], max_tokens=64)``;
        ``run.final`` is the last answer, ``run.messages`` the conversation, ``run.calls`` every call made.
        ``tools`` are typed functions (their schema comes from the signature and docstring) or
        ``(pydantic_function_tool(Model), handler)`` pairs. Invalid arguments and exceptions of a function go
        back to the model as the tool message (``raise_tool_errors=True``: ``ToolCallError`` instead). The
        last of ``max_rounds`` rounds forbids tools. Other arguments go to each round's ``create``. With
        ``stream=True``, the returned stream yields chunks, call records, then the run.
        """
        from ._tools.runner import ToolLoop, ToolRunStream, run

        loop = ToolLoop(messages, tools, max_rounds, raise_tool_errors, stream, kwargs)
        return ToolRunStream(loop, self.create) if loop.stream else run(loop, self.create)


class Chat:
    def __init__(self, client: LlamaClient) -> None:
        self.completions = ChatCompletions(client)


class Completions(RawResponses["LlamaClient", CompletionsWithRawResponse]):
    _raw_class = CompletionsWithRawResponse

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


class LlamaClient(BaseClient[httpx.Client]):
    """A client for one Llama endpoint on Azure. Share one per application; it is thread-safe.

    >>> client = LlamaClient(endpoint="https://my-llama.eastus2.models.ai.azure.com", credential="KEY")
    >>> reply = client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}])  # doctest: +SKIP
    """

    _is_async = False
    _http_class = httpx.Client
    _stream_class = Stream

    def _bind_resources(self) -> None:
        self.chat = Chat(self)
        self.completions = Completions(self)

    def get_model_info(self, **kwargs: Unpack[ModelInfoParams]) -> ModelInfo:
        """``GET /info``: ``client.get_model_info().model_name``."""
        return cast("ModelInfo", self._execute(prepare_info(self._config, kwargs)))

    def _execute(self, call: PreparedCall[T], outcome: CallOutcome | None = None) -> T | Stream[Any, Any]:
        if _observe.observer is not None and call.trace is None:  # tracing on: run this call in a span
            return _observe.observer.traced(partial(self._execute, outcome=outcome), call)
        outcome = outcome or CallOutcome()
        answer = self._answer(self._drive(self._call_flow(call, outcome), call), call, outcome)
        return cast("T | Stream[Any, Any]", answer)

    def _execute_raw(self, call: PreparedCall[T]) -> RawResponse[Any]:
        outcome = CallOutcome()
        return raw_response(outcome, self._execute(call, outcome))

    def _drive(self, flow: Generator[Step, Any, Any], call: PreparedCall[Any]) -> Any:
        """Run the call's flow (``_call.retry.call_flow`` over ``attempt_flow``, or ``Router.flow``), doing each step
        it yields; an error of a step is thrown back into the flow where it asked."""
        driver = Driver(flow)
        for step in driver:
            try:
                driver.done = self._do(step, call)
            except BaseException as error:
                driver.error = error
        return driver.outcome

    def _do(self, step: Step, call: PreparedCall[Any]) -> Any:
        """One step of a flow: the I/O, and nothing else."""
        if isinstance(step, Send):
            return self._http.send(step.request, stream=True, follow_redirects=False, auth=step.auth)
        if isinstance(step, Headers):
            return step.auth.sync_headers()
        if isinstance(step, Pause):
            return pause(step)
        if isinstance(step, Store):
            return step.call()
        if isinstance(step, Sleep):
            return time.sleep(step.seconds)
        try:
            if isinstance(step, ReadBody):
                return read_body(step.response, call.timer, call.where, call.max_response_bytes)
            return None
        finally:
            step.response.close()

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

