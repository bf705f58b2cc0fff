#!/usr/bin/env bash
# Starts or stops a standalone OpenStack Heat (Debian 12's heat-all: API and
# engine in one process) on loopback: no Keystone (the noauth paste
# pipeline with a fixed token), in-process messaging (fake://), sqlite, the
# legacy engine. Configuration as in /work/shared/peers/heat.md.
#
#   .ci/openstack/heat.sh start STATE [API_PORT]
#   .ci/openstack/heat.sh stop STATE
#
# start writes STATE/heat.conf and STATE/token.json, creates the schema,
# starts heat-all in the background (pid in STATE/heat.pid, log in
# STATE/heat.log), waits until GET /v1/admin/stacks answers 200, and prints
# the endpoint (http://127.0.0.1:API_PORT/v1/admin) on stdout. API_PORT
# defaults to 8004. Only 127.0.0.1 is ever bound.
set -euo pipefail

cmd=${1:?usage: $0 start|stop STATE [API_PORT]}
state=${2:?state directory required}
port=${3:-8004}
timeout=${HEAT_START_TIMEOUT:-180}

stop() {
  [ -f "$state/heat.pid" ] || return 0
  pid=$(cat "$state/heat.pid")
  # heat-all forks workers in its own session: stop the whole group.
  kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 -- "-$pid" 2>/dev/null || true
  rm -f "$state/heat.pid"
}

case $cmd in
stop) stop; exit 0 ;;
start) ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac

for b in heat-all heat-manage; do
  command -v "$b" >/dev/null || { echo "$b not installed (apt-get install heat-api heat-engine)" >&2; exit 3; }
done
mkdir -p "$state"
state=$(cd "$state" && pwd)
url=http://127.0.0.1:$port/v1/admin

cat >"$state/token.json" <<JSON
{"token": {"methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
 "user": {"id": "admin", "name": "admin", "domain": {"id": "default", "name": "Default"}},
 "project": {"id": "admin", "name": "admin", "domain": {"id": "default", "name": "Default"}},
 "roles": [{"id": "admin", "name": "admin"}],
 "catalog": [{"type": "orchestration", "name": "heat", "id": "heat",
   "endpoints": [{"id": "heat-public", "interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "$url"}]}]}}
JSON

conf=$state/heat.conf
cat >"$conf" <<CONF
[DEFAULT]
log_file = $state/heat.log
transport_url = fake://
deferred_auth_method = password
num_engine_workers = 1
convergence_engine = false
max_resources_per_stack = -1
max_json_body_size = 8388608
heat_metadata_server_url = http://127.0.0.1:$port/
default_deployment_signal_transport = HEAT_SIGNAL
keystone_backend = heat.engine.clients.os.keystone.fake_keystoneclient.FakeKeystoneClient
# A cancelled or failed operation waits this long (default 240 s) for the
# resources still in progress that cannot be cancelled (TestResource).
error_wait_time = 2

[noauth]
token_response = $state/token.json

[heat_all]
enabled_services = api,engine

[heat_api]
workers = 1
bind_host = 127.0.0.1
bind_port = $port

[database]
connection = sqlite:///$state/heat.sqlite

[paste_deploy]
flavor = noauth
api_paste_config = /etc/heat/api-paste.ini

[oslo_concurrency]
lock_path = $state/lock
CONF

heat-manage --config-file "$conf" db_sync >"$state/db_sync.out" 2>&1 || {
  echo "heat-manage db_sync failed:" >&2; tail -20 "$state/db_sync.out" >&2; exit 1; }
setsid heat-all --config-file "$conf" >"$state/heat-all.out" 2>&1 </dev/null &
echo $! >"$state/heat.pid"

deadline=$((SECONDS + timeout))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/stacks" 2>/dev/null)" = 200 ]; do
  if ! kill -0 "$(cat "$state/heat.pid")" 2>/dev/null; then
    echo "heat-all exited:" >&2; tail -20 "$state/heat-all.out" "$state/heat.log" >&2; stop; exit 1
  fi
  if [ $SECONDS -ge $deadline ]; then
    echo "heat not ready after ${timeout}s" >&2; stop; exit 1
  fi
  sleep 0.5
done
echo "$url"
