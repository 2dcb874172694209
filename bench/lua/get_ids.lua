-- GET BENCH_PATH_PREFIX .. <id> with ids drawn at random from the file BENCH_IDS_FILE.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require("common")
local ids = {}
local prefix = os.getenv("BENCH_PATH_PREFIX")

function init(args)
  for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
    ids[#ids + 1] = line
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
