"""The quota ledger kept in Redis, for a budget shared by many processes (``RateLimit(store="redis://...")``).

The same rules as :class:`~llama_azure._quota_ledger.LocalLedger`, run by one Lua script so that each step is
atomic across processes and uses one clock (Redis's ``TIME``). An entry of a process that died before its
answer came expires after ``window + lease`` seconds, like any other. An unreachable Redis raises
:class:`~llama_azure.QuotaStoreError`: there is no silent fallback to pacing alone.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from ._exceptions import ConfigurationError
from ._quota_errors import QuotaStoreError, QuotaTimeoutError
from ._quota_ledger import MARGIN, Limits, Usage
from ._store_deadline import time_left

# Seconds a Redis round trip may take at most; a call with less time left waits less (``_socket_timeout``).
SOCKET_TIMEOUT = 5.0

# KEYS: expiries (zset id -> expiry), tokens (hash id -> tokens), requests (hash id -> requests).
# ARGV: op, window, lease, max requests (-1: none), max tokens (-1: none), then the op's own arguments.
_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local op, window, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max_r, max_t, margin = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
local function held()
  local flat = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  local entries, hr, ht = {}, 0, 0
  for i = 1, #flat, 2 do
    local r = tonumber(redis.call('HGET', KEYS[3], flat[i]) or '1')
    local tk = tonumber(redis.call('HGET', KEYS[2], flat[i]) or '0')
    entries[#entries + 1] = {tonumber(flat[i + 1]), r, tk}
    hr, ht = hr + r, ht + tk
  end
  return entries, hr, ht
end
local function fits(hr, ht, r, tk)
  return (max_r < 0 or hr + r <= max_r) and (max_t < 0 or ht + tk <= max_t)
end
local function wait_for(r, tk)
  local entries, hr, ht = held()
  if fits(hr, ht, r, tk) then return 0 end
  for _, e in ipairs(entries) do
    hr, ht = hr - e[2], ht - e[3]
    if fits(hr, ht, r, tk) then return math.max(0, e[1] - now) end
  end
  return window
end
local function add(id, r, tk, expires)
  redis.call('ZADD', KEYS[1], expires, id)
  redis.call('HSET', KEYS[2], id, tk)
  redis.call('HSET', KEYS[3], id, r)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], math.ceil((window + lease + 1) * 1000)) end
end
if op == 'acquire' then
  local w = wait_for(1, tonumber(ARGV[8]))
  if w == 0 then add(ARGV[7], 1, tonumber(ARGV[8]), now + window + lease + margin) end
  return tostring(w)
elseif op == 'wait' then
  return tostring(wait_for(tonumber(ARGV[8]), tonumber(ARGV[9])))
elseif op == 'answered' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[7])
  if score then redis.call('ZADD', KEYS[1], 'XX', math.min(tonumber(score), now + window + margin), ARGV[7]) end
  return '0'
elseif op == 'settle' then
  local old = redis.call('HGET', KEYS[2], ARGV[7])
  if old then redis.call('HSET', KEYS[2], ARGV[7], math.max(0, math.min(tonumber(old), tonumber(ARGV[8])))) end
  return '0'
elseif op == 'observe' then
  local _, hr, ht = held()
  local rem_r, rem_t = tonumber(ARGV[8]), tonumber(ARGV[9])
  local ur, ut = 0, 0
  if max_r >= 0 and rem_r >= 0 then ur = math.max(0, (max_r - rem_r) - hr) end
  if max_t >= 0 and rem_t >= 0 then ut = math.max(0, (max_t - rem_t) - ht) end
  if ur > 0 or ut > 0 then add(ARGV[7], ur, ut, now + window + margin) end
  return '0'
end
local _, hr, ht = held()
return {hr, ht}
"""


class RedisLedger:
    """``RedisLedger("redis://localhost:6379/0", "my-deployment", limits)``: one budget for every process."""

    def __init__(self, url: str, key: str, limits: Limits) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigurationError("RateLimit(store='redis://...') needs redis-py: "
                                     "pip install 'llama-azure[redis]'") from None
        from ._rate_limit import _without_password

        self.limits = limits
        self.poll_interval = min(0.25, limits.window / 20)
        self.does_io = True
        self._shown_url = _without_password(url)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._timeouts: tuple[type[BaseException], ...] = (redis.TimeoutError, TimeoutError)
        self._url = url
        self._scripts: dict[float, Any] = {}  # socket timeout -> the script on a client with that timeout
        self._script_within(SOCKET_TIMEOUT)  # a bad URL is refused here, not at the first call
        prefix = f"llama-azure:quota:{{{key}}}"
        self._keys = [f"{prefix}:expires", f"{prefix}:tokens", f"{prefix}:requests"]

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
                                         _or_minus_one(limits.tokens), MARGIN]
        left = time_left()
        timeout = _socket_timeout(left)
        if timeout is None:
            raise QuotaTimeoutError(f"the rate limit's Redis store {self._shown_url} could not be asked in time: the "
                                    f"call had {max(left or 0.0, 0.0):.2f} s left (timeout or total_timeout)",
                                    wait=math.inf, limit=max(left or 0.0, 0.0))
        shortened: tuple[type[BaseException], ...] = self._timeouts if timeout < SOCKET_TIMEOUT else ()
        try:
            return self._script_within(timeout)(keys=self._keys, args=[*head, *args])
        except shortened as error:
            raise QuotaTimeoutError(
                f"the rate limit's Redis store {self._shown_url} did not answer within {timeout:.2g} s, what was "
                f"left of the call's time (timeout or total_timeout): {type(error).__name__}",
                wait=math.inf, limit=timeout) from None
        except self._errors as error:
            detail = str(error).splitlines()[0][:200] if str(error) else ""
            raise QuotaStoreError(
                f"the rate limit's Redis store {self._shown_url} could not be used ({type(error).__name__}: "
                f"{detail}); nothing was sent. Start Redis there, or drop store= to pace in this process only"
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
