"""Many deployments behind one client, without I/O: which one a call goes to, and which ones cool down.

``LlamaClient(deployments=[Deployment(...), ...])`` keeps a :class:`Member` per deployment (its own
``ClientConfig``, credential and pacer). For each call, :meth:`Router.flow` is the call's one flow: the retry
loop (``_retry.call_flow``) over attempts that each choose a deployment and run ``_attempt.attempt_flow`` for
it, through the calling client's pool, with :class:`FailoverRun` deciding after a failure (move, or wait for a
cool-down). The shells drive it like any call (``_drive``), doing each step in ``_do``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, cast

import httpx

from .._auth.auth import Auth, resolve_auth
from .._auth.credentials import AsyncTokenCredential, KeyCredential, TokenCredential
from .._exceptions import (
    APIConnectionError,
    APIError,
    APIErrorT,
    APIStatusError,
    ConfigurationError,
    DeploymentsUnavailableError,
    RetrySummary,
    after_retries,
    failure_text,
)
from .._http.retry_after import retry_after_seconds
from .._pacing.pacer import Pacer, Store, is_rate_limit
from .attempt import Flow, attempt_flow
from .config import ClientConfig
from .options import OPTION_NAMES, ClientOptions
from .prepared import CallOutcome, PreparedCall
from .retry import Decision, RetryPolicy, RetryRun, Sleep, call_flow, retry_after_wait

if TYPE_CHECKING:
    from tenacity import RetryCallState

    from .._pacing.rate_limit import RateLimit

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
    """One deployment and what sending to it takes: its ``ClientConfig`` (route style, model, headers), its
    credential's ``Auth`` and its ``Pacer`` (with a ``rate_limit``). Every attempt sends through the calling
    client's pool."""

    deployment: Deployment
    config: ClientConfig
    auth: Auth
    pacer: Pacer | None = None
    cool_until: float = 0.0
    last_error: APIError | None = None

    _merged: tuple[ClientConfig, ClientConfig] | None = field(default=None, repr=False)

    def config_for(self, client_config: ClientConfig) -> ClientConfig:
        """Its config with ``client_config``'s ``CLIENT_WIDE`` options: kept for the last client config asked
        (a client or a with_options copy), so its routes and header templates are computed once."""
        known = self._merged
        if known is not None and known[0] is client_config:
            return known[1]
        merged = replace(self.config, **{name: getattr(client_config, name) for name in CLIENT_WIDE})
        self._merged = (client_config, merged)
        return merged

    @property
    def address(self) -> tuple[str, int]:
        url = httpx.URL(self.config.base_url)
        return url.host, url.port or (443 if url.scheme == "https" else 80)

    def can_go_now(self) -> bool:
        """True without pacing, or when its budget has room and nobody waits in line."""
        if self.pacer is None:
            return True
        usage, limits = self.pacer.budget.usage(), self.pacer.budget.limits
        return usage.waiting == 0 and (limits.requests is None or usage.requests < limits.requests) and (
            limits.tokens is None or usage.tokens < limits.tokens)


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
             http: httpx.Client | httpx.AsyncClient, on_retry: OnMove | None) -> Flow:
        """One call across the deployments, as one retry loop (``_retry.call_flow``): each attempt chooses a
        deployment and runs ``attempt_flow`` for it; after a failure :class:`FailoverRun` decides (move at once,
        or wait for the first deployment to cool down). ``config`` and ``http`` are the calling client's."""
        run = FailoverRun(self, call, outcome, config.max_retry_wait, on_retry)
        return call_flow(partial(self._attempt, run, config, http), lambda: run)

    def _attempt(self, run: FailoverRun, config: ClientConfig, http: httpx.Client | httpx.AsyncClient) -> Flow:
        """One attempt: a deployment (waiting while all cool down, when the call may), then ``attempt_flow``."""
        run.member = None
        member = yield from self._choose(run)
        run.member = member
        result = yield from attempt_flow(retarget(run.call, member, config), run.outcome, member.pacer, http,
                                         member.auth)
        run.outcome.deployment = member.deployment
        if run.call.trace is not None:
            run.call.trace.answered_by(*member.address)
        return _stamped(result, member.deployment)

    def _choose(self, run: FailoverRun) -> Generator[Store | Sleep, Any, Member]:
        """By weight among the free deployments whose budget lets the call go now (else among all free ones)."""
        while True:
            free = self.free(run.tried)
            if any(m.pacer is not None and m.pacer.does_io for m in free):
                ready = yield Store.within(run.call, partial(_ready_now, free))  # Redis: never on the event loop
            else:
                ready = _ready_now(free)
            member = self.pick(ready or free)
            if member is not None:
                run.tried.add(self.members.index(member))
                return member
            wait = run.cool_down_wait()  # all cool down before this attempt (another call cooled them)
            if wait is None:
                assert run.unavailable is not None
                raise run.unavailable
            run.waited += wait
            yield Sleep(wait)


class FailoverRun(RetryRun):
    """One call's retries across the deployments (the tenacity callbacks of ``call_flow``): a failure that is the
    deployment's (``CoolDown.seconds_for``) moves the call at once to a deployment not tried yet; when every one
    cools down it waits the shortest cool-down, at most ``max_retries`` times, never longer than
    ``max_retry_wait`` nor past ``total_timeout``, else the call raises ``DeploymentsUnavailableError``. Each
    move or wait is a retry: ``on_retry``, ``error.attempts`` and ``retries_taken`` count them alike."""

    def __init__(self, router: Router, call: PreparedCall[Any], outcome: CallOutcome, max_retry_wait: float,
                 on_retry: OnMove | None) -> None:
        super().__init__(RetryPolicy(call.max_retries, max_retry_wait), call, outcome, on_retry)
        self.router = router
        self.member: Member | None = None  # the current attempt's deployment, once chosen
        self.tried: set[int] = set()  # the deployments tried since the last wait
        self.waits = 0
        self.unavailable: DeploymentsUnavailableError | None = None

    def _decide(self, state: RetryCallState) -> Decision:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if not isinstance(error, APIError) or isinstance(error, DeploymentsUnavailableError):
            return Decision(False)
        self._errors.append(error)
        if self.member is None or not self.router.failed(self.member, error):
            return Decision(False)  # the call's own error (400, 401, ...): no deployment does better
        if self.router.free(self.tried):
            return Decision(True, 0.0)
        wait = self.cool_down_wait()
        return Decision(False) if wait is None else Decision(True, wait)

    def cool_down_wait(self) -> float | None:
        """The wait for the first deployment to cool down, counted, when the call may wait it; else None, with
        ``unavailable`` set to the error to raise."""
        wait, left, max_wait = self.router.shortest_cool_down(), self.call.timer.remaining(), self.policy.max_retry_wait
        if self.waits >= self.call.max_retries:
            why = f"all cool down, and max_retries={self.call.max_retries} waits were used"
        elif wait > max_wait:
            why = f"all cool down for {wait:.1f} s or more, above max_retry_wait={max_wait:g} s"
        elif left is not None and wait >= left:
            why = "all cool down past total_timeout"
        else:
            self.waits += 1
            self.tried.clear()
            return wait
        self.unavailable = self.router.unavailable(why)
        return None

    def _next_step(self, wait: float) -> str:
        where = self.member.deployment.name if self.member is not None else "a deployment"
        if wait == 0:
            return f"moving from {where} to another deployment"
        return f"every deployment cools down: retrying in {wait:.2f} s"

    def final(self, error: APIErrorT) -> APIErrorT:
        """The error the call raises; ``DeploymentsUnavailableError`` when no deployment was left (its message
        already lists each one's last failure, so its summary does not repeat them)."""
        if self.unavailable is None and not isinstance(error, DeploymentsUnavailableError):
            return super().final(error)
        final: Any = self.unavailable if self.unavailable is not None else error
        final = after_retries(final, RetrySummary(max(self.outcome.sent, 1), self.waited))
        final.attempt_errors = tuple(self._errors)
        return cast(APIErrorT, final)


# The options every deployment takes from the client (so ``with_options`` copies change them for all); a
# deployment's ``model`` is its own, and the router counts the retries (``call.max_retries``).
CLIENT_WIDE = tuple(name for name in OPTION_NAMES if name not in ("model", "max_retries", "on_retry"))


def retarget(call: PreparedCall[Any], member: Member, client_config: ClientConfig) -> PreparedCall[Any]:
    """``call`` for ``member``, with the calling client's ``CLIENT_WIDE`` options, in the call's time and trace."""
    return call.for_config(member.config_for(client_config))


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


def make_router(deployments: Sequence[Deployment], credential: object, cool_down: CoolDown | None,
                options: ClientOptions, *, is_async: bool, api_version: str | None, scope: str | None,
                token_refresh_margin: float, default_timeout: httpx.Timeout | None) -> Router:
    """Each deployment's config (the client's ``options``, its own model), credential and pacer; the calls
    retry through the router, so none has retries of its own."""
    if cool_down is not None and not isinstance(cool_down, CoolDown):
        raise ConfigurationError(f"cool_down must be a CoolDown(...), got {type(cool_down).__name__}")
    members = []
    for d in deployments:
        config = ClientConfig.create(d.endpoint, api=d.api, api_version=api_version, deployment=d.deployment,
                                     options=replace(options, model=d.model, max_retries=0, on_retry=None),
                                     default_timeout=default_timeout)
        auth = resolve_auth(d.credential if d.credential is not None else credential, endpoint=config.base_url,
                            scope=scope, refresh_margin=token_refresh_margin, is_async=is_async)
        members.append(Member(d, config, auth, Pacer(d.rate_limit, config) if d.rate_limit is not None else None))
    return Router(members, cool_down or CoolDown())
