-- The ingest load of benches/ingest_gateways.rs, for wrk: each request is a
-- batch of 100 readings from one sender, made afresh so that measurement
-- times keep increasing per device.
--
--   wrk -t1 -c32 -d10s -s ingest.lua http://127.0.0.1:PORT/PATH -- SENDERS TIMES BASE_MS
--
-- SENDERS is a file with one sender a line, `token<TAB>device:kind,…`: the
-- (device, reading kind) pairs its batches name in turn; the senders take
-- turns too. TIMES is `device` (each reading carries `at`) or `arrival`
-- (none does). With device times, each device's clock starts at BASE_MS
-- and moves on 1 ms a reading (a device that sends for itself alone sends
-- 100,000 readings a second, and must stay behind the host's clock), and
-- one reading in 20 is late: buffered, it carries a time 30 s to 10 min
-- before the device's newest. Three items a batch are invalid, as in the
-- field: an unknown device (index 10), a value out of range (index 50) and
-- an unknown kind (index 90).
--
-- Prints `wrk-result requests=… non_2xx=… short=… duration_us=… p99_us=…` at the end.

local BATCH = 100
local STEP_MS = 1
local LATE_EVERY = 20
local FLAGS = {door = true, occupancy = true, motion = true, leak = true}

local senders = {}
local clocks = {}
local with_times = true
local base_ms = 0
local turn = 0

function init(args)
  local file = assert(io.open(args[1]), "the senders file")
  for line in file:lines() do
    local token, list = line:match("^(%S+)\t(%S+)$")
    local pairs_ = {}
    for device, kind in list:gmatch("([^,:]+):([^,]+)") do
      pairs_[#pairs_ + 1] = {device = device, kind = kind}
    end
    senders[#senders + 1] = {token = token, pairs = pairs_, cursor = 0}
  end
  file:close()
  with_times = args[2] == "device"
  base_ms = tonumber(args[3])
end

-- The next measurement time of `device`: its clock moved on or, for a late
-- reading, a time well before it.
local function measured_at(device, n)
  local clock = (clocks[device] or base_ms) + STEP_MS
  clocks[device] = clock
  if n % LATE_EVERY == 7 then
    return clock - 30000 - (n * 7919) % 570000
  end
  return clock
end

local function reading(sender, n)
  local pair = sender.pairs[sender.cursor % #sender.pairs + 1]
  sender.cursor = sender.cursor + 1
  local device, kind = pair.device, pair.kind
  local value
  if FLAGS[kind] then
    value = (n % 2 == 0) and "true" or "false"
  else
    value = string.format("%.2f", (n % 50) / 100)
  end
  if n == 10 then device = "ghost-" .. device end
  if n == 50 then value = "5000" end
  if n == 90 then kind = "radiation" end
  local at = ""
  if with_times then
    at = string.format(',"at":%d', measured_at(pair.device, n))
  end
  return '{"device":"' .. device .. '","kind":"' .. kind .. '","value":' .. value .. at .. "}"
end

function request()
  turn = turn % #senders + 1
  local sender = senders[turn]
  local items = {}
  for n = 0, BATCH - 1 do items[n + 1] = reading(sender, n) end
  local headers = {
    ["Authorization"] = "Bearer " .. sender.token,
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", nil, headers, "[" .. table.concat(items, ",") .. "]")
end

-- 2xx answers whose report did not accept exactly the batch's 97 valid readings.
short = 0

function response(status, headers, body)
  if status >= 200 and status < 300 and not body:find('"accepted":97,', 1, true) then
    short = short + 1
  end
end

-- `done` runs in wrk's main Lua state; the counts are in the threads'.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local shorts = 0
  for _, thread in ipairs(threads) do shorts = shorts + thread:get("short") end
  io.write(string.format("wrk-result requests=%d non_2xx=%d short=%d duration_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, shorts, summary.duration, latency:percentile(99)))
end
