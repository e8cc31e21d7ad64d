# Sourced by deploy/quickstart.sh, deploy/install-services.sh and
# tests/bench/auto_answer.sh.
#
# make_zone_keys CTL KEYDIR DIRECTORY COURT...
#   Makes the broker's CURVE key pair and one per court in KEYDIR (keeping
#   pairs that are already there), and lists each court's public key in the
#   court directory DIRECTORY (a copy of deploy/zone/courts.toml), right
#   after the court's id, unless it is listed there already.
make_zone_keys() {
  local ctl=$1 keydir=$2 directory=$3 court key
  shift 3
  [ -f "$keydir/broker.key_secret" ] || "$ctl" keygen --broker --dir "$keydir" >/dev/null
  for court in "$@"; do
    [ -f "$keydir/$court.key_secret" ] || "$ctl" keygen --court "$court" --dir "$keydir" >/dev/null
    key=$(sed -n 's/^ *public-key = "\(.*\)"$/\1/p' "$keydir/$court.key")
    grep -qF "\"$key\"" "$directory" && continue
    awk -v id="id = \"$court\"" -v key="$key" \
      '{ print } $0 == id { print "curve_keys = [\"" key "\"]" }' \
      "$directory" >"$directory.new"
    mv "$directory.new" "$directory"
  done
}

# zone_agent_config COURT ENDPOINT
#   Prints a court agent's config for a zone in one folder: its store in
#   COURT-data and its keys in keys/, both beside the config file. ENDPOINT
#   may be a TOML array of a broker group's members: ["tcp://...", ...].
zone_agent_config() {
  local broker="\"$2\""
  [[ $2 == \[* ]] && broker=$2
  cat <<TOML
court_id = "$1"
broker = $broker
data_dir = "$1-data"
curve_secret_key_file = "keys/$1.key_secret"
broker_public_key_file = "keys/broker.key"
TOML
}

# completion_ms < `weituo-agent show ID --json`
#   Prints the milliseconds from the broker's submission receipt to its record
#   of the result (both on the broker's clock); nothing if not completed.
completion_ms() {
  local times
  times=$(grep -o '"type":"EV_[A-Z]*","atMs":"[0-9]*"' |
    sed -n 's/.*EV_\(SUBMITTED\|COMPLETED\)","atMs":"\([0-9]*\)"/\2/p' | tr '\n' ' ')
  set -- $times
  [ $# -eq 2 ] && echo $(($2 - $1))
  return 0
}

# The zone's courts and their superiors (deploy/zone/courts.toml).
ZONE_COURTS=(kaihua changshan chunan dexing wuyuan yushan xiuning shexian)
ZONE_SUPERVISORS=(quzhou-intermediate hangzhou-intermediate shangrao-intermediate
  huangshan-intermediate)
