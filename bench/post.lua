-- wrk script for bench/run.sh: POST one signed delivery, the same bytes on every request.
-- BODY_FILE: the body; BODY_SIGNATURE: its X-MeetingBaas-Signature (the signature scheme has no
-- timestamp, so the headers stay valid for the whole run). wrk adds Content-Length.
local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-MeetingBaas-Signature"] = os.getenv("BODY_SIGNATURE")
