#!/usr/bin/env bash
# A single-node Slurm on this machine for `make test-cluster` (scripts/test_cluster.sh): Debian's
# slurm-wlm and munge from apt-get, a slurm.conf with this host as the controller and its one
# compute node (CPUs and memory as `slurmd -C` reports them, no GPU, select/cons_tres), a munge key
# when there is none, then munged, slurmctld and slurmd started. Idempotent: a second run finds
# the daemons up and only checks; a changed node (another host name, CPUs) rewrites the config and
# restarts the two Slurm daemons. Needs root (or sudo) and Debian or Ubuntu.
#
# It never overwrites a slurm.conf that it did not write (its first line is the marker below):
# on a machine that is already part of a cluster, use that cluster (make test-cluster only needs
# sbatch, squeue and scontrol) or set WEBLY_SLURM_CONF to a file of your own.
set -euo pipefail
log() { echo "[setup-slurm] $*" >&2; }
sudo=""
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || { log "needs root (or sudo) to install and start Slurm"; exit 1; }
  sudo="sudo"
fi
marker="# written by webly's scripts/setup_slurm.sh"
conf="${WEBLY_SLURM_CONF:-/etc/slurm/slurm.conf}"
state=/var/lib/slurm  # Debian's folders: slurmctld/ (controller state), slurmd/ (node spool)
logs=/var/log/slurm

# 1. Packages (slurm-wlm pulls slurmctld, slurmd, the client and munge's library).
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
  || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || { log "no apt-get: install slurm-wlm and munge yourself"; exit 1; }
  log "installing slurm-wlm and munge"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurm-wlm munge >/dev/null
fi

# 2. munge: a key (the package's post-install makes one; a copied image may lack it), then munged.
if [[ ! -s /etc/munge/munge.key ]]; then
  log "creating /etc/munge/munge.key"
  $sudo mungekey --create --keyfile=/etc/munge/munge.key
fi
$sudo chown munge:munge /etc/munge/munge.key
$sudo chmod 0400 /etc/munge/munge.key
$sudo install -d -o munge -g munge -m 0755 /run/munge
$sudo install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  $sudo runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || { log "munged does not answer"; exit 1; }
fi

# 3. slurm.conf: this host, its CPUs and memory as slurmd itself measures them.
host="$(hostname -s)"
node="$(slurmd -C | head -1 | sed "s/^NodeName=[^ ]*/NodeName=$host NodeAddr=127.0.0.1/")"
want="$(cat <<EOF
$marker
# A single-node cluster for make test-cluster: this host is the controller and the only node.
ClusterName=webly
SlurmctldHost=$host(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/slurmctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
# No cgroups (a container may not delegate them): processes tracked by their parent pid.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# A job whose afterok dependency can never be met (a task failed) is cancelled, not left pending.
SchedulerParameters=kill_invalid_depend
# Finished jobs stay visible to scontrol for an hour (no accounting database, so no sacct).
MinJobAge=3600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmdTimeout=60
$node State=UNKNOWN
PartitionName=webly Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
)"
changed=0
if [[ -f "$conf" ]] && ! head -1 "$conf" | grep -qF "$marker"; then
  if [[ "$(cat "$conf")" != "$want" ]]; then
    log "$conf was not written by this script: left as it is (see the comment at the top of $0)"
  fi
elif [[ ! -f "$conf" || "$(cat "$conf")" != "$want" ]]; then
  log "writing $conf ($node)"
  $sudo install -d "$(dirname "$conf")"
  printf '%s\n' "$want" | $sudo tee "$conf" >/dev/null
  changed=1
fi
export SLURM_CONF="$conf"
$sudo install -d -o slurm -g slurm -m 0755 "$state/slurmctld" "$state/slurmd" "$logs"

# 4. The daemons: restarted when the config changed, started when down, else left alone.
running() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [[ "$changed" == 1 ]]; then
  for pid in /run/slurmd.pid /run/slurmctld.pid; do
    if running "$pid"; then
      log "config changed: stopping $(basename "$pid" .pid)"
      $sudo kill "$(cat "$pid")"
      for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
    fi
  done
fi
if ! running /run/slurmctld.pid; then
  log "starting slurmctld"
  $sudo env SLURM_CONF="$conf" slurmctld
fi
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
scontrol ping | grep -q UP || { log "slurmctld is not up; its log:"; tail -20 "$logs/slurmctld.log" >&2; exit 1; }
if ! running /run/slurmd.pid; then
  log "starting slurmd"
  $sudo env SLURM_CONF="$conf" slurmd
fi

# 5. The node idle (a node down after an unclean stop is resumed).
for _ in $(seq 150); do
  st="$(sinfo -h -n "$host" -o %T 2>/dev/null || true)"
  case "$st" in
    idle* | mixed* | allocated* | completing*) break ;;
    down* | drain* | fail*) $sudo env SLURM_CONF="$conf" scontrol update nodename="$host" state=resume || true ;;
  esac
  sleep 0.2
done
case "$st" in
  idle* | mixed* | allocated* | completing*) ;;
  *)
    log "node $host is '$st'; the logs:"
    tail -20 "$logs/slurmctld.log" "$logs/slurmd.log" >&2
    exit 1
    ;;
esac
log "up: $(sinfo -h -o '%P %D node(s) %c CPUs %T' | head -1) (Slurm $(sinfo -V | cut -d' ' -f2))"
