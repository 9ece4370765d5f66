#!/usr/bin/env bash
# Side-by-side load comparison on this machine (loopback only): the Node
# reference server of ../shared/bench against the webchatid demo with the
# memory, SQLite and PostgreSQL ledgers, at several connection counts, in
# fresh-visitor and returning-visitor modes, plus the bare RSA-2048 signing
# rate on 2 goroutines. Rounds are interleaved (reference, ours, reference,
# ours… at every point) and the table and chart show medians.
#
#   bench/run.sh                 # the full run: about 14 minutes
#   bench/run.sh --quick         # 1 round, 2 s, c16 and c64: about 1.5 minutes, to see that it works
#   bench/run.sh --boring        # add rows built with GOEXPERIMENT=boringcrypto (needs cgo and a C compiler)
#   bench/run.sh --row 'webchatid memory + reuse=-ledger memory -reuse'   # any demo flags, one more row
#   bench/run.sh --publish       # also write the chart to docs/ and the table into BENCHMARKS.md
#
# Options (each also as an environment variable, e.g. BENCH_DURATION=4s):
#   -d DUR | BENCH_DURATION     measured time of each load run (default 6s)
#   -w DUR | BENCH_WARMUP       unmeasured warm-up before each run (default 1s)
#   -r N   | BENCH_ROUNDS       rounds (default 3)
#   -c "16 64 …" | BENCH_CONNS  connection counts (default "16 64 128 512")
#   -m "fresh …" | BENCH_MODES  loadgen modes (default "fresh returning")
#   -o DIR | BENCH_OUT          output directory (default bench/out/<UTC time>, git-ignored)
#   --row 'LABEL=FLAGS'         another webchatid row: the demo with these flags (repeatable)
#   --boring-row 'LABEL=FLAGS'  the same, with the demo built with GOEXPERIMENT=boringcrypto
#   --boring                    = --boring-row 'webchatid memory, boringcrypto=-ledger memory', and a
#                                 boringcrypto signing baseline
#   --visitors NxM              also, per row and round, N visitors × M page loads at c64
#                               (the token-reuse workload; e.g. 10000x10; long: N·M requests each)
#   --no-node-visitors          leave the Node reference out of --visitors (at about 450 tokens/s it
#                               needs N·M/450 s a round: 10000x10 is 3.7 min a round for it alone)
#   --no-node, --no-memory, --no-sqlite, --no-postgres   leave a default row out
#   --wrk                       also, per round, server and connection count, wrk with the issue's
#                               ../shared/bench/fresh-visitors.lua (Debian: apt-get install -y wrk): an
#                               extra "wrk-fresh" table, a cross-check of loadgen's fresh mode. wrk
#                               does not wait Retry-After (a refused connection asks again at once)
#                               and its latency counts refused answers too; not in the chart
#   --gobench                   also run identity's Go benchmarks under concurrency (-cpu 2, about 1.5 min)
#                               and add their output to the report
#   --publish                   copy the chart to docs/benchmarks.svg and the table into BENCHMARKS.md
#                               (between its bench:begin/end marks; drops its placeholder notice)
#
# Output in the output directory: results.jsonl (one loadgen JSON line per
# run), results.md (machine, command, tables), chart.svg, and each server's
# log. Each load run also records its server's peak RSS during that run
# alone (loadgen -server-pid: it resets the process's VmHWM with "5" into
# /proc/PID/clear_refs before the run and reads it after), shown in a peak
# RSS table per server, mode and connection count. Needs: go, node and npm (the reference), openssl (its keys), and for
# the PostgreSQL row Debian's postgresql package (.ci/postgres.sh). Every
# server listens on 127.0.0.1; loadgen refuses any other host.
set -euo pipefail

args_given=$*
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${BENCH_SHARED:-$repo/../shared/bench}
[ -d "$shared" ] || shared=/work/shared/bench

duration=${BENCH_DURATION:-6s}
warmup=${BENCH_WARMUP:-1s}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_CONNS:-16 64 128 512}
modes=${BENCH_MODES:-fresh returning}
out=${BENCH_OUT:-}
visitors=""
publish=0 gobench=0
want_node=1 node_visitors=1 want_memory=1 want_sqlite=1 want_postgres=1 boring_sign=0 want_wrk=0
extra_rows=() boring_rows=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	-d) duration=$2; shift ;;
	-w) warmup=$2; shift ;;
	-r) rounds=$2; shift ;;
	-c) conns=$2; shift ;;
	-m) modes=$2; shift ;;
	-o) out=$2; shift ;;
	--row) extra_rows+=("$2"); shift ;;
	--boring-row) boring_rows+=("$2"); shift ;;
	--boring) boring_rows+=("webchatid memory, boringcrypto=-ledger memory"); boring_sign=1 ;;
	--visitors) visitors=$2; shift ;;
	--no-node) want_node=0 ;;
	--no-node-visitors) node_visitors=0 ;;
	--no-memory) want_memory=0 ;;
	--no-sqlite) want_sqlite=0 ;;
	--no-postgres) want_postgres=0 ;;
	--quick) duration=2s; warmup=500ms; rounds=1; conns="16 64" ;;
	--publish) publish=1 ;;
	--gobench) gobench=1 ;;
	--wrk) want_wrk=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$want_wrk" = 1 ] && ! command -v wrk >/dev/null; then
	echo "run.sh: --wrk: no wrk on PATH (Debian: apt-get install -y wrk)" >&2
	exit 2
fi
if [ -n "$visitors" ] && ! [[ $visitors =~ ^[0-9]+x[0-9]+$ ]]; then
	echo "run.sh: --visitors $visitors: want NxM, e.g. 10000x10" >&2
	exit 2
fi

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

out=${out:-$repo/bench/out/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/webchatid-bench.XXXXXX)
results=$out/results.jsonl
: >"$results"

# Processes this script started, by pid; stopped on exit, and the
# PostgreSQL cluster with pg_stop.
pids=()
pg_started=0
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$pg_started" = 1 ]; then pg_stop || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: a port on 127.0.0.1 that nothing listens on now.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_ready URL LOGFILE PID: until URL answers 200, for up to 60 s.
wait_ready() {
	local url=$1 logf=$2 pid=$3
	for _ in $(seq 600); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "server for $url exited; its log:"
			cat "$logf" >&2
			return 1
		fi
		if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	log "no answer from $url after 60 s"
	return 1
}

# --- build ------------------------------------------------------------------
log "building loadgen and the demo"
(cd "$repo" && go build -o "$work/loadgen" ./examples/loadgen && go build -o "$work/webchat" ./examples/webchat)
if [ ${#boring_rows[@]} -gt 0 ] || [ "$boring_sign" = 1 ]; then
	log "building with GOEXPERIMENT=boringcrypto (cgo)"
	(cd "$repo" && CGO_ENABLED=1 GOEXPERIMENT=boringcrypto go build -o "$work/webchat-boring" ./examples/webchat &&
		CGO_ENABLED=1 GOEXPERIMENT=boringcrypto go build -o "$work/loadgen-boring" ./examples/loadgen)
fi

# --- the reference: a copy of ../shared/bench outside the repo ---------------
ref=$work/reference
cp -r "$shared/." "$ref"
rm -rf "$ref/node_modules" "$ref/keys/"*.pem
"$ref/keys/gen.sh" >/dev/null
keys=$ref/keys

labels=() urls=() srvpids=()
start_demo() { # start_demo LABEL BINARY FLAGS...
	local label=$1 bin=$2
	shift 2
	local n=${#labels[@]}
	: >"$out/server-$n.out" # before the start: the loop below reads it at once (and set -e ends on a missing file)
	"$bin" -addr 127.0.0.1:0 -key "$keys/jwt_private.pem" -ibm-public-key "$keys/ibm_public.pem" "$@" \
		>"$out/server-$n.out" 2>"$out/server-$n.log" &
	local pid=$!
	pids+=("$pid")
	local url=""
	for _ in $(seq 600); do
		url=$(sed -n 's/^webchatid demo: open \(http:\/\/127\.0\.0\.1:[0-9]*\)\/.*/\1/p' "$out/server-$n.out" | head -n1)
		[ -n "$url" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$url" ]; then
		log "$label did not start; its log:"
		cat "$out/server-$n.log" >&2
		exit 1
	fi
	wait_ready "$url/createJWT" "$out/server-$n.log" "$pid"
	labels+=("$label") urls+=("$url/createJWT") srvpids+=("$pid")
	log "started $label (pid $pid) at $url: $*"
}

if [ "$want_node" = 1 ]; then
	log "npm ci in $ref"
	(cd "$ref" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	port=$(free_port)
	n=${#labels[@]}
	(cd "$ref" && KEYS_DIR=$keys PORT=$port exec node reference.js) >"$out/server-$n.out" 2>"$out/server-$n.log" &
	pid=$!
	pids+=("$pid")
	wait_ready "http://127.0.0.1:$port/createJWT" "$out/server-$n.log" "$pid"
	labels+=("node reference") urls+=("http://127.0.0.1:$port/createJWT") srvpids+=("$pid")
	log "started node reference (pid $pid) on port $port ($(node --version))"
fi
[ "$want_memory" = 1 ] && start_demo "webchatid memory" "$work/webchat" -ledger memory
[ "$want_sqlite" = 1 ] && start_demo "webchatid SQLite" "$work/webchat" -ledger "sqlite:$work/ledger.db"
if [ "$want_postgres" = 1 ]; then
	# shellcheck source=../.ci/postgres.sh
	source "$repo/.ci/postgres.sh"
	pg_start
	pg_started=1
	start_demo "webchatid PostgreSQL" "$work/webchat" -ledger "$WEBCHATID_TEST_POSTGRES_DSN"
fi
for spec in "${extra_rows[@]}"; do
	# shellcheck disable=SC2086 # FLAGS are words on purpose
	start_demo "${spec%%=*}" "$work/webchat" ${spec#*=}
done
for spec in "${boring_rows[@]}"; do
	# shellcheck disable=SC2086
	start_demo "${spec%%=*}" "$work/webchat-boring" ${spec#*=}
done
[ ${#labels[@]} -gt 0 ] || { log "no server to measure"; exit 2; }

# Peak RSS per load run needs a writable /proc/PID/clear_refs (Linux 4.0+,
# the process's owner); without it, only the whole run's peak is reported.
rss_per_run=1
for i in "${!srvpids[@]}"; do
	if ! { echo 5 >"/proc/${srvpids[$i]}/clear_refs"; } 2>/dev/null; then
		log "cannot reset the peak RSS of ${labels[$i]} (pid ${srvpids[$i]}) through /proc/${srvpids[$i]}/clear_refs: reporting each server's peak over the whole run only"
		rss_per_run=0
	fi
done
rss_flag() { # rss_flag INDEX: loadgen's -server-pid for server INDEX, if measured per run
	[ "$rss_per_run" = 1 ] && echo "-server-pid ${srvpids[$1]}"
	return 0
}

# --- the runs ----------------------------------------------------------------
secs() { # seconds in a Go duration like 6s, 500ms, 1m
	case $1 in
	*ms) awk -v v="${1%ms}" 'BEGIN { print v / 1000 }' ;;
	*m) awk -v v="${1%m}" 'BEGIN { print v * 60 }' ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}
nruns=$((rounds * $(wc -w <<<"$modes") * $(wc -w <<<"$conns") * ${#labels[@]}))
[ "$want_wrk" = 1 ] && nruns=$((nruns + rounds * $(wc -w <<<"$conns") * ${#labels[@]}))
est=$(awk -v n="$nruns" -v d="$(secs "$duration")" -v w="$(secs "$warmup")" -v r="$rounds" 'BEGIN { print n * (d + w + 0.3) + r * 6 }')
log "${#labels[@]} servers, $nruns load runs: about $(printf '%.0f' "$est") s of load"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before: $load_before (on $(nproc) cores; other work on the machine skews every figure)"

sign() { # sign ROUND
	"$work/loadgen" -mode sign -c 2 -d 4s -warmup 500ms -key "$keys/jwt_private.pem" \
		-label "bare RSA-2048 signing" -round "$1" -json "$results" -brief >&2
	if [ "$boring_sign" = 1 ]; then
		"$work/loadgen-boring" -mode sign -c 2 -d 4s -warmup 500ms -key "$keys/jwt_private.pem" \
			-label "bare RSA-2048 signing, boringcrypto" -round "$1" -json "$results" -brief >&2
	fi
}

# wrk_run INDEX CONNS ROUND: wrk -s fresh-visitors.lua against server
# INDEX; wrk-json.lua (below) appends one JSON line in loadgen's layout,
# mode "wrk-fresh", counting 2xx, 503 and 429 answers per thread.
if [ "$want_wrk" = 1 ]; then
	cat >"$work/wrk-json.lua" <<'END'
dofile(os.getenv("WRK_BASE"))
local base_setup, threads = setup, {}
function setup(thread)
  if base_setup then base_setup(thread) end
  table.insert(threads, thread)
end
n2xx, n503, n429 = 0, 0, 0
function response(status, headers, body)
  if status >= 200 and status < 300 then n2xx = n2xx + 1
  elseif status == 503 then n503 = n503 + 1
  elseif status == 429 then n429 = n429 + 1 end
end
local function str(s) return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"' end
function done(summary, latency, requests)
  local ok, r503, r429 = 0, 0, 0
  for _, t in ipairs(threads) do
    ok, r503, r429 = ok + t:get("n2xx"), r503 + t:get("n503"), r429 + t:get("n429")
  end
  local secs, e = summary.duration / 1e6, summary.errors
  local ms = function(us) return us / 1000 end
  local f = assert(io.open(os.getenv("WRK_JSON"), "a"))
  f:write(string.format('{"tool":"wrk","label":%s,"round":%d,"mode":"wrk-fresh","conns":%d,"seconds":%.3f,' ..
    '"requests":%d,"rps":%.3f,"ok_rps":%.3f,' ..
    '"latency_ms":{"count":%d,"mean":%.3f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f},' ..
    '"status":{"2xx":%d,"503":%d,"429":%d},"errors":%d,' ..
    '"error_kinds":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status_4xx_5xx":%d}}\n',
    str(os.getenv("WRK_LABEL")), tonumber(os.getenv("WRK_ROUND")), tonumber(os.getenv("WRK_CONNS")), secs,
    summary.requests, summary.requests / secs, ok / secs,
    summary.requests, ms(latency.mean), ms(latency:percentile(50)), ms(latency:percentile(90)),
    ms(latency:percentile(99)), ms(latency:percentile(99.9)), ms(latency.max),
    ok, r503, r429, e.connect + e.read + e.write + e.timeout,
    e.connect, e.read, e.write, e.timeout, e.status))
  f:close()
  io.stderr:write(string.format("  %-34s wrk-fresh c%-4d %7.0f ok/s  p50 %7.2fms  p99 %8.2fms  max %8.2fms  refused %d  errors %d\n",
    os.getenv("WRK_LABEL"), tonumber(os.getenv("WRK_CONNS")), ok / secs, ms(latency:percentile(50)),
    ms(latency:percentile(99)), ms(latency.max), r503 + r429, e.connect + e.read + e.write + e.timeout))
end
END
fi
wrk_run() {
	local i=$1 c=$2 round=$3
	echo "== ${labels[$i]} c$c round $round" >>"$out/wrk.txt"
	WRK_BASE=$ref/fresh-visitors.lua WRK_JSON=$results WRK_LABEL=${labels[$i]} WRK_ROUND=$round WRK_CONNS=$c \
		wrk -t2 -c "$c" -d "$duration" --timeout 10s -s "$work/wrk-json.lua" "${urls[$i]}" >>"$out/wrk.txt"
	# wrk exits 0 even when its script fails: the JSON line is the proof.
	if [ "$(tail -n1 "$results" | cut -c1-14)" != '{"tool":"wrk",' ]; then
		log "wrk against ${labels[$i]} at c$c wrote no result; its output:"
		tail -n 20 "$out/wrk.txt" >&2
		exit 1
	fi
}

started=$(date -u +%s)
for round in $(seq "$rounds"); do
	log "round $round of $rounds"
	sign "$round"
	for mode in $modes; do
		for c in $conns; do
			for i in "${!labels[@]}"; do
				prime=""
				[ "$mode" = returning ] && prime=-prime # the cookie the server set, as a browser keeps it
				# shellcheck disable=SC2046 # rss_flag's words on purpose
				"$work/loadgen" -mode "$mode" $prime $(rss_flag "$i") -c "$c" -d "$duration" -warmup "$warmup" -retry-after \
					-label "${labels[$i]}" -round "$round" -json "$results" -brief "${urls[$i]}" >&2
			done
		done
	done
	if [ "$want_wrk" = 1 ]; then
		for c in $conns; do
			for i in "${!labels[@]}"; do
				wrk_run "$i" "$c" "$round"
			done
		done
	fi
	if [ -n "$visitors" ]; then
		for i in "${!labels[@]}"; do
			[ "$node_visitors" = 0 ] && [ "${labels[$i]}" = "node reference" ] && continue
			# shellcheck disable=SC2046
			"$work/loadgen" -mode visitors -visitors "${visitors%x*}" -loads "${visitors#*x}" $(rss_flag "$i") -c 64 -d 5m -retry-after \
				-label "${labels[$i]}" -round "$round" -json "$results" -brief "${urls[$i]}" >&2
		done
	fi
done
elapsed=$(($(date -u +%s) - started))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$gobench" = 1 ]; then
	log "go test -bench in identity"
	(cd "$repo" && go test -run '^$' -bench 'Parallel|OpaqueSigner|RawSign|TokenHandler$' -benchtime 2s -count 3 -cpu 2 ./identity/) >"$out/gobench.txt"
fi

# --- report ------------------------------------------------------------------
{
	echo "Measured $(date -u +'%Y-%m-%d %H:%M UTC') by \`bench/run.sh $args_given\` in ${elapsed} s."
	echo
	echo "- machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(free -g | awk '/^Mem:/ {print $2}') GB; $(uname -sr)"
	echo "- $(go version | cut -d' ' -f3-), node $(node --version 2>/dev/null || echo -), ${WEBCHATID_PG_BINDIR:+PostgreSQL $("$WEBCHATID_PG_BINDIR/postgres" --version | awk '{print $3}')}"
	echo "- load: examples/loadgen on the same cores, keep-alive, closed loop (a connection refused with 503 waits its Retry-After plus a random part of 250 ms, as webchatid.js does; the returning visitor sends back the cookie the server set, \`-prime\`), -d $duration after -warmup $warmup, $rounds interleaved rounds, medians"
	if [ "$want_wrk" = 1 ]; then
		echo "- wrk-fresh: $( (wrk -v 2>&1 || true) | head -n1 | cut -d' ' -f1-2) \`-t2 -c C -d $duration --timeout 10s -s fresh-visitors.lua\` (issue 9's script) on the same cores, after each round's loadgen runs; no warm-up, and a refused connection asks again at once (wrk does not wait Retry-After)"
	fi
	echo "- load average before / after: $load_before / $load_after"
	if [ "$rss_per_run" = 1 ]; then
		echo "- peak RSS: per load run, in the table after the load tables (the server process only: PostgreSQL's own processes are not in it; a server's RSS rarely falls between runs, and the memory ledger grows with every fresh visitor, so each run starts from what the runs before it left)"
	else
		echo "- peak RSS (VmHWM) over the whole run:$(for i in "${!labels[@]}"; do printf ' %s %s;' "${labels[$i]}" "$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/${srvpids[$i]}/status" 2>/dev/null)"; done)"
	fi
	echo
	(cd "$repo" && go run ./examples/benchchart -chart "$out/chart.svg" -modes "${modes// /,}" "$results")
	if [ "$gobench" = 1 ]; then
		cat <<'END'

Go benchmarks (`go test -run '^$' -bench 'Parallel|OpaqueSigner|RawSign|TokenHandler$' -benchtime 2s -count 3 -cpu 2 ./identity/`):

```
END
		grep -E '^(Benchmark|cpu:)' "$out/gobench.txt"
		printf '```\n'
	fi
} >"$out/results.md"
log "results: $out/results.md, $out/results.jsonl, $out/chart.svg"
cat "$out/results.md"

if [ "$publish" = 1 ]; then
	cp "$out/chart.svg" "$repo/docs/benchmarks.svg"
	awk -v f="$out/results.md" '
		/<!-- bench:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
		/<!-- bench:end -->/ { skip = 0 }
		/<!-- bench:placeholder:begin -->/ { drop = 1 }
		!skip && !drop
		/<!-- bench:placeholder:end -->/ { drop = 0 }' "$repo/BENCHMARKS.md" >"$work/B.md"
	mv "$work/B.md" "$repo/BENCHMARKS.md"
	log "wrote docs/benchmarks.svg and the table into BENCHMARKS.md"
fi
