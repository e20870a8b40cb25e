-- One greylist check, atomically inside Redis: the transition of
-- src/state.rs (see there for the rules), on three hashes:
--   KEYS[1] triplet  f=first_seen l=last_seen p=passed(0/1)
--   KEYS[2] client   n=count l=last_counted          (auto-whitelist)
--   KEYS[3] network  n=new_entries s=window_start    (quota of new entries)
-- ARGV: now delay retry_window max_age awl_clients max_new_per_network use_server_clock
local now = tonumber(ARGV[1])
if ARGV[7] == '1' then now = tonumber(redis.call('TIME')[1]) end
local delay = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local max_age = tonumber(ARGV[4])
local awl = tonumber(ARGV[5])
local max_new = tonumber(ARGV[6])

local c = redis.call('HMGET', KEYS[2], 'n', 'l')
local count = tonumber(c[1]) or 0
local last_counted = tonumber(c[2]) or 0
local counts_now = (now >= last_counted + 3600) or (last_counted > now) or (count == 0)
local function count_client()
  redis.call('HSET', KEYS[2], 'n', count + 1, 'l', now)
  redis.call('EXPIRE', KEYS[2], math.max(max_age, 1))
end
if awl > 0 and count >= awl then
  if counts_now then count_client() end
  return {'awl', 0}
end

local e = redis.call('HMGET', KEYS[1], 'f', 'l', 'p')
local first = tonumber(e[1])
local last = tonumber(e[2]) or first
local passed = e[3] == '1'
local live = false
if first then
  if first > now then first = now end
  if last > now then last = now end
  if passed then live = (now - last <= max_age) else live = (now - first <= window) end
end

if not live then
  local n = redis.call('HMGET', KEYS[3], 'n', 's')
  local cnt = tonumber(n[1])
  local start = tonumber(n[2])
  if not cnt or not start or start > now or now - start > window then
    cnt = 0
    start = now
  end
  if cnt >= max_new then return {'capped', 0} end
  redis.call('HSET', KEYS[3], 'n', cnt + 1, 's', start)
  redis.call('EXPIRE', KEYS[3], math.max(window - (now - start), 1))
  redis.call('HSET', KEYS[1], 'f', now, 'l', now, 'p', 0)
  redis.call('EXPIRE', KEYS[1], math.max(window, 1))
  return {'new', 0}
end

if not passed then
  local waited = now - first
  if waited < delay then
    redis.call('HSET', KEYS[1], 'f', first, 'l', now, 'p', 0)
    redis.call('EXPIRE', KEYS[1], math.max(window - waited, 1))
    return {'early', delay - waited}
  end
  redis.call('HSET', KEYS[1], 'f', first, 'l', now, 'p', 1)
  redis.call('EXPIRE', KEYS[1], math.max(max_age, 1))
  if awl > 0 and counts_now then count_client() end
  return {'retried', waited}
end

redis.call('HSET', KEYS[1], 'f', first, 'l', now, 'p', 1)
redis.call('EXPIRE', KEYS[1], math.max(max_age, 1))
return {'known', 0}
