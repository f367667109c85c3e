#!/usr/bin/env bash
# Installs Debian's Slurm and munge packages (slurmctld slurmd slurm-client munge) for the Slurm
# test when they are missing and this machine allows it: apt-get, as root or with passwordless
# sudo. Exit status non-zero with the reason otherwise; .ci/run then goes on without Slurm.
set -euo pipefail
pkgs=(slurmctld slurmd slurm-client munge)
have() { for c in munged slurmctld slurmd sbatch sinfo scontrol scancel; do command -v "$c" >/dev/null || return 1; done; }
have && exit 0
command -v apt-get >/dev/null || { echo "slurm-install: no apt-get here to install ${pkgs[*]}"; exit 1; }
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "slurm-install: not root and no passwordless sudo to install ${pkgs[*]}"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
install() { "${sudo[@]}" apt-get install -y -q --no-install-recommends "${pkgs[@]}"; }
install || { "${sudo[@]}" apt-get update -q && install; }
have || { echo "slurm-install: installed, but the Slurm commands are not on the PATH"; exit 1; }
