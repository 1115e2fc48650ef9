-- wrk script for bench/inbox.sh: POST a distinct 1 KiB delivery on every request (callback
-- scheme: the `x-mb-secret` header does not depend on the body), so that an inbox stores each one
-- instead of answering a duplicate. CALLBACK_SECRET: the secret; RUN_ID: makes bodies unique
-- across runs against the same store.
local run_id = os.getenv("RUN_ID") or tostring(os.time())
local secret = os.getenv("CALLBACK_SECRET")
local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

local counter = 0
function request()
  counter = counter + 1
  local head = string.format(
    '{"event":"bot.status_change","data":{"bot_id":"bench-%s-%d-%d","status":{"code":"in_call_recording"}}}',
    run_id, tid, counter)
  local body = head .. string.rep(" ", 1024 - #head)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["x-mb-secret"] = secret,
  }, body)
end

-- DELAY_MS: each connection waits this long between requests (a paced load, for
-- bench/inbox-drain.sh's sustained phase); unset, requests follow each other at once.
local pace = tonumber(os.getenv("DELAY_MS") or "")
if pace and pace > 0 then
  function delay()
    return pace
  end
end
