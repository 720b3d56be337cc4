"""The async client: ``AsyncLlamaClient``, the mirror of ``LlamaClient`` over the same sans-IO core."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

import httpx
from typing_extensions import Self, Unpack

from . import _observe
from ._base_client import BaseClient
from ._call.attempt import Driver, Headers, ReadBody, Send, Step, Streamed
from ._call.prepare import prepare_chat, prepare_completion, prepare_info, prepare_parse
from ._call.prepared import CallOutcome, PreparedCall
from ._call.retry import Sleep
from ._pacing.pacer import Pause, Store
from ._pacing.wait import apause
from ._resources import RawResponses, Resource
from ._streaming.raw_response import RawResponse, raw_response
from ._streaming.streams import AsyncStream, aread_body

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
    from ._tools.runner import AsyncToolRunStream, ToolRun
    from .types.chat import ChatCompletion, ChatCompletionChunk, MessagesParam
    from .types.completion import Completion
    from .types.model_info import ModelInfo
    from .types.parsed import ModelT, ParsedChatCompletion

T = TypeVar("T")


class AsyncChatCompletionsWithRawResponse(Resource["AsyncLlamaClient"]):
    """``client.chat.completions.with_raw_response``: ``create`` returns a :class:`RawResponse`."""

    @overload
    async def create(self, *, messages: MessagesParam, stream: Literal[False] = False,
               **kwargs: Unpack[ChatCreateParams]) -> RawResponse[ChatCompletion]: ...

    @overload
    async def create(self, *, messages: MessagesParam, stream: Literal[True], **kwargs: Unpack[ChatCreateParams]
               ) -> RawResponse[AsyncStream[ChatCompletionChunk, ChatCompletion]]: ...

    async def create(self, *, messages: MessagesParam, stream: bool = False,
               **kwargs: Unpack[ChatCreateParams]) -> RawResponse[Any]:
        """``raw = await client.chat.completions.with_raw_response.create(messages=..., max_tokens=8)``;
        ``raw.headers``, ``raw.retries_taken``, ``raw.parse()``."""
        return await self._client._execute_raw(prepare_chat(self._client._config, messages, stream, kwargs))


class AsyncCompletionsWithRawResponse(Resource["AsyncLlamaClient"]):
    """``client.completions.with_raw_response``: ``create`` returns a :class:`RawResponse`."""

    @overload
    async def create(self, *, prompt: str, stream: Literal[False] = False,
               **kwargs: Unpack[CompletionCreateParams]) -> RawResponse[Completion]: ...

    @overload
    async def create(self, *, prompt: str, stream: Literal[True],
               **kwargs: Unpack[CompletionCreateParams]) -> RawResponse[AsyncStream[Completion, Completion]]: ...

    async def create(self, *, prompt: str, stream: bool = False,
               **kwargs: Unpack[CompletionCreateParams]) -> RawResponse[Any]:
        """``raw = await client.completions.with_raw_response.create(prompt="Hi")``; ``raw.parse()``."""
        return await self._client._execute_raw(prepare_completion(self._client._config, prompt, stream, kwargs))


class AsyncChatCompletions(RawResponses["AsyncLlamaClient", AsyncChatCompletionsWithRawResponse]):
    _raw_class = AsyncChatCompletionsWithRawResponse

    @overload
    async def create(self, *, messages: MessagesParam, stream: Literal[False] = False,
               **kwargs: Unpack[ChatCreateParams]) -> ChatCompletion: ...

    @overload
    async def create(self, *, messages: MessagesParam, stream: Literal[True],
               **kwargs: Unpack[ChatCreateParams]) -> AsyncStream[ChatCompletionChunk, ChatCompletion]: ...

    @overload
    async def create(
        self, *, messages: MessagesParam, stream: bool, **kwargs: Unpack[ChatCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk, ChatCompletion]: ...

    async def create(
        self, *, messages: MessagesParam, stream: bool = False, **kwargs: Unpack[ChatCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk, ChatCompletion]:
        """Ask for a chat reply.

        ``client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}], max_tokens=64)``;
        with ``stream=True``, iterate the returned ``Stream`` for ``ChatCompletionChunk`` objects.
        """
        call = prepare_chat(self._client._config, messages, stream, kwargs)
        return await self._client._execute(call)

    @overload
    async def parse(self, *, messages: MessagesParam, response_format: type[ModelT], stream: Literal[False] = False,
              **kwargs: Unpack[ChatParseParams]) -> ParsedChatCompletion[ModelT]: ...

    @overload
    async def parse(self, *, messages: MessagesParam, response_format: type[ModelT], stream: Literal[True],
              **kwargs: Unpack[ChatParseParams]
              ) -> AsyncStream[ChatCompletionChunk, ParsedChatCompletion[ModelT]]: ...

    @overload
    async def parse(self, *, messages: MessagesParam, stream: Literal[False] = False,
              **kwargs: Unpack[ChatParseParams]) -> ParsedChatCompletion[BaseModel]: ...

    @overload
    async def parse(self, *, messages: MessagesParam, stream: Literal[True], **kwargs: Unpack[ChatParseParams]
              ) -> AsyncStream[ChatCompletionChunk, ParsedChatCompletion[BaseModel]]: ...

    async def parse(self, *, messages: MessagesParam, response_format: type[ModelT] | None = None, stream: bool = False,
              **kwargs: Unpack[ChatParseParams]
              ) -> ParsedChatCompletion[Any] | AsyncStream[ChatCompletionChunk, ParsedChatCompletion[Any]]:
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
        return await self._client._execute(call)


    @overload
    async def run_tools(self, *, messages: MessagesParam, tools: Sequence[ToolSpec], max_rounds: int = 10,
                  raise_tool_errors: bool = False, stream: Literal[False] = False,
                  **kwargs: Unpack[ToolRunParams]) -> ToolRun: ...

    @overload
    async def run_tools(self, *, messages: MessagesParam, tools: Sequence[ToolSpec], max_rounds: int = 10,
                  raise_tool_errors: bool = False, stream: Literal[True],
                  **kwargs: Unpack[ToolRunParams]) -> AsyncToolRunStream: ...

    async def run_tools(self, *, messages: MessagesParam, tools: Sequence[ToolSpec], max_rounds: int = 10,
                  raise_tool_errors: bool = False, stream: bool = False,
                  **kwargs: Unpack[ToolRunParams]) -> ToolRun | AsyncToolRunStream:
        """Run the tool loop: ask, run the tools the model calls, send the results back, until it answers.

        ``run = await client.chat.completions.run_tools(messages=[...], tools=[get_weather], max_tokens=64)``;
        ``run.final`` is the last answer, ``run.messages`` the conversation, ``run.calls`` every call made.
        ``tools`` are typed functions (their schema comes from the signature and docstring) or
        ``(pydantic_function_tool(Model), handler)`` pairs. Invalid arguments and exceptions of a function go
        back to the model as the tool message (``raise_tool_errors=True``: ``ToolCallError`` instead). The
        last of ``max_rounds`` rounds forbids tools. Other arguments go to each round's ``create``. With
        ``stream=True``, the returned stream yields chunks, call records, then the run.
        """
        from ._tools.runner import AsyncToolRunStream, ToolLoop, arun

        loop = ToolLoop(messages, tools, max_rounds, raise_tool_errors, stream, kwargs)
        return AsyncToolRunStream(loop, self.create) if loop.stream else await arun(loop, self.create)


class AsyncChat:
    def __init__(self, client: AsyncLlamaClient) -> None:
        self.completions = AsyncChatCompletions(client)


class AsyncCompletions(RawResponses["AsyncLlamaClient", AsyncCompletionsWithRawResponse]):
    _raw_class = AsyncCompletionsWithRawResponse

    @overload
    async def create(self, *, prompt: str, stream: Literal[False] = False,
               **kwargs: Unpack[CompletionCreateParams]) -> Completion: ...

    @overload
    async def create(self, *, prompt: str, stream: Literal[True],
               **kwargs: Unpack[CompletionCreateParams]) -> AsyncStream[Completion, Completion]: ...

    @overload
    async def create(self, *, prompt: str, stream: bool,
               **kwargs: Unpack[CompletionCreateParams]) -> Completion | AsyncStream[Completion, Completion]: ...

    async def create(self, *, prompt: str, stream: bool = False,
               **kwargs: Unpack[CompletionCreateParams]) -> Completion | AsyncStream[Completion, Completion]:
        """Continue a prompt: ``client.completions.create(prompt="Once upon a time", max_tokens=32)``."""
        call = prepare_completion(self._client._config, prompt, stream, kwargs)
        return await self._client._execute(call)


class AsyncLlamaClient(BaseClient[httpx.AsyncClient]):
    """The async client. Share one per application (per event loop) across tasks.

    >>> client = AsyncLlamaClient(endpoint="https://my-llama.eastus2.models.ai.azure.com", credential="KEY")
    >>> reply = await client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}])  # doctest: +SKIP
    """

    _is_async = True
    _http_class = httpx.AsyncClient
    _stream_class = AsyncStream

    def _bind_resources(self) -> None:
        self.chat = AsyncChat(self)
        self.completions = AsyncCompletions(self)

    async def get_model_info(self, **kwargs: Unpack[ModelInfoParams]) -> ModelInfo:
        """``GET /info``: ``client.get_model_info().model_name``."""
        return cast("ModelInfo", await self._execute(prepare_info(self._config, kwargs)))

    async def _execute(self, call: PreparedCall[T], outcome: CallOutcome | None = None) -> T | AsyncStream[Any, Any]:
        if _observe.observer is not None and call.trace is None:  # tracing on: run this call in a span
            return await _observe.observer.traced_async(partial(self._execute, outcome=outcome), call)
        outcome = outcome or CallOutcome()
        answer = self._answer(await self._drive(self._call_flow(call, outcome), call), call, outcome)
        return cast("T | AsyncStream[Any, Any]", answer)

    def _on_stream_usage(self, streamed: Streamed) -> Callable[[Any], None] | None:
        if streamed.on_usage is not None and streamed.on_usage_does_io:
            return _in_a_worker_thread(streamed.on_usage)  # a Redis round trip: not on the event loop
        return streamed.on_usage

    async def _execute_raw(self, call: PreparedCall[T]) -> RawResponse[Any]:
        outcome = CallOutcome()
        return raw_response(outcome, await self._execute(call, outcome))

    async def _drive(self, flow: Generator[Step, Any, Any], call: PreparedCall[Any]) -> Any:
        """Run the call's flow (``_retry.call_flow`` over ``attempt_flow``, or ``Router.flow``), doing each step
        it yields; an error of a step is thrown back into the flow where it asked."""
        driver = Driver(flow)
        for step in driver:
            try:
                driver.done = await self._do(step, call)
            except BaseException as error:
                driver.error = error
        return driver.outcome

    async def _do(self, step: Step, call: PreparedCall[Any]) -> Any:
        """One step of a flow: the I/O, and nothing else."""
        if isinstance(step, Send):
            return await self._http.send(step.request, stream=True, follow_redirects=False, auth=step.auth)
        if isinstance(step, Headers):
            return await step.auth.async_headers()
        if isinstance(step, Pause):
            return await apause(step)
        if isinstance(step, Store):  # a Redis round trip: in a worker thread, never on the event loop
            import asyncio

            return await asyncio.to_thread(step.call)
        if isinstance(step, Sleep):
            import asyncio  # loaded by the first async call, not at import

            return await asyncio.sleep(step.seconds)
        try:
            if isinstance(step, ReadBody):
                return await aread_body(step.response, call.timer, call.where, call.max_response_bytes)
            return None
        finally:
            await step.response.aclose()

    async def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _in_a_worker_thread(record: Callable[[Any], None]) -> Callable[[Any], None]:
    """``record(chunk)`` handed to the loop's default executor, not awaited: the stream goes on at once, and a
    failure is ``Pacer.settled``'s to log (it keeps the budget's estimate)."""
    import asyncio

    loop = asyncio.get_running_loop()

    def submit(chunk: Any) -> None:
        loop.run_in_executor(None, record, chunk)

    return submit
