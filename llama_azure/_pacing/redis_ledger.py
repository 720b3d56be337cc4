"""The quota ledger kept in Redis, for a budget shared by many processes (``RateLimit(store="redis://...")``).

The same rules as :class:`~llama_azure._pacing.ledger.LocalLedger`, run by one Lua script so that each step is
atomic across processes and uses one clock (Redis's ``TIME``); expiries are rounded up to a time bucket (1/100 of
``window + lease``) so that no step walks the entries held. An entry of a process that died before its answer
came expires after ``window + lease`` seconds, like any other. A store that lost its entries (a restart) is
noticed by its epoch, and the whole budget is held until the window has passed. An unreachable Redis raises
:class:`~llama_azure.QuotaStoreError`: there is no silent fallback to pacing alone.
"""

from __future__ import annotations

import math
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .._exceptions import ConfigurationError, QuotaStoreError, QuotaTimeoutError
from .ledger import MARGIN, Limits, Usage
from .store_deadline import time_left

# Seconds a Redis round trip may take at most; a call with less time left waits less (``_socket_timeout``).
SOCKET_TIMEOUT = 5.0

# Each step costs O(log n) in the entries held, never O(n): Redis runs one script at a time, and every client of
# that Redis waits behind it. Held sums are kept as they change; for the wait, entries fall into time buckets
# (expiries rounded up to 1/100 of window + lease, so at most ~101 buckets live), each with its own sums.
# KEYS: entries (zset id -> expiry: its bucket's end), entry (hash id -> "requests tokens bucket"),
#       buckets (zset bucket -> end), sums (hash "r"/"t": held; "r<bucket>"/"t<bucket>": the bucket's),
#       epoch (hash: "id", "born"; never expires, so that a store that lost it is noticed).
# ARGV: op, window, lease, max requests (-1: none), max tokens (-1: none), margin, the epoch this process last
#       saw ("" if none), a new epoch id (used if the store has none), then the op's own arguments.
# Returns {epoch, the op's result...}.
_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local op, window, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max_r, max_t, margin = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local E, D, B, S, K = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local width = (window + lease) / 100
local function int(x)  -- an integer argument as Redis reads it ('-0' is not one)
  if x == 0 then return '0' end
  return string.format('%.0f', x)
end
-- forget what has expired: each entry once (amortised O(1)), then its bucket and the bucket's sums
local gone = redis.call('ZRANGEBYSCORE', E, '-inf', now)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', E, '-inf', now)
  for i = 1, #gone, 1000 do redis.call('HDEL', D, unpack(gone, i, math.min(i + 999, #gone))) end
end
for _, b in ipairs(redis.call('ZRANGEBYSCORE', B, '-inf', now)) do
  redis.call('HINCRBY', S, 'r', int(-tonumber(redis.call('HGET', S, 'r' .. b) or '0')))
  redis.call('HINCRBY', S, 't', int(-tonumber(redis.call('HGET', S, 't' .. b) or '0')))
  redis.call('HDEL', S, 'r' .. b, 't' .. b)
end
redis.call('ZREMRANGEBYSCORE', B, '-inf', now)
local function held()
  return tonumber(redis.call('HGET', S, 'r') or '0'), tonumber(redis.call('HGET', S, 't') or '0')
end
local function put(b, r, tk)  -- r requests and tk tokens more (or fewer) in bucket b
  redis.call('HINCRBY', S, 'r' .. b, int(r)); redis.call('HINCRBY', S, 'r', int(r))
  redis.call('HINCRBY', S, 't' .. b, int(tk)); redis.call('HINCRBY', S, 't', int(tk))
end
local function entry(id)
  local v = redis.call('HGET', D, id)
  if not v then return nil end
  local r, tk, b = string.match(v, '^(%S+) (%S+) (%S+)$')
  return tonumber(r), tonumber(tk), b
end
local function fits(hr, ht, r, tk)
  return (max_r < 0 or hr + r <= max_r) and (max_t < 0 or ht + tk <= max_t)
end
local function wait_for(r, tk)
  local hr, ht = held()
  if fits(hr, ht, r, tk) then return 0 end
  local flat = redis.call('ZRANGE', B, 0, -1, 'WITHSCORES')
  for i = 1, #flat, 2 do
    hr = hr - tonumber(redis.call('HGET', S, 'r' .. flat[i]) or '0')
    ht = ht - tonumber(redis.call('HGET', S, 't' .. flat[i]) or '0')
    if fits(hr, ht, r, tk) then return math.max(0, tonumber(flat[i + 1]) - now) end
  end
  return window
end
local function place(id, r, tk, expires)  -- the entry, in the bucket that ends at or after expires
  local idx = math.ceil(expires / width)
  local b, ends = int(idx), idx * width
  redis.call('ZADD', E, ends, id)
  redis.call('ZADD', B, ends, b)
  redis.call('HSET', D, id, int(r) .. ' ' .. int(tk) .. ' ' .. b)
  put(b, r, tk)
  return ends
end
local function add(id, r, tk, expires)
  place(id, r, tk, expires)
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], math.ceil((window + lease + 1) * 1000)) end
end
-- The epoch names this life of the store. A process that saw another one knows the store lost what it held
-- (restarted without persistence, flushed, evicted): what was sent before may still count at the service, so
-- the whole budget is held until window + lease after the new epoch began. Placed once, by whoever sees it first.
local epoch = redis.call('HGET', K, 'id')
local born = tonumber(redis.call('HGET', K, 'born') or '0')
if not epoch then
  epoch, born = ARGV[8], now
  redis.call('HSET', K, 'id', epoch, 'born', tostring(now))
end
local a1, a2, a3 = ARGV[9], ARGV[10], ARGV[11]
if ARGV[7] ~= '' and ARGV[7] ~= epoch and born + window + lease + margin > now
    and not redis.call('ZSCORE', E, 'restart-' .. epoch) then
  add('restart-' .. epoch, math.max(max_r, 0), math.max(max_t, 0), born + window + lease + margin)
end
local result
if op == 'acquire' then
  local w = wait_for(1, tonumber(a2))
  if w == 0 then add(a1, 1, tonumber(a2), now + window + lease + margin) end
  result = {tostring(w)}
elseif op == 'wait' then
  result = {tostring(wait_for(tonumber(a2), tonumber(a3)))}
elseif op == 'answered' then
  local r, tk, b = entry(a1)
  local ends = tonumber(redis.call('ZSCORE', E, a1) or '0')
  if r and math.ceil((now + window + margin) / width) * width < ends then  -- a sooner bucket: move there
    put(b, -r, -tk)
    place(a1, r, tk, now + window + margin)
  end
  result = {'0'}
elseif op == 'settle' then
  local r, tk, b = entry(a1)
  if r then
    local settled = math.max(0, math.min(tk, tonumber(a2)))
    put(b, 0, settled - tk)
    redis.call('HSET', D, a1, int(r) .. ' ' .. int(settled) .. ' ' .. b)
  end
  result = {'0'}
elseif op == 'observe' then
  local hr, ht = held()
  local rem_r, rem_t = tonumber(a2), tonumber(a3)
  local ur, ut = 0, 0
  if max_r >= 0 and rem_r >= 0 then ur = math.max(0, (max_r - rem_r) - hr) end
  if max_t >= 0 and rem_t >= 0 then ut = math.max(0, (max_t - rem_t) - ht) end
  if ur > 0 or ut > 0 then add(a1, ur, ut, now + window + margin) end
  result = {'0'}
else
  local hr, ht = held()
  result = {hr, ht}
end
return {epoch, unpack(result)}
"""


# What a failed step means for the call: taking room comes before sending; recording comes after the answer.
_AFTER_ANSWER = "; the answer had come, and the budget holds the request as sent until it expires"
_WHAT_FAILED = {"acquire": "; nothing was sent", "wait": "; nothing was sent", "answered": _AFTER_ANSWER,
                "settle": _AFTER_ANSWER, "observe": _AFTER_ANSWER}


def without_password(url: str) -> str:
    """A store URL for messages and repr: a password in it (``user:pw@``, or ``?password=``) is a secret."""
    parts = urlsplit(url)
    shown = url
    if parts.password is not None:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:<redacted>@{host}" + (f":{parts.port}" if parts.port else "")
        shown = parts._replace(netloc=netloc).geturl()
    base, mark, rest = shown.partition("?")  # the query rewritten in place: unix:/// keeps its slashes
    if mark:  # redis-py reads every query argument, ``password`` included
        query, hash_mark, fragment = rest.partition("#")
        pairs = [f"{name}={'<redacted>' if name.lower() == 'password' else value}"
                 for name, value in parse_qsl(query, keep_blank_values=True)]
        shown = f"{base}?{'&'.join(pairs)}{hash_mark}{fragment}"
    return shown


class RedisLedger:
    """``RedisLedger("redis://localhost:6379/0", "my-deployment", limits)``: one budget for every process."""

    def __init__(self, url: str, key: str, limits: Limits) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigurationError("RateLimit(store='redis://...') needs redis-py: "
                                     "pip install 'llama-azure[redis]'") from None
        self.limits = limits
        self.poll_interval = min(0.25, limits.window / 20)
        self.does_io = True
        self._shown_url = without_password(url)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._timeouts: tuple[type[BaseException], ...] = (redis.TimeoutError, TimeoutError)
        self._url = url
        self._scripts: dict[float, Any] = {}  # socket timeout -> the script on a client with that timeout
        self._script_within(SOCKET_TIMEOUT)  # a bad URL is refused here, not at the first call
        prefix = f"llama-azure:quota:{{{key}}}"
        self._keys = [f"{prefix}:entries", f"{prefix}:entry", f"{prefix}:buckets", f"{prefix}:sums", f"{prefix}:epoch"]
        self._epoch = ""  # the store's epoch this process last saw: a change means the store lost its entries

    def _script_within(self, timeout: float) -> Any:
        """The script on a client whose socket waits at most ``timeout`` seconds (one client per timeout, made
        on first use: redis-py sets a socket's timeout per client). No lock: two threads making the same one at
        once keep either (a client connects on first use), and a fork can never find one held."""
        script = self._scripts.get(timeout)
        if script is None:
            import redis

            refused: tuple[type[BaseException], ...] = (ValueError, *self._errors)
            try:
                client = redis.Redis.from_url(self._url, socket_timeout=timeout, socket_connect_timeout=timeout)
            except refused as error:
                raise ConfigurationError(f"RateLimit store {self._shown_url!r} is not a usable Redis URL: "
                                         f"{type(error).__name__}") from None
            script = self._scripts.setdefault(timeout, client.register_script(_SCRIPT))
        return script

    def _run(self, op: str, *args: str | int | float) -> Any:
        limits = self.limits
        head: list[str | int | float] = [op, limits.window, limits.lease, _or_minus_one(limits.requests),
                                         _or_minus_one(limits.tokens), MARGIN, self._epoch, uuid.uuid4().hex]
        left = time_left()
        timeout = _socket_timeout(left)
        if timeout is None:
            raise QuotaTimeoutError(f"the rate limit's Redis store {self._shown_url} could not be asked in time: the "
                                    f"call had {max(left or 0.0, 0.0):.2f} s left (timeout or total_timeout)",
                                    wait=math.inf, limit=max(left or 0.0, 0.0))
        shortened: tuple[type[BaseException], ...] = self._timeouts if timeout < SOCKET_TIMEOUT else ()
        try:
            epoch, *result = self._script_within(timeout)(keys=self._keys, args=[*head, *args])
            self._epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
            return result[0] if len(result) == 1 else result
        except shortened as error:
            raise QuotaTimeoutError(
                f"the rate limit's Redis store {self._shown_url} did not answer within {timeout:.2g} s, what was "
                f"left of the call's time (timeout or total_timeout): {type(error).__name__}",
                wait=math.inf, limit=timeout) from None
        except self._errors as error:
            detail = str(error).splitlines()[0][:200] if str(error) else ""
            raise QuotaStoreError(
                f"the rate limit's Redis store {self._shown_url} could not be used ({type(error).__name__}: "
                f"{detail}){_WHAT_FAILED.get(op, '')}. Start Redis there, or drop store= to pace in this process "
                f"only"
            ) from None

    def try_acquire(self, entry_id: str, tokens: int, now: float) -> float:
        return float(self._run("acquire", entry_id, tokens))

    def wait_for(self, requests: int, tokens: int, now: float) -> float:
        return float(self._run("wait", "", requests, tokens))

    def answered(self, entry_id: str, now: float) -> None:
        self._run("answered", entry_id)

    def settle(self, entry_id: str, tokens: int) -> None:
        self._run("settle", entry_id, tokens)

    def observe(self, remaining_requests: int | None, remaining_tokens: int | None, now: float) -> None:
        if remaining_requests is None and remaining_tokens is None:
            return
        self._run("observe", f"unseen-{uuid.uuid4().hex}", _or_minus_one(remaining_requests),
                  _or_minus_one(remaining_tokens))

    def usage(self, now: float) -> Usage:
        requests, tokens = self._run("usage")
        return Usage(int(requests), int(tokens))


def _socket_timeout(left: float | None) -> float | None:
    """The socket timeout for a round trip with ``left`` seconds: SOCKET_TIMEOUT, halved until within ``left``
    (a few clients serve every deadline); None when under 10 ms are left: no round trip fits."""
    timeout = SOCKET_TIMEOUT
    while left is not None and timeout > left:
        timeout /= 2
        if timeout < 0.01:
            return None
    return timeout


def _or_minus_one(value: int | None) -> int:
    return -1 if value is None else value
