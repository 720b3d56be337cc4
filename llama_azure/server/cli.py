"""``llama-azure serve``: run the reference server.

>>> main(["serve", "--port", "0", "--api-key", "test-key"])  # doctest: +SKIP
llama-azure reference server listening on http://127.0.0.1:43123
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import logging
import os
import secrets
import signal
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from .._argtypes import positive_float, positive_int
from .limits import BODY_TIMEOUT_S, HEAD_TIMEOUT_S, KEEP_ALIVE_S, MAX_HEAD_BYTES

READY_PREFIX = "llama-azure reference server listening on "


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llama-azure serve",
        description="Serve a real GGUF model behind Azure-compatible Llama endpoints, for offline development.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind; 0 picks a free one (default 8000)")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="accepted API key (repeatable); without one a key is generated and printed",
    )
    parser.add_argument("--model", type=Path, default=None, metavar="PATH", help="GGUF file (default: bundled)")
    parser.add_argument("--model-name", default=None, metavar="NAME", help="name reported by /info and in responses")
    parser.add_argument(
        "--deployment",
        action="append",
        default=[],
        metavar="NAME",
        help="deployment name (repeatable); azureml-model-deployment must then name one of them",
    )
    parser.add_argument("--rpm", type=positive_int, default=1000, help="requests per minute per deployment")
    parser.add_argument("--tpm", type=positive_int, default=200_000, help="tokens per minute per deployment")
    parser.add_argument(
        "--quota-window",
        type=positive_float,
        default=60.0,
        metavar="SECONDS",
        help="length of the sliding quota window (default 60, as Azure; shorten it to test 429 handling quickly)",
    )
    parser.add_argument(
        "--blocklist", action="append", default=[], metavar="WORD", help="content filter word (repeatable)"
    )
    parser.add_argument("--n-ctx", type=positive_int, default=2048, help="context length (default 2048)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=default_threads(),
        help=f"llama.cpp threads (default: CPU count - 1, at most 4; here {default_threads()})",
    )
    entra = parser.add_argument_group("Microsoft Entra ID (offline)")
    entra.add_argument(
        "--entra",
        action="store_true",
        help="also accept Entra ID bearer tokens (RS256 JWTs signed by this server) and serve a managed-identity "
        "token endpoint for azure-identity; prints the IDENTITY_ENDPOINT and IDENTITY_HEADER to set",
    )
    entra.add_argument(
        "--entra-audience",
        default="https://ml.azure.com",
        metavar="URI",
        help="the token audience accepted (default https://ml.azure.com, scope https://ml.azure.com/.default)",
    )
    entra.add_argument(
        "--token-lifetime",
        type=positive_float,
        default=3600.0,
        metavar="SECONDS",
        help="lifetime of issued tokens (default 3600); shorten it to test token refresh",
    )
    entra.add_argument(
        "--entra-signing-key",
        type=Path,
        default=None,
        metavar="PEM",
        help="RSA private key (PEM) that signs tokens (default: a new key per run); tests can mint tokens with it",
    )
    entra.add_argument(
        "--identity-header",
        default=None,
        metavar="SECRET",
        help="the X-IDENTITY-HEADER secret of the token endpoint (default: generated and printed)",
    )
    limits = parser.add_argument_group("time limits on reading requests")
    limits.add_argument(
        "--head-timeout",
        type=positive_float,
        default=HEAD_TIMEOUT_S,
        metavar="SECONDS",
        help=f"a request's head (request line and headers) must arrive within SECONDS of the connection opening "
        f"or of the previous answer, or the connection is closed (default {HEAD_TIMEOUT_S:g})",
    )
    limits.add_argument(
        "--body-timeout",
        type=positive_float,
        default=BODY_TIMEOUT_S,
        metavar="SECONDS",
        help=f"a request's body must arrive within SECONDS of its head, or it is answered 408 "
        f"(default {BODY_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--weight-repack",
        choices=["auto", "on", "off"],
        default="auto",
        help="load weights into llama.cpp's repacked buffer types (its --no-repack is 'off'); auto turns them off "
        "where llama.cpp's AMX kernels, which crash, could run (default auto; see docs/server.md)",
    )
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help="inject faults, e.g. 'status:503@2,keepalive' or 'none'; also enables the per-request "
        "x-llama-azure-fault header (see docs/server.md, 'Fault injection')",
    )
    return parser


def default_threads() -> int:
    """One core is left to the HTTP side: llama.cpp threads spin, and lose badly when preempted."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def main(argv: list[str] | None = None) -> int:
    """Run the server until Ctrl-C or SIGTERM; returns the exit status (0 on a clean stop)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["serve"]:
        args_list = args_list[1:]
    args = build_parser().parse_args(args_list)
    # A native crash in llama.cpp (SIGSEGV, SIGILL, ...) then prints every thread's Python stack on stderr.
    faulthandler.enable()
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")

    server: Any = None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if server is None:
            raise KeyboardInterrupt
        server.should_exit = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            import uvicorn

            from .app import ReferenceServerApp, ServerConfig
            from .connections import deadline_protocol, listening_socket
            from .engine import Engine
            from .identity import TOKEN_PATH, EntraIdentity, load_or_create_key
            from .loading import EngineStartError
            from .model_path import bundled_model_path, model_name_from_path
        except ImportError as exc:
            print(
                f"llama-azure serve needs the server extra: pip install 'llama-azure[server]' ({exc})",
                file=sys.stderr,
            )
            return 2

        model_path = args.model or bundled_model_path()
        if not model_path.is_file():
            print(f"llama-azure serve: no model file at {model_path}", file=sys.stderr)
            return 2
        keys = list(args.api_key)
        if not keys:
            keys = [secrets.token_urlsafe(24)]
            print(f"llama-azure: generated API key: {keys[0]}", flush=True)
        identity: EntraIdentity | None = None
        if args.entra:
            try:
                signing_key = load_or_create_key(args.entra_signing_key)
            except (OSError, ValueError) as exc:
                print(f"llama-azure serve: cannot load --entra-signing-key: {exc}", file=sys.stderr)
                return 2
            identity = EntraIdentity(
                identity_header=args.identity_header or secrets.token_urlsafe(24),
                audience=args.entra_audience,
                token_lifetime=args.token_lifetime,
                key=signing_key,
            )
        try:
            engine = Engine(model_path, n_ctx=args.n_ctx, n_threads=args.threads, weight_repack=args.weight_repack)
        except EngineStartError as exc:
            print(f"llama-azure serve: {exc}", file=sys.stderr)
            return 3
        if not engine.weights_repacked:
            print(f"llama-azure: {engine.weights}", file=sys.stderr, flush=True)
        config = ServerConfig(
            api_keys=keys,
            model_name=args.model_name or model_name_from_path(model_path),
            deployments=args.deployment,
            rpm=args.rpm,
            tpm=args.tpm,
            quota_window_s=args.quota_window,
            blocklist=args.blocklist,
            identity=identity,
            body_timeout_s=args.body_timeout,
        )
        server_app = ReferenceServerApp(config, engine)
        app: Any = server_app.build()
        if args.faults is not None:
            from .faults import FaultInjector, FaultSpecError, parse_spec

            try:
                app = FaultInjector(app, parse_spec(args.faults), authenticator=server_app.authenticator)
            except FaultSpecError as exc:
                print(f"llama-azure serve: --faults: {exc}", file=sys.stderr)
                return 2

        try:
            sock = listening_socket(args.host, args.port)
        except OSError as exc:
            print(f"llama-azure serve: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 2
        port = sock.getsockname()[1]
        uv_config = uvicorn.Config(
            app,
            log_level=args.log_level,
            access_log=args.log_level in ("info", "debug"),
            timeout_graceful_shutdown=3,
            lifespan="off",
            http=deadline_protocol(args.head_timeout, args.body_timeout),
            timeout_keep_alive=KEEP_ALIVE_S,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        )
        host = f"[{args.host}]" if ":" in args.host else args.host
        ready_line = f"{READY_PREFIX}http://{host}:{port}"
        if identity is not None:
            # What azure-identity's ManagedIdentityCredential / DefaultAzureCredential read (App Service style).
            print(f"llama-azure: Entra ID on (audience {identity.audience}); for azure-identity set:", flush=True)
            print(f"IDENTITY_ENDPOINT=http://{host}:{port}{TOKEN_PATH}", flush=True)
            print(f"IDENTITY_HEADER={identity.identity_header}", flush=True)

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets=sockets)
                if self.started:
                    print(ready_line, flush=True)

        server = Server(uv_config)
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sock.close()
            engine.close()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
