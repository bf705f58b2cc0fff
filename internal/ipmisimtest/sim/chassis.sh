#!/bin/sh
# chassis_control program for OpenIPMI's ipmi_sim: keeps the machine's
# power ("0"/"1") and boot device in files of the state directory $1 and
# appends each call to $1/calls.log. A "slow" file makes "set power" take
# that many seconds (to kill the BMC mid-operation).
dir=$1
shift
echo "$*" >>"$dir/calls.log"
op=$1
shift
if [ "$op" = get ]; then
  for item in "$@"; do
    case $item in
    power) printf 'power:%s\n' "$(cat "$dir/power" 2>/dev/null || echo 0)" ;;
    boot) printf 'boot:%s\n' "$(cat "$dir/boot" 2>/dev/null || echo default)" ;;
    esac
  done
  exit 0
fi
while [ $# -gt 1 ]; do
  case $1 in
  power)
    [ -f "$dir/slow" ] && sleep "$(cat "$dir/slow")"
    echo "$2" >"$dir/power"
    ;;
  shutdown) echo 0 >"$dir/power" ;;
  reset) ;;
  boot) echo "$2" >"$dir/boot" ;;
  esac
  shift 2
done
