#!/usr/bin/env bash
# slurm-up.sh: bring up a one-node Slurm cluster on this machine (Debian 12,
# slurm-wlm 22.05 and munge already installed), for tests and small runs.
#
# Idempotent: daemons already running with the same slurm.conf are left alone;
# a changed slurm.conf restarts them. Run as root. Waits until sinfo shows the
# node idle.
#
# Environment:
#   KFORGE_SLURM_DIR   state, spool, pid and log files (default /var/lib/kforge-slurm)
#   SLURM_CONF         slurm.conf to write (default /etc/slurm/slurm.conf)
#   KFORGE_SLURM_WAIT  seconds to wait for an idle node (default 60)
set -euo pipefail

dir=${KFORGE_SLURM_DIR:-/var/lib/kforge-slurm}
conf=${SLURM_CONF:-/etc/slurm/slurm.conf}
wait_s=${KFORGE_SLURM_WAIT:-60}

die() { echo "slurm-up: $*" >&2; exit 1; }
log() { echo "slurm-up: $*" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (it starts munged, slurmctld and slurmd)"
for c in munged munge unmunge slurmctld slurmd sinfo scontrol; do
	command -v "$c" >/dev/null || die "$c not found: apt-get install -y slurm-wlm munge"
done

# alive PIDFILE: the process named in PIDFILE is running.
# A daemon removes its pid file as it exits, so read it once.
alive() {
	local pid
	pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# munge: slurm authenticates every RPC with it.
mkdir -p /run/munge /var/lib/munge /var/log/munge /etc/munge
if [ ! -s /etc/munge/munge.key ]; then
	dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
	chmod 400 /etc/munge/munge.key
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
	log "starting munged"
	munged --force 2>/dev/null || die "munged did not start"
	for _ in $(seq 50); do
		munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
		sleep 0.1
	done
	munge -n | unmunge >/dev/null || die "munge credentials do not verify"
fi

# slurm.conf from this machine's name, cores and memory. Addresses are
# given, so the cluster needs no name resolution for the host name.
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/^MemTotal:/ { m = int($2 / 1024) - 1024; if (m < 256) m = 256; print m }' /proc/meminfo)
mkdir -p "$dir"/state "$dir"/spool "$dir"/log "$(dirname "$conf")"
want=$(cat <<CONF
# Written by kforge scripts/slurm-up.sh: a one-node cluster.
ClusterName=kforge
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
)
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
	log "writing $conf"
	printf '%s\n' "$want" >"$conf.tmp"
	mv "$conf.tmp" "$conf"
	# Daemons started with another config must be restarted to read this one.
	for p in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
		if alive "$p"; then
			log "restarting for the new config: stopping $(basename "$p" .pid)"
			kill "$(cat "$p" 2>/dev/null)" 2>/dev/null || true
			for _ in $(seq 100); do alive "$p" || break; sleep 0.1; done
		fi
	done
fi
export SLURM_CONF="$conf"

if ! alive "$dir/slurmctld.pid"; then
	log "starting slurmctld"
	slurmctld -f "$conf" || die "slurmctld did not start; see $dir/log/slurmctld.log"
fi
if ! alive "$dir/slurmd.pid"; then
	log "starting slurmd"
	slurmd -f "$conf" || die "slurmd did not start; see $dir/log/slurmd.log"
fi

# Wait for the node to come up idle; a node left down or drained by an earlier
# run is resumed.
for _ in $(seq $((wait_s * 2))); do
	state=$(sinfo -h -n "$host" -o %t 2>/dev/null | head -1 || true)
	case "$state" in
	idle* | mix* | alloc*)
		log "node $host is $state"
		exit 0
		;;
	down* | drain* | drng*)
		scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
		;;
	esac
	sleep 0.5
done
die "node $host not idle after ${wait_s}s (state: ${state:-none}); see $dir/log/"
