#!/usr/bin/env bash
# Starts a throwaway one-node Slurm for the Slurm test: munged and slurmctld/slurmd from Debian's
# packages, bound to 127.0.0.1 on free ports, with every key, socket, state, spool, log and PID
# file under DIR, so runs never meet each other nor a Slurm of the machine.
#   scripts/ci/slurm-up.sh DIR     → DIR/env (SLURM_CONF=…, MMSIM_TEST_SLURM=1) on success
# Stop it with scripts/ci/slurm-down.sh DIR. Exit status non-zero (and a reason on stderr) when
# the packages are missing or a daemon does not come up; the caller carries on without Slurm.
set -euo pipefail
dir=${1:?usage: slurm-up.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
chmod 700 "$dir"
for cmd in munged slurmctld slurmd sinfo sbatch; do
  command -v "$cmd" >/dev/null || { echo "slurm-up: $cmd is not installed" >&2; exit 1; }
done
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 700 "$dir/munge"

# A free TCP port on 127.0.0.1 (the kernel picks it; a bind by slurmctld right after may still
# race another process, so slurm-up waits for sinfo and fails cleanly if a daemon did not bind).
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done

# munge: an own key and socket, so the machine's munged (if any) is never involved.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"

node=$(hostname -s)   # slurmctld only runs where SlurmctldHost names this host
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
user=$(id -un)
cat > "$dir/slurm.conf" <<CONF
ClusterName=mmsim-ci
MailProg=/bin/true
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=$user
SlurmdUser=$user
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=ci Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -i
slurmd -N "$node"

# Every client call is bounded: a controller that is not there makes sinfo retry for 10 s and more.
for _ in $(seq 1 40); do
  if timeout 3 sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then
    printf 'export SLURM_CONF=%q\nexport MMSIM_TEST_SLURM=1\n' "$SLURM_CONF" > "$dir/env"
    exit 0
  fi
  sleep 0.5
done
echo "slurm-up: the node did not become idle in 20 s; sinfo says: $(timeout 3 sinfo -h -o '%T %E' 2>&1 | head -3)" >&2
tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" 1>&2 || true
exit 1
