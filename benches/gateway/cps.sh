#!/usr/bin/env bash
# Calls per second through the gateway beside Kamailio, in the same run, on loopback only.
#
#   SIPp UAC (uac_rr.xml) -> proxy under test -> SIPp UAS (uas_rr.xml)
#
# Both proxies are stateful, record-route the INVITE and find the callee `bob@bench.local`
# through their registrar's location service: before the calls, register.xml REGISTERs (with
# digest) bob's Contact pointing at the UAS's port. Neither challenges the INVITE (the caller
# is not one of the proxy's users). The ACK and BYE follow the Record-Route set through the
# proxy.
#
# Usage: benches/gateway/cps.sh            (from anywhere; needs sipp, kamailio, cargo)
# Environment: RATES="100 200 400 800 1200" (calls/s, each tried on the gateway then on
#   Kamailio), SECS=10 (seconds of calls per rate), OUT=DIR (results; default a temp dir),
#   PROXIES="gateway kamailio", PERF=1 (perf record the gateway at the top rate),
#   GATEWAY=PATH (use this release binary instead of building the workspace's),
#   PAUSE=5 (seconds between runs).
# Every SIPp run is bounded: -m RATE*SECS calls, -timeout, and `timeout` around it.
# Prints one line per run and writes OUT/results.tsv. proxy_cpu_pct is over the run's elapsed
# time, which stretches when a few calls wait for SIPp's 8 s receive timeout: CPU per call is
# proxy_cpu_pct * elapsed_s / calls. proxy_udp_drops counts the datagrams the kernel dropped
# on the proxy's UDP port during the run (its receive buffer was full).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/gateway
RATES=${RATES:-"100 200 400 800 1200"}
SECS=${SECS:-10}
PROXIES=${PROXIES:-"gateway kamailio"}
OUT=${OUT:-$(mktemp -d /tmp/gw-cps.XXXXXX)}
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/gw-cps-run.XXXXXX)
DOMAIN=bench.local
GW_UDP=25060 GW_HTTP=28080 KAM_UDP=25070
UAS_GW=25080 UAS_KAM=25081 UAC_PORT=25090

PAUSE=${PAUSE:-5}
# Refuse to start when a port is taken (a leftover proxy would silently answer instead).
for port in $GW_UDP $KAM_UDP $UAS_GW $UAS_KAM $UAC_PORT; do
    if ss -Hlun "sport = :$port" | grep -q .; then echo "UDP port $port is in use" >&2; exit 1; fi
done
if ss -Hltn "sport = :$GW_HTTP" | grep -q .; then echo "TCP port $GW_HTTP is in use" >&2; exit 1; fi

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

if [ -n "${GATEWAY:-}" ]; then
    GW=$GATEWAY   # a prebuilt release binary (e.g. of a clean checkout while the tree is mid-edit)
else
    (cd "$ROOT" && cargo build --release -p sipsimple-gateway)
    GW=$ROOT/target/release/sipsimple-gateway
fi

# --- the gateway: temp data dir, no HTTPS/TCP/TLS, no demo users, no rate limit
mkdir -p "$TMP/gw"
cat > "$TMP/gw.toml" <<EOF
data_dir = "$TMP/gw"
domain = "$DOMAIN"
http = "127.0.0.1:$GW_HTTP"
https = "off"
sip_udp = "127.0.0.1:$GW_UDP"
sip_tcp = "off"
sip_tls = "off"
demo = false
[security]
rate_limit = 0
EOF
"$GW" --config "$TMP/gw.toml" serve --no-demo --https off >"$OUT/gateway.log" 2>&1 &
GW_PID=$!; PIDS+=("$GW_PID")
# `user add` needs the tables that `serve` creates at start-up.
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$GW_HTTP/" && break; sleep 0.1; done
"$GW" --data-dir "$TMP/gw" --domain "$DOMAIN" user add bob --password secret >/dev/null

# --- Kamailio: the equivalent config, 512 MB of shared memory
mkdir -p "$TMP/kam"
kamailio -f "$HERE/kamailio-bench.cfg" -DD -E -m 512 -w "$TMP/kam" -Y "$TMP/kam" \
    -A KAM_PORT=$KAM_UDP -A "KAM_DOMAIN=\"$DOMAIN\"" >"$OUT/kamailio.log" 2>&1 &
KAM_PID=$!; PIDS+=("$KAM_PID")

# --- the callee: REGISTER (digest) from the UAS's own port, then the UAS on that port. The
# gateway sends to the address a UDP REGISTER came from (RFC 3581), not to the Contact, so
# the REGISTER must leave from the port the UAS will listen on; Kamailio uses the Contact,
# which names the same port.
register() { # proxy_port uas_port
    timeout 20 sipp -sf "$HERE/register.xml" -i 127.0.0.1 -mi 127.0.0.1 -p "$2" -m 1 -nostdin \
        -key user bob -key domain "$DOMAIN" -key uas_port "$2" -au bob -ap secret \
        -timeout 10s -timeout_error "127.0.0.1:$1" >"$OUT/register-$1.log" 2>&1 </dev/null
}
sleep 1
register $GW_UDP $UAS_GW || { echo "REGISTER to the gateway failed"; cat "$OUT/register-$GW_UDP.log"; exit 1; }
register $KAM_UDP $UAS_KAM || { echo "REGISTER to Kamailio failed"; cat "$OUT/register-$KAM_UDP.log"; exit 1; }
for port in $UAS_GW $UAS_KAM; do
    sipp -sf "$HERE/uas_rr.xml" -i 127.0.0.1 -mi 127.0.0.1 -p "$port" -nostdin -timeout 3600s \
        >"$OUT/uas-$port.log" 2>&1 </dev/null &
    PIDS+=("$!")
done
sleep 1

# CPU ticks (USER_HZ) of a process and its children (Kamailio forks its workers).
ticks() {
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do
        [ -r "/proc/$p/stat" ] || continue
        total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$total"
}
# Datagrams the kernel dropped on a local UDP port's sockets (receive buffer full), summed
# (/proc/net/udp's last column).
udp_drops() {
    awk -v p="$(printf ':%04X' "$1")" '$2 ~ p"$" {d += $NF} END {print d + 0}' /proc/net/udp
}
col() { # csv column_name -> value of the last row
    awk -F';' -v name="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==name) c=i} END{print $c}' "$1"
}

HZ=$(getconf CLK_TCK)
printf 'proxy\trate\tcalls\tsuccessful\tfailed\tfail_pct\telapsed_s\tachieved_cps\tproxy_cpu_pct\tsipp_uac_cpu_pct\tproxy_udp_drops\n' >"$OUT/results.tsv"
TOP=$(echo $RATES | awk '{print $NF}')
for rate in $RATES; do
    for proxy in $PROXIES; do
        if [ "$proxy" = gateway ]; then port=$GW_UDP pid=$GW_PID; else port=$KAM_UDP pid=$KAM_PID; fi
        calls=$((rate * SECS))
        stat="$OUT/stat-$proxy-$rate.csv"
        perf_pid=
        if [ "${PERF:-0}" = 1 ] && [ "$proxy" = gateway ] && [ "$rate" = "$TOP" ]; then
            perf record -g -p "$pid" -o "$OUT/perf-gateway-$rate.data" -- sleep "$SECS" \
                >/dev/null 2>&1 &
            perf_pid=$!
        fi
        t0=$(ticks "$pid"); s0=$(date +%s.%N); d0=$(udp_drops "$port")
        /usr/bin/time -f '%U %S %e' -o "$OUT/time-$proxy-$rate.txt" \
            timeout $((SECS * 3 + 40)) sipp -sf "$HERE/uac_rr.xml" -s bob -key domain "$DOMAIN" \
            -i 127.0.0.1 -mi 127.0.0.1 -p $UAC_PORT -nostdin \
            -r "$rate" -m "$calls" -l $((rate * 4)) -recv_timeout 8000 \
            -timeout $((SECS * 3 + 30))s -trace_stat -stf "$stat" -fd 1 \
            -trace_err -error_file "$OUT/err-$proxy-$rate.log" \
            "127.0.0.1:$port" >"$OUT/uac-$proxy-$rate.log" 2>&1 </dev/null || true
        s1=$(date +%s.%N); t1=$(ticks "$pid"); d1=$(udp_drops "$port")
        [ -n "$perf_pid" ] && wait "$perf_pid" || true
        ok=$(col "$stat" 'SuccessfulCall(C)'); bad=$(col "$stat" 'FailedCall(C)')
        read -r u s e < <(tail -1 "$OUT/time-$proxy-$rate.txt") || true
        line=$(awk -v p="$proxy" -v r="$rate" -v c="$calls" -v ok="$ok" -v bad="$bad" \
            -v el="$(echo "$s1 - $s0" | bc)" -v dt=$((t1 - t0)) -v hz="$HZ" -v u="$u" -v s="$s" \
            -v dr=$((d1 - d0)) \
            'BEGIN{printf "%s\t%d\t%d\t%d\t%d\t%.3f\t%.1f\t%.0f\t%.0f\t%.0f\t%d\n", p, r, c, ok, bad,
                100*bad/c, el, ok/el, 100*dt/hz/el, 100*(u+s)/el, dr}')
        echo "$line" | tee -a "$OUT/results.tsv"
        sleep "$PAUSE"   # let the proxies' transaction timers drain
    done
done

# The gateway's call log: one row per call, answered and ended (the writer must keep up).
if [[ " $PROXIES " == *" gateway "* ]] && command -v sqlite3 >/dev/null; then
    sleep 1   # the writer's last batch
    total=0; for rate in $RATES; do total=$((total + rate * SECS)); done
    sqlite3 "$TMP/gw/gateway.db" "SELECT COUNT(*), COUNT(answered_at), COUNT(ended_at) FROM calls" |
        awk -F'|' -v t="$total" '{printf "gateway call log: %d rows, %d answered, %d ended (calls offered: %d)\n", $1, $2, $3, t}' |
        tee "$OUT/calllog.txt"
fi
echo "results: $OUT/results.tsv"
column -t "$OUT/results.tsv"
