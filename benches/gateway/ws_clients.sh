#!/usr/bin/env bash
# Memory per registered WebSocket client of the gateway (ws_clients.mjs does the clients).
# For each N in COUNTS: a fresh gateway (temp data dir, --https off, rate limit 0, no demo
# users) with users PREFIX0..PREFIX{N-1} (password "secret", inserted in one SQLite
# transaction after `user add` created the database; USERS=cli adds them one `user add` at a
# time), then N clients registering at RATE connections/s, and the gateway's RSS/PSS before
# and after.
#
# Usage: benches/gateway/ws_clients.sh   Environment: COUNTS="1000 5000 10000", RATE=500,
#   GATEWAY=PATH (prebuilt binary; default: cargo build --release -p sipsimple-gateway),
#   OUT=DIR. (Kamailio is not measured here: PEERS.md has its figure; kamailio-bench.cfg
#   has a WebSocket listener behind -A WITH_WS, needing kamailio-websocket-modules.)
set -euo pipefail
# as many descriptors as allowed (the hard limit; 20,000 on the machine measured)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/gateway
COUNTS=${COUNTS:-"1000 5000 10000"}
RATE=${RATE:-500}
OUT=${OUT:-$(mktemp -d /tmp/gw-ws.XXXXXX)}
mkdir -p "$OUT"
DOMAIN=bench.local HTTP=28080
if [ -n "${GATEWAY:-}" ]; then GW=$GATEWAY; else
    (cd "$ROOT" && cargo build --release -p sipsimple-gateway); GW=$ROOT/target/release/sipsimple-gateway; fi

PID=
TMP=
stop() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }; PID=; [ -n "$TMP" ] && rm -rf "$TMP"; TMP=; }
trap stop EXIT

for n in $COUNTS; do
    TMP=$(mktemp -d /tmp/gw-ws-run.XXXXXX)
    cat > "$TMP/gw.toml" <<EOF
data_dir = "$TMP"
domain = "$DOMAIN"
http = "127.0.0.1:$HTTP"
https = "off"
sip_udp = "127.0.0.1:25062"
sip_tcp = "off"
sip_tls = "off"
demo = false
[security]
rate_limit = 0
EOF
    t0=$(date +%s.%N)
    if [ "${USERS:-sql}" = cli ]; then
        for ((i = 0; i < n; i++)); do "$GW" --data-dir "$TMP" --domain "$DOMAIN" user add "u$i" --password secret >/dev/null; done
    else
        "$GW" --data-dir "$TMP" --domain "$DOMAIN" user add u0 --password secret >/dev/null
        python3 - "$TMP/gateway.db" "$n" "$DOMAIN" <<'EOF'
import hashlib, sqlite3, sys, time
db, n, realm = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = sqlite3.connect(db)
rows = []
for i in range(1, n):
    a1 = f"u{i}:{realm}:secret".encode()
    rows.append((f"u{i}", realm, hashlib.md5(a1).hexdigest(), hashlib.sha256(a1).hexdigest(), int(time.time())))
con.executemany("INSERT INTO users (name, realm, ha1_md5, ha1_sha256, created_at) VALUES (?,?,?,?,?)", rows)
con.commit()
EOF
    fi
    echo "users: $n in $(echo "$(date +%s.%N) - $t0" | bc) s (${USERS:-sql})" | tee -a "$OUT/users.txt"
    "$GW" --config "$TMP/gw.toml" serve --no-demo --https off >"$OUT/gateway-$n.log" 2>&1 &
    PID=$!
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$HTTP/" && break; sleep 0.1; done
    timeout $((n / RATE + 120)) node "$HERE/ws_clients.mjs" --url "ws://127.0.0.1:$HTTP/ws" --n "$n" \
        --rate "$RATE" --pid "$PID" --domain "$DOMAIN" | tee -a "$OUT/results.jsonl" || true
    stop
    sleep 1
done
echo "results: $OUT/results.jsonl"
