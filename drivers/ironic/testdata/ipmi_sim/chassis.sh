#!/bin/sh
# chassis_control program for OpenIPMI's ipmi_sim: keeps the machine's
# power ("0"/"1") and boot device in files of the state directory $1.
dir=$1
shift
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
  power) echo "$2" >"$dir/power" ;;
  shutdown) echo 0 >"$dir/power" ;;
  boot) echo "$2" >"$dir/boot" ;;
  esac
  shift 2
done
