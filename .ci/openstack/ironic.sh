#!/usr/bin/env bash
# Starts or stops a standalone OpenStack Ironic (Debian 12's ironic-api and
# ironic-conductor) on loopback: no Keystone (noauth), no message queue
# (json-rpc), sqlite. Configuration as in /work/shared/peers/ironic.md.
#
#   .ci/openstack/ironic.sh start STATE [API_PORT [RPC_PORT [HTTP_PORT]]]
#   IRONIC_BASIC_PASSWORD=... .ci/openstack/ironic.sh basic-api STATE PORT USER
#   .ci/openstack/ironic.sh stop STATE
#
# start writes STATE/ironic.conf, creates the schema, starts both services
# in the background (pids in STATE/*.pid, logs in STATE/log), waits until
# GET /v1/drivers lists fake-hardware, and prints the endpoint
# (http://127.0.0.1:API_PORT/v1) on stdout. basic-api starts, beside a
# running one, a second ironic-api with auth_strategy = http_basic on PORT
# (one bcrypt user in STATE/htpasswd; Debian's python3-bcrypt) sharing
# the database and conductor, and prints its endpoint. stop kills the
# recorded pids.
# Ports default to 6385, 8089 and 8088. Only 127.0.0.1 is ever bound.
set -euo pipefail

cmd=${1:?usage: $0 start|stop STATE [API_PORT [RPC_PORT [HTTP_PORT]]]}
state=${2:?state directory required}
api_port=${3:-6385}
rpc_port=${4:-8089}
http_port=${5:-8088}
timeout=${IRONIC_START_TIMEOUT:-180}

stop() {
  for f in "$state"/basic-api.pid "$state"/api.pid "$state"/conductor.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

wait_ready() { # url pidfile logfile [curl options]
  local url=$1 pidf=$2 log=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until curl -fsS "$@" "$url/drivers" 2>/dev/null | grep -q fake-hardware; do
    if ! kill -0 "$(cat "$pidf")" 2>/dev/null; then
      echo "$pidf: process exited:" >&2; tail -20 "$log" >&2; stop; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "$url not ready after ${timeout}s" >&2; stop; exit 1
    fi
    sleep 0.5
  done
}

case $cmd in
stop) stop; exit 0 ;;
basic-api)
  port=${3:?port required}
  user=${4:?user required}
  pass=${IRONIC_BASIC_PASSWORD:?IRONIC_BASIC_PASSWORD required (not on the command line)}
  state=$(cd "$state" && pwd)
  # The password reaches python through the environment, never argv.
  IRONIC_BASIC_PW=$pass /usr/bin/python3 -c 'import bcrypt, os, sys
print(sys.argv[1] + ":" + bcrypt.hashpw(os.environ["IRONIC_BASIC_PW"].encode(), bcrypt.gensalt(4)).decode())' "$user" >"$state/htpasswd"
  awk -v port="$port" -v f="$state/htpasswd" '
    /^\[/ { sect = $0 }
    sect == "[DEFAULT]" && /^auth_strategy = / { print "auth_strategy = http_basic"; print "http_basic_auth_user_file = " f; next }
    sect == "[api]" && /^port = / { print "port = " port; next }
    { print }' "$state/ironic.conf" >"$state/ironic-basic.conf"
  setsid ironic-api --config-file "$state/ironic-basic.conf" >"$state/log/basic-api.out" 2>&1 </dev/null &
  echo $! >"$state/basic-api.pid"
  # curl reads the credentials from a private file, not from argv.
  (umask 077; printf 'user = "%s:%s"\n' "$user" "$pass" >"$state/basic-curl.conf")
  # A failure here stops this API only, not the running Ironic.
  stop() { kill "$(cat "$state/basic-api.pid")" 2>/dev/null || true; rm -f "$state/basic-api.pid"; }
  wait_ready "http://127.0.0.1:$port/v1" "$state/basic-api.pid" "$state/log/basic-api.out" -K "$state/basic-curl.conf"
  echo "http://127.0.0.1:$port/v1"
  exit 0 ;;
start) ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac

for b in ironic-api ironic-conductor ironic-dbsync; do
  command -v "$b" >/dev/null || { echo "$b not installed (apt-get install ironic-api ironic-conductor)" >&2; exit 3; }
done

mkdir -p "$state"/log "$state"/state/lock "$state"/tftpboot/master_images \
  "$state"/images/master_images "$state"/httpboot
state=$(cd "$state" && pwd)
isolinux=/usr/lib/ISOLINUX/isolinux.bin
conf=$state/ironic.conf
cat >"$conf" <<CONF
[DEFAULT]
host = localhost
auth_strategy = noauth
rpc_transport = json-rpc
log_dir = $state/log
state_path = $state/state
enabled_hardware_types = fake-hardware,ipmi,redfish
enabled_bios_interfaces = fake,no-bios,redfish
enabled_boot_interfaces = fake,pxe,redfish-virtual-media
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake,direct,ramdisk
enabled_inspect_interfaces = fake,no-inspect,redfish
enabled_management_interfaces = fake,ipmitool,redfish
enabled_network_interfaces = noop
enabled_power_interfaces = fake,ipmitool,redfish
enabled_raid_interfaces = fake,no-raid
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = noop
enabled_vendor_interfaces = fake,no-vendor,ipmitool
default_network_interface = noop
isolinux_bin = $isolinux

[api]
host_ip = 127.0.0.1
port = $api_port

[json_rpc]
auth_strategy = noauth
host_ip = 127.0.0.1
port = $rpc_port

[database]
connection = sqlite:///$state/ironic.sqlite

[conductor]
automated_clean = false
sync_power_state_interval = 10
heartbeat_interval = 5
deploy_callback_timeout = 120

[dhcp]
dhcp_provider = none

[ipmi]
min_command_interval = 1
command_retry_timeout = 20

[pxe]
tftp_root = $state/tftpboot
tftp_master_path = $state/tftpboot/master_images
images_path = $state/images
instance_master_path = $state/images/master_images

[deploy]
http_root = $state/httpboot
http_url = http://127.0.0.1:$http_port

[oslo_concurrency]
lock_path = $state/state/lock

[service_catalog]
endpoint_override = http://127.0.0.1:$api_port

[redfish]
use_swift = false
CONF

ironic-dbsync --config-file "$conf" create_schema >"$state"/log/dbsync.out 2>&1 || {
  echo "ironic-dbsync failed:" >&2; tail -20 "$state"/log/dbsync.out >&2; exit 1; }
setsid ironic-api --config-file "$conf" >"$state"/log/api.out 2>&1 </dev/null &
echo $! >"$state"/api.pid
setsid ironic-conductor --config-file "$conf" >"$state"/log/conductor.out 2>&1 </dev/null &
echo $! >"$state"/conductor.pid

url=http://127.0.0.1:$api_port/v1
wait_ready "$url" "$state/api.pid" "$state/log/api.out"
kill -0 "$(cat "$state/conductor.pid")" 2>/dev/null || {
  echo "ironic-conductor exited:" >&2; tail -20 "$state/log/conductor.out" >&2; stop; exit 1; }
echo "$url"
