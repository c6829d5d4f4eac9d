-- bench_http.lua - the wrk script of tests/bench/bench_http.sh.
--
--   wrk ... -s bench_http.lua URL -- submit FILE RUNTAG [DELAY_MS]
--       POST FILE (a FHIR message Bundle, JSON or XML by its suffix) to
--       $process-message, each request with its own Bundle.identifier, so
--       every request is a new case; DELAY_MS > 0 waits that long on each
--       connection before each request (closed loop; for an open-loop
--       paced load see tests/tools/bench_http_paced.c).
--   wrk ... -s bench_http.lua URL -- read REFNR_FILE
--       GET /fhir/Task/{refnr}, refnr drawn from the file (one a line).
--
-- done() prints one machine-readable RESULT line for the shell script.

local threads = {}
local n = 0

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

local mode, head, tail, refnrs, pause, tag

local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

function init(args)
    mode = args[1]
    wrk.headers["X-Klasgw-Client"] = "SE2321000016-EHR1"
    wrk.headers["X-Klasgw-User"] = "SE2321000016-DOC1"
    if mode == "submit" then
        local body = slurp(args[2])
        tag = args[3]
        pause = tonumber(args[4] or "0")
        local at
        if args[2]:match("%.xml$") then
            wrk.headers["Content-Type"] = "application/fhir+xml"
            at = body:find("<type value=\"message\"/>", 1, true)
            head, tail = body:sub(1, at - 1), body:sub(at)
            head = head .. "<identifier><system value=\"urn:ietf:rfc:3986\"/><value value=\"urn:uuid:"
            tail = "\"/></identifier>" .. tail
        else
            wrk.headers["Content-Type"] = "application/fhir+json"
            at = body:find("\"type\": \"message\"", 1, true)
            head, tail = body:sub(1, at - 1), body:sub(at)
            head = head .. "\"identifier\": {\"system\": \"urn:ietf:rfc:3986\", \"value\": \"urn:uuid:"
            tail = "\"}, " .. tail
        end
        wrk.method = "POST"
        wrk.path = "/fhir/$process-message"
    else
        refnrs = {}
        for line in io.lines(args[2]) do
            if #line > 0 then table.insert(refnrs, line) end
        end
        wrk.method = "GET"
        math.randomseed(tid * 7919)
        pause = 0
    end
end

function delay()
    return pause
end

function request()
    n = n + 1
    if mode == "submit" then
        -- urn:uuid: run tag (8 hex), thread, counter: unique in the run.
        local id = string.format("%s-%04x-4000-8000-%012x", tag, tid, n)
        return wrk.format(nil, nil, nil, head .. id .. tail)
    end
    return wrk.format(nil, "/fhir/Task/" .. refnrs[math.random(#refnrs)])
end

function done(summary, latency, requests)
    io.write(string.format(
        "RESULT requests=%d duration_us=%d non2xx=%d errors=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write +
            summary.errors.timeout,
        latency:percentile(50), latency:percentile(99)))
end
