"""The ``llama-azure`` command: ``serve``, ``chat``, ``info`` and ``batch``.

    llama-azure chat --local "Why is the sky blue?"
    LLAMA_AZURE_ENDPOINT=https://... LLAMA_AZURE_API_KEY=... llama-azure chat "Hi"
    llama-azure info --local
    llama-azure serve --port 8000 --api-key dev-key
    llama-azure batch requests.jsonl -o answers.jsonl --rpm 1000 --tpm 200000

Expected failures (no endpoint, a refused key, a connection error, a filtered prompt) print one line
to stderr and exit with status 1; nothing here imports the server extra until ``serve`` or ``--local``
asks for it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from ._argtypes import non_negative_int, positive_int
from ._async_client import AsyncLlamaClient
from ._auth.auth import ENV_API_KEY
from ._batch.command import add_batch_parser, run_batch_command
from ._call.config import ENV_ENDPOINT
from ._call.prepare import _model_needed
from ._client import LlamaClient
from ._exceptions import ConfigurationError, LlamaAzureError, ParameterError
from ._request.routes import API_STYLES, requires_model
from ._version import __version__
from .types.chat_params import ChatMessageParam

PROG = "llama-azure"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """An expected failure: shown as one line on stderr, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Talk to Meta Llama models on Azure, or run the bundled reference server.",
        epilog="Endpoint and key come from --endpoint/--api-key or LLAMA_AZURE_ENDPOINT/LLAMA_AZURE_API_KEY; "
        "--local starts the bundled reference server instead (needs the server extra).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{serve,chat,info,batch}")
    commands.required = True

    commands.add_parser(
        "serve",
        help="run the reference server (see `llama-azure serve --help`)",
        add_help=False,  # `serve` arguments are parsed by llama_azure.server.cli
    )

    chat = commands.add_parser("chat", help="ask a question and stream the answer to the terminal",
                               description="Ask a question and stream the answer to the terminal.")
    chat.add_argument("question", nargs="+", help="the question (several words are joined with spaces)")
    chat.add_argument("--system", default=None, metavar="TEXT", help="a system message sent before the question")
    chat.add_argument("--max-tokens", type=positive_int, default=256, metavar="N",
                      help="longest answer, in tokens (default 256)")
    chat.add_argument("--temperature", type=float, default=None, metavar="T",
                      help="sampling temperature, 0..2 (default: the endpoint's)")
    chat.add_argument("--no-stream", dest="stream", action="store_false",
                      help="wait for the whole answer instead of streaming it")
    _add_connection_options(chat)

    info = commands.add_parser("info", help="print what model the endpoint serves (GET /info)",
                               description="Print what model the endpoint serves (GET /info).")
    info.add_argument("--json", action="store_true", help="print the answer as JSON")
    _add_connection_options(info)

    _add_connection_options(add_batch_parser(commands))
    return parser


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--endpoint", default=None, metavar="URL",
                       help="endpoint URL (default: $LLAMA_AZURE_ENDPOINT)")
    group.add_argument("--api-key", default=None, metavar="KEY", help="API key (default: $LLAMA_AZURE_API_KEY)")
    group.add_argument("--api", choices=API_STYLES, default=None,
                       help="route style (default: inferred from the URL)")
    group.add_argument("--deployment", default=None, metavar="NAME",
                       help="managed endpoint deployment (azureml-model-deployment header)")
    group.add_argument("--model", default=None, metavar="NAME",
                       help="deployment name sent as the body's model (needed on Foundry /models and openai-v1)")
    group.add_argument("--max-retries", type=non_negative_int, default=2, metavar="N",
                       help="retries on 429, 5xx and connection errors (default 2)")
    group.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="request timeout")
    group.add_argument("--local", action="store_true",
                       help="start the bundled reference server and use it (ignores --endpoint/--api-key)")


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[LlamaClient]:
    """A client on the chosen endpoint; with ``--local``, on a reference server started for this run."""
    with _endpoint(args) as (endpoint, key), LlamaClient(endpoint, key, **_options(args)) as client:
        yield client


@contextlib.contextmanager
def _async_client(args: argparse.Namespace, **extra: Any) -> Iterator[AsyncLlamaClient]:
    """The async client of ``batch``; the event loop that uses it closes it (``async with client``)."""
    with _endpoint(args) as (endpoint, key):
        yield AsyncLlamaClient(endpoint, key, **_options(args), **extra)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {"api": args.api, "deployment": args.deployment, "max_retries": args.max_retries, "timeout": args.timeout,
            "model": args.model}


@contextlib.contextmanager
def _endpoint(args: argparse.Namespace) -> Iterator[tuple[str | None, str | None]]:
    """The endpoint and key given; with ``--local``, those of a reference server started for this run."""
    if not args.local:
        yield _given_endpoint(args), _given_key(args)
        return
    try:
        from .server.process import ReferenceServer, ReferenceServerCrashed, ReferenceServerError
    except ImportError as exc:  # pragma: no cover - the module is stdlib-only
        raise CLIError(f"--local needs the server extra: pip install 'llama-azure[server]' ({exc})") from None
    server_args = [arg for name in ([args.deployment] if args.deployment else []) for arg in ("--deployment", name)]
    print("llama-azure: starting the bundled reference server...", file=sys.stderr, flush=True)
    server = ReferenceServer(api_key=secrets.token_urlsafe(16), args=server_args)
    try:
        server.start()
    except ReferenceServerError as exc:  # its message quotes the server's last lines: print them whole
        print(f"{PROG}: {exc}", file=sys.stderr)
        raise CLIError("the bundled reference server did not start (its report is above)") from None
    try:
        yield server.url, server.api_key
    finally:
        try:
            server.stop()
        except ReferenceServerCrashed as crash:  # the real cause of a call's "connection refused"
            print(f"{PROG}: {crash}", file=sys.stderr)
            raise CLIError("the bundled reference server crashed (its report is above)") from None


def _given_endpoint(args: argparse.Namespace) -> str:
    endpoint: str | None = args.endpoint or os.environ.get(ENV_ENDPOINT)
    if not endpoint:
        raise CLIError(f"no endpoint: pass --endpoint URL or set {ENV_ENDPOINT}, or use --local to start the "
                       f"bundled reference server")
    return endpoint


def _given_key(args: argparse.Namespace) -> str:
    key: str | None = args.api_key or os.environ.get(ENV_API_KEY)
    if not key or not key.strip():
        raise CLIError(f"no API key: pass --api-key KEY or set {ENV_API_KEY}")
    return key


def _check_model(client: LlamaClient) -> None:
    """Where the body's model picks the deployment, ask for ``--model`` before anything is sent: the client's
    own check, which a call with no body (``info``) does not reach."""
    config = client._config
    if config.model is None and requires_model(config.api, config.base_url):
        raise ParameterError(_model_needed(config), param="model")


def _chat(args: argparse.Namespace) -> int:
    messages: list[ChatMessageParam] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": " ".join(args.question)})
    params: dict[str, Any] = {"max_tokens": args.max_tokens}
    if args.temperature is not None:
        params["temperature"] = args.temperature
    with _client(args) as client:
        if not args.stream or client.api == "score":  # the score route cannot stream
            reply = client.chat.completions.create(messages=messages, **params)
            print(reply.choices[0].message.content if reply.choices else "")
            return 0
        stream = client.chat.completions.create(messages=messages, stream=True, **params)
        with stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    sys.stdout.write(chunk.choices[0].delta.content)
                    sys.stdout.flush()
        sys.stdout.write("\n")
        return 0


def _info(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if client.api != "openai-v1":  # which has no /info route: the client says where to look instead
            _check_model(client)
        info = client.get_model_info()
        if args.json:
            print(json.dumps(info.model_dump(), indent=2))
        else:
            for name in ("model_name", "model_type", "model_provider_name"):
                print(f"{name}: {getattr(info, name)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status. ``main(["chat", "--local", "Hi"])``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["serve"]:
        from .server.cli import main as serve_main  # stdlib-only until the server really starts

        return serve_main(arguments)
    args = build_parser().parse_args(arguments)
    try:
        if args.command == "batch":
            return run_batch_command(args, _async_client)
        return _chat(args) if args.command == "chat" else _info(args)
    except (LlamaAzureError, CLIError) as error:
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `llama-azure chat ... | head -1`
        return EXIT_ERROR


# The client's messages name its Python arguments; on the command line they are flags.
_FLAG_WORDING = [
    (re.compile(r"\bapi='([\w-]+)'"), r"--api \1"),
    (re.compile(r"\(api=\.\.\.\)"), "(--api)"),
    (re.compile(r"\bstream=False\b"), "--no-stream"),
    (re.compile(r"\bcredential=(?:'<key>')?"), "--api-key KEY"),
    (re.compile(r"\bdeployment=(?!\w)"), "--deployment"),
    (re.compile(r"model='<deployment name>' to this call, or set a default with LlamaClient\(\.\.\., "
                r"model='<deployment name>'\)"), "--model NAME"),
    (re.compile(r"\bmodel='<deployment name>'"), "--model NAME"),
]
_FLAG_OF_PARAM = {"model": "--model", "max_tokens": "--max-tokens", "temperature": "--temperature"}
# A refused client option: "model must be ..." reads "--model must be ...".
_REFUSED_OPTION = re.compile(r"^(endpoint|model|deployment|timeout|max_retries|api)(?= must )")


def _one_line(error: BaseException) -> str:
    """The error on one line, in the command line's terms."""
    text = " ".join(str(error).split())
    if not isinstance(error, LlamaAzureError):
        return text
    for python, flag in _FLAG_WORDING:
        text = python.sub(flag, text)
    if isinstance(error, ConfigurationError):
        text = _REFUSED_OPTION.sub(lambda option: "--" + option[1].replace("_", "-"), text)
    if isinstance(error, ParameterError) and (param_flag := _FLAG_OF_PARAM.get(error.param or "")) \
            and param_flag not in text:
        text += f" (set by {param_flag})"
    return f"{type(error).__name__}: {text}"
