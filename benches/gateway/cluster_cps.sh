#!/usr/bin/env bash
# Calls per second: SIPp UAC -> Kamailio (deploy/kamailio/kamailio.cfg, dispatcher hash over
# Call-ID) -> two gateways in a cluster (shared PostgreSQL) -> Kamailio -> SIPp UAS, beside one
# gateway alone (SQLite, no Kamailio: cps.sh's setup), in the same run, on loopback only.
#
# The callee bob@bench.local registers through Kamailio (so on one gateway); every call goes
# to a gateway by Call-ID hash (the REGISTER's digest answer keeps its Call-ID, so its nonce's gateway), which looks bob up in PostgreSQL and reaches him through
# Kamailio (his registration's source). The caller is not a local user: no 407. The ACK and
# BYE follow the Record-Routes (Kamailio's and the gateway's). Scenarios are cps.sh's.
#
# Usage: benches/gateway/cluster_cps.sh   (needs sipp, kamailio, postgresql, cargo)
# Environment: RATES="400 800 1200" SECS=10 PAUSE=3 GATEWAY=PATH (a release binary; default:
#   cargo build --release) OUT=DIR (results; default a temp dir).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/gateway
RATES=${RATES:-"400 800 1200"}
SECS=${SECS:-10}
PAUSE=${PAUSE:-3}
OUT=${OUT:-$(mktemp -d /tmp/cluster-cps.XXXXXX)}
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/cluster-cps-run.XXXXXX)
chmod 755 "$TMP"
DOMAIN=bench.local
KAM=26060 GW_A=26061 GW_B=26062 GW_ALONE=26063 PG=26064
UAS_C=26080 UAS_ALONE=26081 UAC_PORT=26090
SECRET=bench-cluster-secret-0123456789

for port in $KAM $GW_A $GW_B $GW_ALONE $UAS_C $UAS_ALONE $UAC_PORT; do
    if ss -Hlun "sport = :$port" | grep -q .; then echo "UDP port $port is in use" >&2; exit 1; fi
done

PIDS=()
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

if [ -n "${GATEWAY:-}" ]; then GW=$GATEWAY; else
    (cd "$ROOT" && cargo build --release -p sipsimple-gateway)
    GW=$ROOT/target/release/sipsimple-gateway
fi

# --- PostgreSQL in a temp dir on a loopback port
mkdir -p "$TMP/pg"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$TMP/pg"
as_pg "$PGBIN/initdb" -D "$TMP/pg" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pg/log" -o "-k $TMP/pg -p $PG -h 127.0.0.1 -F" -w start >/dev/null
DB=postgres://postgres@127.0.0.1:$PG/postgres

common_env() {
    export SIPSIMPLE_DOMAIN=$DOMAIN SIPSIMPLE_SECURITY_RATE_LIMIT=0 SIPSIMPLE_MEDIA_ENABLED=false \
        SIPSIMPLE_MSRP_TCP=off SIPSIMPLE_MSRP_TLS=off SIPSIMPLE_DEMO=false
}
node() { # id port
    mkdir -p "$TMP/$1"
    ( common_env; export SIPSIMPLE_DATABASE_URL=$DB SIPSIMPLE_CLUSTER_NODE_ID=$1 \
        SIPSIMPLE_CLUSTER_ADDRESS=127.0.0.1:$2 SIPSIMPLE_CLUSTER_SECRET=$SECRET
      exec "$GW" --data-dir "$TMP/$1" serve --http 127.0.0.1:0 --https off --sip-udp 127.0.0.1:$2 \
        --sip-tcp off --sip-tls off --no-demo ) >"$OUT/$1.log" 2>&1 &
    PIDS+=("$!")
}
( common_env; SIPSIMPLE_DATABASE_URL=$DB "$GW" --data-dir "$TMP/x" user add bob --password secret >/dev/null )
node gw-a $GW_A; GWA_PID=${PIDS[-1]}
node gw-b $GW_B; GWB_PID=${PIDS[-1]}
( common_env; "$GW" --data-dir "$TMP/alone" user add bob --password secret >/dev/null )
( common_env; exec "$GW" --data-dir "$TMP/alone" serve --http 127.0.0.1:0 --https off \
    --sip-udp 127.0.0.1:$GW_ALONE --sip-tcp off --sip-tls off --no-demo ) >"$OUT/alone.log" 2>&1 &
ALONE_PID=$!; PIDS+=("$ALONE_PID")

printf '1 sip:127.0.0.1:%s 0 10\n1 sip:127.0.0.1:%s 0 10\n' $GW_A $GW_B >"$TMP/dispatcher.list"
mkdir -p "$TMP/kam"
kamailio -f "$ROOT/deploy/kamailio/kamailio.cfg" -DD -E -m 512 -w "$TMP/kam" -Y "$TMP/kam" \
    -A KAM_IP=127.0.0.1 -A KAM_PORT=$KAM -A "DS_LIST=\"$TMP/dispatcher.list\"" \
    -A 'DS_ALG="0"' -A DS_PING_INTERVAL=5 >"$OUT/kamailio.log" 2>&1 &
KAM_PID=$!; PIDS+=("$KAM_PID")
sleep 2

register() { # proxy_port uas_port
    timeout 20 sipp -sf "$HERE/register.xml" -i 127.0.0.1 -mi 127.0.0.1 -p "$2" -m 1 -nostdin \
        -key user bob -key domain "$DOMAIN" -key uas_port "$2" -au bob -ap secret \
        -timeout 10s -timeout_error "127.0.0.1:$1" >"$OUT/register-$1.log" 2>&1 </dev/null
}
register $KAM $UAS_C || { echo "REGISTER through Kamailio failed"; exit 1; }
register $GW_ALONE $UAS_ALONE || { echo "REGISTER to the lone gateway failed"; exit 1; }
for port in $UAS_C $UAS_ALONE; do
    sipp -sf "$HERE/uas_rr.xml" -i 127.0.0.1 -mi 127.0.0.1 -p "$port" -nostdin -timeout 3600s \
        >"$OUT/uas-$port.log" 2>&1 </dev/null &
    PIDS+=("$!")
done
sleep 1

ticks() { local total=0 p; for p in "$@" $(for q in "$@"; do pgrep -P "$q" || true; done); do
    [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$total"; }
col() { awk -F';' -v name="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==name) c=i} END{print $c}' "$1"; }
HZ=$(getconf CLK_TCK)
printf 'setup\trate\tcalls\tok\tfailed\tfail_pct\telapsed_s\tgw_cpu_pct\tkam_cpu_pct\tpg_cpu_pct\n' | tee "$OUT/results.tsv"
for rate in $RATES; do
    for setup in alone cluster; do
        if [ $setup = alone ]; then port=$GW_ALONE gws="$ALONE_PID"; else port=$KAM gws="$GWA_PID $GWB_PID"; fi
        calls=$((rate * SECS)); stat="$OUT/stat-$setup-$rate.csv"
        PGPID=$(head -1 "$TMP/pg/postmaster.pid")
        g0=$(ticks $gws); k0=$(ticks $KAM_PID); p0=$(ticks $PGPID); s0=$(date +%s.%N)
        timeout $((SECS * 3 + 40)) sipp -sf "$HERE/uac_rr.xml" -s bob -key domain "$DOMAIN" \
            -i 127.0.0.1 -mi 127.0.0.1 -p $UAC_PORT -nostdin -r "$rate" -m "$calls" -l $((rate * 4)) \
            -recv_timeout 8000 -timeout $((SECS * 3 + 30))s -trace_stat -stf "$stat" -fd 1 \
            "127.0.0.1:$port" >"$OUT/uac-$setup-$rate.log" 2>&1 </dev/null || true
        s1=$(date +%s.%N); g1=$(ticks $gws); k1=$(ticks $KAM_PID); p1=$(ticks $PGPID)
        ok=$(col "$stat" 'SuccessfulCall(C)'); bad=$(col "$stat" 'FailedCall(C)')
        awk -v s=$setup -v r=$rate -v c=$calls -v ok="$ok" -v bad="$bad" -v el="$(echo "$s1 - $s0" | bc)" \
            -v g=$((g1 - g0)) -v k=$((k1 - k0)) -v p=$((p1 - p0)) -v hz=$HZ -v kam=$([ $setup = cluster ] && echo 1 || echo 0) \
            'BEGIN{printf "%s\t%d\t%d\t%d\t%d\t%.2f\t%.1f\t%.0f\t%s\t%s\n", s, r, c, ok, bad, 100*bad/(ok+bad>0?ok+bad:1), el,
              100*g/hz/el, kam ? sprintf("%.0f", 100*k/hz/el) : "-", kam ? sprintf("%.0f", 100*p/hz/el) : "-"}' \
            | tee -a "$OUT/results.tsv"
        sleep "$PAUSE"
    done
done
echo "results in $OUT"
