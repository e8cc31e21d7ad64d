# Sourced by deploy/quickstart.sh and deploy/install-services.sh.
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

# The zone's courts and their superiors (deploy/zone/courts.toml).
ZONE_COURTS=(kaihua changshan chunan dexing wuyuan yushan xiuning shexian)
ZONE_SUPERVISORS=(quzhou-intermediate hangzhou-intermediate shangrao-intermediate
  huangshan-intermediate)
