"""Many deployments behind one client, without I/O: which one a call goes to, and which ones cool down.

``LlamaClient(deployments=[Deployment(...), ...])`` keeps one single-endpoint client per deployment (its own
``ClientConfig``, credential and pacer, sharing the connection pool). For each call, :meth:`Router.flow` is a
generator that says what to do next: ``Execute(member, call)`` (one attempt on one deployment, no retries of
its own) or ``Sleep(seconds)`` (every deployment cools down); the shells run it with the same loop as an
attempt (``_drive``), doing each step in ``_do``.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import httpx

from ._core import CallOutcome, ClientConfig, PreparedCall
from ._credentials import AsyncTokenCredential, KeyCredential, TokenCredential
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    ConfigurationError,
    DeploymentsUnavailableError,
    failure_text,
)
from ._options import OPTION_NAMES, ClientOptions
from ._pacing.pacer import Store, is_rate_limit
from ._retry import Sleep, retry_after_wait
from ._retry_after import retry_after_seconds

if TYPE_CHECKING:
    from ._pacing.rate_limit import RateLimit

logger = logging.getLogger("llama_azure")
ApiName = Literal["llama", "model-inference", "score", "openai-v1"]


@dataclass(frozen=True, repr=False)
class Deployment:
    """One deployment of the model: ``Deployment("https://a.eastus2.models.ai.azure.com", weight=2)``.

    Without its own ``credential`` it uses the client's. ``api``, ``deployment`` (a managed endpoint's
    ``azureml-model-deployment``) and ``model`` (the body's model on Foundry / openai-v1) are its own, so one
    client may mix serverless, managed and Foundry endpoints. ``weight`` shares the calls (2 gets twice as many
    as 1); ``rate_limit`` paces calls to this deployment's quota.

    Attributes:
        endpoint: The deployment's endpoint URL.
        credential: Its own key or credential (as the client's ``credential=``); None: the client's.
        api: Its route style, when its URL does not say it.
        deployment: A managed online endpoint's deployment (the ``azureml-model-deployment`` header).
        model: The body's ``model`` (the deployment name on Foundry Models and ``openai-v1`` endpoints).
        weight: Its share of the calls (> 0; default 1).
        rate_limit: Its quota (``RateLimit``): calls to it wait for room instead of collecting 429s.
    """

    endpoint: str
    credential: str | KeyCredential | TokenCredential | AsyncTokenCredential | None = None  # never in a repr
    api: ApiName | None = None
    deployment: str | None = None
    model: str | None = None
    weight: float = 1
    rate_limit: RateLimit | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.endpoint, str) or not self.endpoint:
            raise ConfigurationError(f"Deployment endpoint must be a URL string, got {self.endpoint!r}")
        weight = self.weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (math.isfinite(weight)
                                                                                  and weight > 0):
            raise ConfigurationError(f"Deployment weight must be a finite number > 0, got {weight!r}")
        if self.rate_limit is not None and not is_rate_limit(self.rate_limit):
            raise ConfigurationError(f"Deployment rate_limit must be a RateLimit(requests=..., tokens=...), "
                                     f"got {type(self.rate_limit).__name__}")

    def __repr__(self) -> str:
        shown = [f"{key}={value!r}" for key, value in (("api", self.api), ("deployment", self.deployment),
                                                        ("model", self.model), ("rate_limit", self.rate_limit))
                 if value is not None]
        return f"Deployment({self._shown_endpoint()!r}, {', '.join([*shown, f'weight={self.weight!r}'])})"

    @property
    def name(self) -> str:
        """How errors and logs name it: the endpoint (without a query or user info, which may hold a secret),
        and the deployment or model when one is set."""
        label = self.deployment or self.model
        return f"{self._shown_endpoint()} ({label})" if label else self._shown_endpoint()

    def _shown_endpoint(self) -> str:
        url = httpx.URL(self.endpoint)
        return str(url.copy_with(query=None, username=None, password=None) if url.userinfo else
                   url.copy_with(query=None))


@dataclass(frozen=True)
class CoolDown:
    """How long a deployment is left alone after a failure (seconds); ``LlamaClient(..., cool_down=CoolDown())``.

    A 429 cools it down for its ``Retry-After`` (``throttled`` when the answer gives none), at most
    ``max_throttled``; a 5xx (and 408) for ``server_error``; a connection error or time-out for
    ``connection_error``. Other errors (400, 401, 404, 422, ...) are the call's, not the deployment's: they
    reach the caller at once.

    Attributes:
        throttled: Seconds after a 429 without a ``Retry-After`` (default 10).
        max_throttled: The longest cool-down a 429's ``Retry-After`` gets (default 60).
        server_error: Seconds after a 5xx or 408 (default 5).
        connection_error: Seconds after a connection error or a time-out (default 15).
    """

    throttled: float = 10.0
    max_throttled: float = 60.0
    server_error: float = 5.0
    connection_error: float = 15.0

    def __post_init__(self) -> None:
        for name in ("throttled", "max_throttled", "server_error", "connection_error"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value)
                                                                                   and value >= 0):
                raise ConfigurationError(f"CoolDown {name} must be a finite number of seconds >= 0, got {value!r}")

    def seconds_for(self, error: APIError) -> float | None:
        """How long ``error`` cools its deployment down; None when the error is not the deployment's fault."""
        if isinstance(error, APIConnectionError):  # APITimeoutError too
            return self.connection_error
        if not isinstance(error, APIStatusError):
            return None
        if error.status_code == 429:
            asked = retry_after_seconds(error.headers)
            return min(self.throttled if asked is None else retry_after_wait(asked), self.max_throttled)
        if error.status_code >= 500 or error.status_code == 408:
            return self.server_error
        return None


@dataclass
class Member:
    """One deployment and the single-endpoint client that sends to it (``max_retries=0``)."""

    deployment: Deployment
    client: Any
    cool_until: float = 0.0
    last_error: APIError | None = None

    @property
    def address(self) -> tuple[str, int]:
        url = httpx.URL(self.client.endpoint)
        return url.host, url.port or (443 if url.scheme == "https" else 80)

    def sender(self, http: httpx.Client | httpx.AsyncClient) -> Any:
        """Its client, sending through ``http``: the router's client's pool (renewed there after a fork)."""
        self.client._http = http
        return self.client

    def can_go_now(self) -> bool:
        """True without pacing, or when its budget has room and nobody waits in line."""
        pacer = self.client._pacer
        if pacer is None:
            return True
        usage, limits = pacer.budget.usage(), pacer.budget.limits
        return usage.waiting == 0 and (limits.requests is None or usage.requests < limits.requests) and (
            limits.tokens is None or usage.tokens < limits.tokens)


@dataclass(frozen=True)
class Execute:
    """Make one attempt of ``call`` on ``member`` (``member.sender(http)._execute(call)``); send the result
    (or throw the error) back into the flow."""

    member: Member
    call: PreparedCall[Any]
    outcome: CallOutcome


Step = Execute | Sleep | Store
OnMove = Callable[[int, BaseException, float], object]


class Router:
    """Weighted choice among the deployments not cooling down, and their cool-down bookkeeping.

    ``clock`` and ``rng`` are injected for tests. Shared by every thread or task using the client.
    """

    def __init__(self, members: Sequence[Member], cool_down: CoolDown,
                 clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random) -> None:
        self.members = list(members)
        self.cool_down = cool_down
        self.clock = clock
        self.rng = rng
        self._lock = threading.Lock()

    def choose(self, tried: set[int]) -> Member | None:
        """A deployment for the next attempt: not cooling down, not tried yet by this call; by weight among
        those whose pacing budget lets the call go now (else among all of them). None when there is none.
        It may ask a store (Redis) what a budget holds: :meth:`flow` asks it in a :class:`Store` step."""
        free = self.free(tried)
        return self.pick(_ready_now(free) or free)

    def free(self, tried: set[int]) -> list[Member]:
        """The deployments not cooling down and not tried yet by this call."""
        now = self.clock()
        with self._lock:
            return [m for i, m in enumerate(self.members) if i not in tried and m.cool_until <= now]

    def pick(self, members: list[Member]) -> Member | None:
        """One of ``members`` by weight; None when there is none."""
        if not members:
            return None
        point = self.rng() * sum(m.deployment.weight for m in members)
        for member in members:
            point -= member.deployment.weight
            if point < 0:
                return member
        return members[-1]

    def failed(self, member: Member, error: APIError) -> bool:
        """Cool ``member`` down for ``error``; False when the error is the call's own (it reaches the caller)."""
        seconds = self.cool_down.seconds_for(error)
        if seconds is None:
            return False
        with self._lock:
            member.last_error = error
            member.cool_until = max(member.cool_until, self.clock() + seconds)
        return True

    def shortest_cool_down(self) -> float:
        now = self.clock()
        with self._lock:
            return max(0.0, min(m.cool_until for m in self.members) - now)

    def unavailable(self, why: str) -> DeploymentsUnavailableError:
        errors = {m.deployment.name: m.last_error for m in self.members if m.last_error is not None}
        listed = "; ".join(f"{name}: {failure_text(error)}" for name, error in errors.items())
        return DeploymentsUnavailableError(
            f"no deployment could answer ({why}); last failures: {listed or 'none'}", errors)

    def flow(self, call: PreparedCall[Any], outcome: CallOutcome, config: ClientConfig,
             on_move: OnMove | None) -> Generator[Step, Any, Any]:
        """One call across the deployments. A failed attempt (its APIError is thrown back in at the ``Execute``)
        moves at once to another deployment; only when all cool down does the call sleep (the shortest
        cool-down, at most ``max_retries`` times, never longer than ``max_retry_wait`` nor past
        ``total_timeout``). ``config`` is the client's."""
        max_waits, max_wait = call.max_retries, config.max_retry_wait
        tried: set[int] = set()
        attempt = waits = 0
        while True:
            free = self.free(tried)
            if any(m.client._pacer is not None and m.client._pacer.does_io for m in free):
                ready = yield Store.within(call, partial(_ready_now, free))  # Redis: never on the event loop
            else:
                ready = _ready_now(free)
            member = self.pick(ready or free)
            if member is None:
                wait = self.shortest_cool_down()
                left = call.timer.remaining()
                if waits >= max_waits:
                    raise self.unavailable(f"all cool down, and max_retries={max_waits} waits were used")
                if wait > max_wait:
                    raise self.unavailable(f"all cool down for {wait:.1f} s or more, above max_retry_wait="
                                           f"{max_wait:g} s")
                if left is not None and wait >= left:
                    raise self.unavailable("all cool down past total_timeout")
                waits += 1
                tried.clear()
                yield Sleep(wait)
                continue
            attempt += 1
            tried.add(self.members.index(member))
            one, one_outcome = retarget(call, member, config), CallOutcome()
            try:
                result = yield Execute(member, one, one_outcome)
            except APIError as error:
                if not self.failed(member, error):
                    raise
                logger.info("%s: attempt %d failed on %s (%s); moving to another deployment", call.where, attempt,
                            member.deployment.name, type(error).__name__)
                if call.trace is not None:
                    call.trace.retried(attempt, error, 0.0)
                if on_move is not None:
                    on_move(attempt, error, 0.0)
                continue
            outcome.response, outcome.retries_taken = one_outcome.response, attempt - 1
            outcome.deployment = member.deployment
            if call.trace is not None:
                call.trace.answered_by(*member.address)
            return _stamped(result, member.deployment)


# The options every deployment takes from the client (so ``with_options`` copies change them for all); a
# deployment's ``model`` is its own, and the router counts the retries (``call.max_retries``).
CLIENT_WIDE = tuple(name for name in OPTION_NAMES if name not in ("model", "max_retries", "on_retry"))


def retarget(call: PreparedCall[Any], member: Member, client_config: ClientConfig) -> PreparedCall[Any]:
    """``call`` rebuilt for ``member``'s route style and settings (with the client's ``CLIENT_WIDE`` ones),
    as one attempt, in the call's time and trace."""
    assert call.rebuild is not None, "a call made by prepare_* can be rebuilt"
    config = replace(member.client._config, **{name: getattr(client_config, name) for name in CLIENT_WIDE})
    one = call.rebuild(config)
    return replace(one, max_retries=0, timer=call.timer, timeout=call.timeout, trace=call.trace,
                   max_response_bytes=call.max_response_bytes)


def _ready_now(members: list[Member]) -> list[Member]:
    """Those of ``members`` whose pacing budget lets a call go now."""
    return [m for m in members if m.can_go_now()]


def _stamped(result: Any, deployment: Deployment) -> Any:
    if hasattr(result, "_deployment"):
        result._deployment = deployment
    return result


def check_deployments(deployments: object) -> list[Deployment]:
    """A non-empty list of :class:`Deployment`, or a ConfigurationError saying what to pass."""
    if isinstance(deployments, (str, bytes)) or not isinstance(deployments, Sequence) or not deployments:
        raise ConfigurationError("deployments must be a non-empty list of Deployment(endpoint, ...)")
    for item in deployments:
        if not isinstance(item, Deployment):
            raise ConfigurationError(f"deployments must hold Deployment(endpoint, ...) objects, "
                                     f"got {type(item).__name__}")
    return list(deployments)


def make_router(client_class: type[Any], deployments: Sequence[Deployment], credential: object,
                cool_down: CoolDown | None, options: ClientOptions, **settings: Any) -> Router:
    """One single-endpoint client per deployment, with the client's ``options`` and ``settings`` (pool, scope,
    api version), its own model, and no retries of its own: the router moves or waits."""
    if cool_down is not None and not isinstance(cool_down, CoolDown):
        raise ConfigurationError(f"cool_down must be a CoolDown(...), got {type(cool_down).__name__}")
    members = [
        Member(d, client_class(
            d.endpoint, d.credential if d.credential is not None else credential, api=d.api,
            deployment=d.deployment, rate_limit=d.rate_limit, **settings,
            **replace(options, model=d.model, max_retries=0, on_retry=None).as_kwargs()))
        for d in deployments
    ]
    return Router(members, cool_down or CoolDown())
