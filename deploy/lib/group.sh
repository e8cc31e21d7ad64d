# A broker group on loopback for deploy/quickstart.sh --group (docs/group.md):
# etcd, then three weituo-broker members sharing the zone's CURVE key and the
# operator's tokens. Sourced by quickstart.sh, which defines root, run, pids,
# free_port, wait_for_line, broker_bin and ctl_bin.
#
# start_group   starts etcd and m1, m2, m3; sets group_endpoints (the agents'
#               broker list, a TOML array), cluster_urls and member_http
#               (arrays), read_token, admin_token, and http_port (the
#               leader's status server)
# kill_leader   SIGKILLs the leader, starts it again (it rejoins as a
#               follower) and waits for the next leader
# wait_leader   waits until a member leads; sets leader and http_port

etcd_bin=/usr/bin/etcd
members=(m1 m2 m3)
declare -A member_pid member_courts member_http_port member_cluster_port

# start_member NAME: the member's broker, in the background.
start_member() {
  local m=$1
  "$broker_bin" --data-dir "$run/$m" --directory "$run/courts.toml" \
    --curve-secret-key-file "$run/keys/broker.key_secret" \
    --deadlines "$root/deploy/zone/deadlines.toml" \
    --read-token-file "$run/read.token" --admin-token-file "$run/admin.token" \
    --replication-secret-key-file "$run/keys/$m-replication.key_secret" \
    --endpoint "${member_courts[$m]}" --http "127.0.0.1:${member_http_port[$m]}" \
    --group "$run/group.toml" --member "$m" 2>>"$run/$m.log" &
  member_pid[$m]=$!
  pids+=($!)
}

# The member that says it leads, from the members' cluster addresses.
# (A member that does not answer, such as one just killed, is skipped.)
current_leader() {
  { "$ctl_bin" --json cluster "${cluster_urls[@]}" 2>/dev/null || true; } |
    sed -n 's/.*"member":"\(m[0-9]\)","role":"leader".*/\1/p' | head -1
}

wait_leader() {
  leader=""
  for _ in $(seq 200); do
    leader=$(current_leader)
    [ -n "$leader" ] && break
    sleep 0.1
  done
  [ -n "$leader" ] || { echo "== no member became leader; logs in $run"; return 1; }
  http_port=${member_http_port[$leader]}
}

start_group() {
  [ -x "$etcd_bin" ] || { echo "etcd is missing: run deploy/install-deps.sh" >&2; exit 1; }
  local etcd_port etcd_peer i=0 list="" m
  etcd_port=$(free_port 2379)
  etcd_peer=$(free_port $((etcd_port + 1)))
  echo "== starting etcd on 127.0.0.1:$etcd_port (data in $run/etcd)"
  "$etcd_bin" --name quickstart --data-dir "$run/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "quickstart=http://127.0.0.1:$etcd_peer" 2>"$run/etcd.log" &
  pids+=($!)
  wait_for_line "$run/etcd.log" "ready to serve client requests"

  cat >"$run/group.toml" <<TOML
# The quick start's broker group (docs/group.md).
name = "quickstart"
etcd = ["http://127.0.0.1:$etcd_port"]
lease_ttl_ms = 2000
min_in_sync = 2
TOML
  cluster_urls=()
  member_http=()
  for m in "${members[@]}"; do
    member_courts[$m]="tcp://127.0.0.1:$(free_port $((5555 + i)))"
    member_http_port[$m]=$(free_port $((8080 + i)))
    member_cluster_port[$m]=$(free_port $((8090 + i)))
    # Each member's own key for the replication between members.
    "$ctl_bin" keygen --member "$m" --dir "$run/keys" >/dev/null
    cat >>"$run/group.toml" <<TOML
[[member]]
name = "$m"
courts = "${member_courts[$m]}"
replication = "tcp://127.0.0.1:$(free_port $((5655 + i)))"
http = "127.0.0.1:${member_cluster_port[$m]}"
replication_public_key = "$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$run/keys/$m-replication.key")"
TOML
    list+="${list:+, }\"${member_courts[$m]}\""
    cluster_urls+=("http://127.0.0.1:${member_cluster_port[$m]}")
    member_http+=("http://127.0.0.1:${member_http_port[$m]}")
    i=$((i + 1))
  done
  group_endpoints="[$list]"
  read_token=$run/read.token
  admin_token=$run/admin.token
  echo "== starting the group's three brokers, m1 m2 m3 at: ${list//\"/}"
  for m in "${members[@]}"; do
    start_member "$m"
    # The first makes the operator's tokens the others share.
    wait_for_line "$run/$m.log" "cluster page"
  done
  wait_leader
  echo "== $leader leads; the others follow it"
  "$ctl_bin" cluster "${cluster_urls[@]}"
}

kill_leader() {
  wait_leader
  local old=$leader
  echo
  echo "== killing the leader $old (SIGKILL) in the middle of the stories"
  kill -KILL "${member_pid[$old]}"
  wait "${member_pid[$old]}" 2>/dev/null || true
  local started=$SECONDS
  for _ in $(seq 200); do
    leader=$(current_leader)
    [ -n "$leader" ] && [ "$leader" != "$old" ] && break
    sleep 0.1
  done
  [ -n "$leader" ] && [ "$leader" != "$old" ] ||
    { echo "== no member took over; logs in $run"; return 1; }
  http_port=${member_http_port[$leader]}
  echo "== $leader leads now (within $((SECONDS - started + 1)) s); $old starts again and follows it"
  start_member "$old"
}
