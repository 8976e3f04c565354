#!/usr/bin/env bash
# A single-node Slurm cluster on 127.0.0.1, for trying `scg sweep --launcher slurm` and for its tests.
# Usage: bash scripts/slurm-local.sh start|stop|status
#   start  installs Debian's slurmctld, slurmd, slurm-client and munge if they are missing (root), starts munged,
#          slurmctld and slurmd without systemd and waits until the node is idle. It prints
#          `export SLURM_CONF=...` on stdout (eval it); /etc/slurm/slurm.conf points at the same file unless it
#          already holds another cluster's configuration. Starting a running cluster does nothing.
#   stop   stops the daemons that start started, by their pids.
# State, logs and pids live in $SCG_SLURM_DIR (default /tmp/scg-slurm). Progress goes to stderr.
set -euo pipefail
dir="${SCG_SLURM_DIR:-/tmp/scg-slurm}"
conf="$dir/slurm.conf"
node=scg-local
marker="# written by scg's scripts/slurm-local.sh"
export SLURM_CONF="$conf"

say() { echo "slurm-local: $*" >&2; }
fail() { say "$*"; [ -f "$dir/slurmctld.log" ] && tail -n 20 "$dir/slurmctld.log" >&2; [ -f "$dir/slurmd.log" ] && tail -n 20 "$dir/slurmd.log" >&2; exit 1; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null; }
node_idle() { sinfo -h -N -n "$node" -o '%T' 2> /dev/null | grep -qx 'idle'; }
node_up() { sinfo -h -N -n "$node" -o '%T' 2> /dev/null | grep -qxE 'idle|mixed|allocated|completing'; }
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local seconds=$1; shift
  for _ in $(seq $((seconds * 5))); do "$@" && return 0; sleep 0.2; done
  return 1
}

install() {
  local missing=()
  for tool in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
    command -v "${tool%%:*}" > /dev/null || [ -x "/usr/sbin/${tool%%:*}" ] || missing+=("${tool#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || fail "needs ${missing[*]} (Debian packages); run as root to install them, or install them first"
  command -v apt-get > /dev/null || fail "needs ${missing[*]} and has no apt-get to install them"
  say "installing ${missing[*]} (apt-get, --no-install-recommends)"
  export DEBIAN_FRONTEND=noninteractive
  # the daemons are started below, not by the packages' scripts
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.scg && chmod +x /usr/sbin/policy-rc.d.scg
  local policy_was=""; [ -e /usr/sbin/policy-rc.d ] && policy_was=1
  [ -n "$policy_was" ] || cp /usr/sbin/policy-rc.d.scg /usr/sbin/policy-rc.d
  local ok=1
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge > "$dir/apt.log" 2>&1 \
    || { apt-get update -qq > /dev/null 2>&1 && apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge > "$dir/apt.log" 2>&1; } \
    || ok=0
  [ -n "$policy_was" ] || rm -f /usr/sbin/policy-rc.d
  rm -f /usr/sbin/policy-rc.d.scg
  [ "$ok" -eq 1 ] || { tail -n 20 "$dir/apt.log" >&2; fail "apt-get install failed (log: $dir/apt.log)"; }
}

start_munge() {
  if munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then return 0; fi
  local key=/etc/munge/munge.key
  if [ ! -s "$key" ]; then
    mkdir -p /etc/munge
    if command -v mungekey > /dev/null; then mungekey --create --keyfile="$key" --force > /dev/null
    else dd if=/dev/urandom of="$key" bs=1024 count=1 status=none; fi
  fi
  chown munge:munge /etc/munge "$key"; chmod 0700 /etc/munge; chmod 0400 "$key"
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge; chmod 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged --force
  wait_for 10 sh -c 'munge -n | unmunge > /dev/null 2>&1' || fail "munged did not start (see /var/log/munge/munged.log)"
  cp /run/munge/munged.pid "$dir/munged.pid" 2> /dev/null || true
}

write_conf() {
  local cpus mem
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  mkdir -p "$dir/state" "$dir/spool"
  cat > "$conf.tmp" << EOF
$marker
ClusterName=scg-local
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.daemon.pid
SlurmdPidFile=$dir/slurmd.daemon.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
KillWait=10
AuthInfo=cred_expire=10
SchedulerParameters=sched_interval=2,bf_interval=2
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$conf.tmp" "$conf"
  # tools that are not given SLURM_CONF read /etc/slurm/slurm.conf: point it here unless it is another cluster's
  if [ -w /etc ] || [ -w /etc/slurm ]; then
    mkdir -p /etc/slurm
    if [ ! -e /etc/slurm/slurm.conf ] || head -n 1 /etc/slurm/slurm.conf | grep -qxF "$marker"; then
      ln -sfn "$conf" /etc/slurm/slurm.conf
    else
      say "/etc/slurm/slurm.conf belongs to another cluster: left alone; use SLURM_CONF=$conf"
    fi
  fi
}

start() {
  mkdir -p "$dir"
  if alive "$dir/slurmctld.pid" && alive "$dir/slurmd.pid" && scontrol ping > /dev/null 2>&1 && node_up; then
    say "already running"
    echo "export SLURM_CONF=$conf"
    return 0
  fi
  install
  start_munge
  write_conf
  if ! alive "$dir/slurmctld.pid"; then
    rm -rf "$dir/state" "$dir/spool" && mkdir -p "$dir/state" "$dir/spool"   # a fresh cluster: no jobs of an earlier one
    slurmctld -D -i -f "$conf" >> "$dir/slurmctld.out" 2>&1 &
    echo $! > "$dir/slurmctld.pid"
  fi
  wait_for 30 sh -c 'scontrol ping 2> /dev/null | grep -q "is UP"' || fail "slurmctld did not answer scontrol ping"
  if ! alive "$dir/slurmd.pid"; then
    slurmd -D -N "$node" -f "$conf" >> "$dir/slurmd.out" 2>&1 &
    echo $! > "$dir/slurmd.pid"
  fi
  if ! wait_for 30 node_idle; then
    # a node left down or drained by an earlier cluster comes back
    scontrol update nodename="$node" state=resume > /dev/null 2>&1 || true
    wait_for 15 node_idle || fail "node $node did not become idle: $(sinfo -h -N -o '%N %T %E' 2>&1)"
  fi
  say "up: node $node with $(nproc) CPUs, partition local (logs in $dir)"
  echo "export SLURM_CONF=$conf"
}

stop() {
  local pids=()
  for name in slurmd slurmctld munged; do
    if alive "$dir/$name.pid"; then pids+=("$(cat "$dir/$name.pid")"); kill "$(cat "$dir/$name.pid")"; fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2> /dev/null && kill -9 "$pid" 2> /dev/null
  done
  rm -f "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if scontrol ping 2> /dev/null | grep -q "is UP" && node_up; then say "up"; else say "down"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
