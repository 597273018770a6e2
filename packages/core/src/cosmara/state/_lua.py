"""The Redis store's Lua scripts: one per operation, each run whole by Redis (atomic).

They restate the decisions of ``_logic.py`` (limits, buckets) in Lua. Times come in as ARGV
(the store's clock), numbers go out as ``%.17g`` strings: Redis would truncate a Lua number
reply to an integer. Every key a script names comes in KEYS, except the entries it prunes
from a namespace it was given (Redis Cluster is not supported; one primary is).

Key layout under the store's prefix ``P``::

    P kv:d:<ns>   hash    key -> value
    P kv:u:<ns>   zset    key -> last use (a sequence number: least recently used first)
    P kv:e:<ns>   zset    key -> expires at (entries with a TTL)
    P c:<key>     hash    s -> spent, e -> expires at (the counter's period)
    P h:<key>     hash    reservation id -> amount held
    P l:<key>     zset    reservation id -> lease end
    P r:<id>      string  a settled reservation, expires an hour after its lease
    P b:<key>     hash    l -> level, t -> when (a token bucket)
    P x:<stream>  stream  the log
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = [
    "ADD",
    "ADJUST",
    "ADMIT",
    "KV_CLEAR",
    "KV_COUNT",
    "KV_DELETE",
    "KV_GET",
    "KV_PUT",
    "READ",
    "RESERVE",
    "SET",
    "SETTLE",
    "TAKE",
    "Script",
]


@dataclass(frozen=True)
class Script:
    """A script's source and the SHA1 that ``EVALSHA`` names it by."""

    name: str
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


_COMMON = """
-- Lua turns a number argument of redis.call into text with 14 digits: times go as fmt(x).
local function fmt(x) return string.format('%.17g', x) end
-- Milliseconds for PEXPIRE: at least 1, at most 1e13 (300 years, still written exactly).
local function ms(seconds) return math.min(1e13, math.max(1, math.ceil(seconds * 1000))) end
-- Calls fn with the members a thousand at a time (unpack has a limit on arguments).
local function in_chunks(members, fn)
  for i = 1, #members, 1000 do fn({unpack(members, i, math.min(i + 999, #members))}) end
end
"""

_KV = (
    _COMMON
    + """
local data, uses, expiries = KEYS[1], KEYS[2], KEYS[3]
local function forget(keys)
  in_chunks(keys, function(chunk)
    redis.call('HDEL', data, unpack(chunk))
    redis.call('ZREM', uses, unpack(chunk))
    redis.call('ZREM', expiries, unpack(chunk))
  end)
end
local function prune(now)
  forget(redis.call('ZRANGEBYSCORE', expiries, '-inf', fmt(now)))
end
local function next_use()
  local top = redis.call('ZREVRANGE', uses, 0, 0, 'WITHSCORES')
  return (tonumber(top[2]) or 0) + 1
end
"""
)

# ARGV: key, now
KV_GET = Script(
    "kv_get",
    _KV
    + """
local key, now = ARGV[1], tonumber(ARGV[2])
local expires_at = tonumber(redis.call('ZSCORE', expiries, key))
if expires_at and expires_at <= now then
  redis.call('HDEL', data, key); redis.call('ZREM', uses, key); redis.call('ZREM', expiries, key)
  return false
end
local value = redis.call('HGET', data, key)
if value then redis.call('ZADD', uses, next_use(), key) end
return value
""",
)

# ARGV: key, value, expires at or '', max entries or '', now, slack ms for the native expiry
KV_PUT = Script(
    "kv_put",
    _KV
    + """
local key, value, now = ARGV[1], ARGV[2], tonumber(ARGV[5])
local expires_at, bound, slack = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
prune(now)
redis.call('HSET', data, key, value)
redis.call('ZADD', uses, next_use(), key)
if expires_at then redis.call('ZADD', expiries, fmt(expires_at), key)
else redis.call('ZREM', expiries, key) end
if bound then
  local excess = redis.call('HLEN', data) - bound
  if excess > 0 then
    forget(redis.call('ZRANGE', uses, 0, excess - 1))
  end
end
-- When every entry has a TTL, the namespace's keys go by themselves after the last one.
if redis.call('HLEN', data) > redis.call('ZCARD', expiries) then
  redis.call('PERSIST', data); redis.call('PERSIST', uses); redis.call('PERSIST', expiries)
else
  local last = tonumber(redis.call('ZREVRANGE', expiries, 0, 0, 'WITHSCORES')[2])
  local ttl = ms(last - now) + slack
  redis.call('PEXPIRE', data, ttl); redis.call('PEXPIRE', uses, ttl)
  redis.call('PEXPIRE', expiries, ttl)
end
return true
""",
)

# ARGV: key, now
KV_DELETE = Script(
    "kv_delete",
    _KV
    + """
local key, now = ARGV[1], tonumber(ARGV[2])
local expires_at = tonumber(redis.call('ZSCORE', expiries, key))
local live = redis.call('HDEL', data, key) == 1 and (not expires_at or expires_at > now)
redis.call('ZREM', uses, key); redis.call('ZREM', expiries, key)
return live and 1 or 0
""",
)

# ARGV: prefix or '', now
KV_CLEAR = Script(
    "kv_clear",
    _KV
    + """
local prefix, now = ARGV[1], tonumber(ARGV[2])
prune(now)
if prefix == '' then
  local cleared = redis.call('HLEN', data)
  redis.call('DEL', data, uses, expiries)
  return cleared
end
local doomed = {}
for _, key in ipairs(redis.call('HKEYS', data)) do
  if string.sub(key, 1, #prefix) == prefix then doomed[#doomed + 1] = key end
end
forget(doomed)
return #doomed
""",
)

# ARGV: now
KV_COUNT = Script(
    "kv_count",
    _KV
    + """
prune(tonumber(ARGV[1]))
return redis.call('HLEN', data)
""",
)

_COUNTERS = (
    _COMMON
    + """
-- A counter is three keys: c (spent, expiry), h (held amounts), l (lease ends).
local function live(c, h, l, now)
  local fields = redis.call('HMGET', c, 's', 'e')
  local ends = tonumber(fields[2])
  if ends and ends <= now then
    redis.call('DEL', c, h, l)
    return 0, 0
  end
  local lapsed = redis.call('ZRANGEBYSCORE', l, '-inf', fmt(now))
  if #lapsed > 0 then
    in_chunks(lapsed, function(chunk) redis.call('HDEL', h, unpack(chunk)) end)
    redis.call('ZREMRANGEBYSCORE', l, '-inf', fmt(now))
  end
  local reserved = 0
  for _, amount in ipairs(redis.call('HVALS', h)) do reserved = reserved + tonumber(amount) end
  return tonumber(fields[1]) or 0, reserved
end
local function expire(c, h, l, ends, now)
  if ends then redis.call('HSET', c, 'e', fmt(ends))
  else ends = tonumber(redis.call('HGET', c, 'e')) end
  if ends then
    local ttl = ms(ends - now)
    redis.call('PEXPIRE', c, ttl); redis.call('PEXPIRE', h, ttl); redis.call('PEXPIRE', l, ttl)
  end
end
"""
)

# KEYS: c, h, l per hold. ARGV: now, id, amount, lease end, then limit or '' and expiry or ''
# per hold. Returns nil when granted, else {index of the refusing hold, spent, reserved}.
RESERVE = Script(
    "reserve",
    _COUNTERS
    + """
local now, id, amount, lease_end = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]
for i = 0, #KEYS / 3 - 1 do
  local spent, reserved = live(KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3], now)
  local limit = tonumber(ARGV[5 + 2 * i])
  if limit and spent + reserved + amount > limit + 1e-9 * math.max(1, math.abs(limit)) then
    return {i, fmt(spent), fmt(reserved)}
  end
end
for i = 0, #KEYS / 3 - 1 do
  local c, h, l = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  redis.call('HSETNX', c, 's', '0')
  redis.call('HSET', h, id, ARGV[3])
  redis.call('ZADD', l, lease_end, id)
  expire(c, h, l, tonumber(ARGV[6 + 2 * i]), now)
end
return false
""",
)

# KEYS: the settled marker, then c, h, l per hold. ARGV: now, id, actual or '' (release),
# milliseconds to remember the settlement, then the expiry or '' per hold. 1 if this settled it.
SETTLE = Script(
    "settle",
    _COUNTERS
    + """
local now, id, actual = tonumber(ARGV[1]), ARGV[2], ARGV[3]
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[4]) then return 0 end
for i = 0, (#KEYS - 1) / 3 - 1 do
  local c, h, l = KEYS[3 * i + 2], KEYS[3 * i + 3], KEYS[3 * i + 4]
  redis.call('HDEL', h, id)
  redis.call('ZREM', l, id)
  if actual ~= '' then
    live(c, h, l, now)
    redis.call('HINCRBYFLOAT', c, 's', actual)
    expire(c, h, l, tonumber(ARGV[5 + i]), now)
  end
end
return 1
""",
)

# KEYS: c, h, l. ARGV: now, amount, expiry or ''. Returns the new spent.
ADD = Script(
    "add",
    _COUNTERS
    + """
local now = tonumber(ARGV[1])
live(KEYS[1], KEYS[2], KEYS[3], now)
local spent = redis.call('HINCRBYFLOAT', KEYS[1], 's', ARGV[2])
expire(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[3]), now)
return spent
""",
)

# KEYS: c, h, l. ARGV: now. Returns {spent, reserved}.
READ = Script(
    "read",
    _COUNTERS
    + """
local spent, reserved = live(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]))
return {fmt(spent), fmt(reserved)}
""",
)

# KEYS: c, h, l. ARGV: now, spent, expiry or ''.
SET = Script(
    "set",
    _COUNTERS
    + """
local now = tonumber(ARGV[1])
live(KEYS[1], KEYS[2], KEYS[3], now)
redis.call('HSET', KEYS[1], 's', ARGV[2])
expire(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[3]), now)
return true
""",
)

_BUCKETS = (
    _COMMON
    + """
local bucket = KEYS[1]
local now, rate, burst, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local state = redis.call('HMGET', bucket, 'l', 't')
local level = burst
if state[1] then
  level = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
end
local function store(new_level)
  redis.call('HSET', bucket, 'l', fmt(new_level), 't', fmt(now))
  -- A bucket that has refilled is the same as none: let Redis drop it then.
  redis.call('PEXPIRE', bucket, ms((burst - new_level) / rate) + 1000)
end
"""
)

# KEYS: bucket. ARGV: now, rate, burst, amount. Returns {allowed 1/0, retry after, remaining}.
TAKE = Script(
    "take",
    _BUCKETS
    + """
if amount > burst then return {0, 'inf', fmt(level)} end
if level + 1e-9 >= amount then
  store(level - amount)
  return {1, '0', fmt(level - amount)}
end
return {0, fmt((amount - level) / rate), fmt(level)}
""",
)

# KEYS: bucket. ARGV: now, rate, burst, amount. Returns the new level.
ADJUST = Script(
    "adjust",
    _BUCKETS
    + """
local new_level = math.min(burst, level - amount)
store(new_level)
return fmt(new_level)
""",
)

# KEYS: one bucket per draw, then c, h, l per hold. ARGV: now, number of draws, then rate,
# burst and amount per draw; when there are holds: id, amount, lease end, then limit or '' and
# expiry or '' per hold. Returns {how, takes, counters, index}: how is 'ok', 't' (a bucket
# refused: the last take is its answer) or 'b' (the hold at index refused); nothing is written
# unless it is 'ok'.
ADMIT = Script(
    "admit",
    _COUNTERS
    + """
local now, draws = tonumber(ARGV[1]), tonumber(ARGV[2])
local takes, levels, counters = {}, {}, {}
for i = 1, draws do
  local rate, burst = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local amount = tonumber(ARGV[3 * i + 2])
  local state = redis.call('HMGET', KEYS[i], 'l', 't')
  local level = burst
  if state[1] then
    level = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
  end
  if amount > burst then
    takes[i] = {0, 'inf', fmt(level)}
    return {'t', takes, counters, i - 1}
  end
  if level + 1e-9 < amount then
    takes[i] = {0, fmt((amount - level) / rate), fmt(level)}
    return {'t', takes, counters, i - 1}
  end
  levels[i] = level - amount
  takes[i] = {1, '0', fmt(level - amount)}
end
local base = 3 * draws + 3
local holds = (#KEYS - draws) / 3
local id, amount, lease_end = ARGV[base], tonumber(ARGV[base + 1]), ARGV[base + 2]
for j = 0, holds - 1 do
  local k = draws + 3 * j
  local spent, reserved = live(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], now)
  counters[j + 1] = {fmt(spent), fmt(reserved)}
  local limit = tonumber(ARGV[base + 3 + 2 * j])
  if limit and spent + reserved + amount > limit + 1e-9 * math.max(1, math.abs(limit)) then
    return {'b', takes, counters, j}
  end
end
for j = 0, holds - 1 do
  local k = draws + 3 * j
  local c, h, l = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  redis.call('HSETNX', c, 's', '0')
  redis.call('HSET', h, id, ARGV[base + 1])
  redis.call('ZADD', l, lease_end, id)
  expire(c, h, l, tonumber(ARGV[base + 4 + 2 * j]), now)
end
for i = 1, draws do
  local rate, burst = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  redis.call('HSET', KEYS[i], 'l', fmt(levels[i]), 't', fmt(now))
  redis.call('PEXPIRE', KEYS[i], ms((burst - levels[i]) / rate) + 1000)
end
return {'ok', takes, counters, -1}
""",
)
