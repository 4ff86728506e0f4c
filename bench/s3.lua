-- S3's load: each request sends the next unused dialog submission of the file $S3_STATES
-- (bench/s3_states.py; a state is single-use), and answers other than `{}` are counted.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local bodies = {}
for line in io.lines(os.getenv("S3_STATES")) do
    bodies[#bodies + 1] = line
end
sent = 0
wrong = 0

request = function()
    sent = sent + 1
    return wrk.format(nil, "/dialogs/s3", nil, bodies[(sent - 1) % #bodies + 1])
end

response = function(status, headers, body)
    if body ~= "{}" then
        wrong = wrong + 1
    end
end

local threads = {}
setup = function(thread)
    table.insert(threads, thread)
end

done = function()
    for _, thread in ipairs(threads) do
        local reused = math.max(0, thread:get("sent") - #bodies)
        io.write(string.format("s3: %d sent, %d answered other than {}, %d states reused\n",
            thread:get("sent"), thread:get("wrong"), reused))
    end
end
