#!/usr/bin/env bash
# Stops what scripts/ci/slurm-up.sh DIR started: cancels the jobs left, then slurmd, slurmctld
# and munged by the PIDs in their PID files (never by name: other Slurms may run here), and
# removes DIR. Never fails.
dir=${1:?usage: slurm-down.sh DIR}
[ -d "$dir" ] || exit 0
if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ]; then
  SLURM_CONF=$dir/slurm.conf timeout 10 scancel --quiet --user="$(id -un)" 2>/dev/null || true
fi
stop() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null) || return 0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
stop "$dir/slurmd.pid"
stop "$dir/slurmctld.pid"
stop "$dir/munge/munged.pid"
rm -rf "$dir"
exit 0
