#!/usr/bin/env bash
# slurm-down.sh: stop the one-node cluster that slurm-up.sh started: slurmd,
# slurmctld and munged, by the pids in their pid files. Safe to run when
# nothing is running.
set -euo pipefail

dir=${KFORGE_SLURM_DIR:-/var/lib/kforge-slurm}

# stop NAME PIDFILE: SIGTERM the process, wait up to 10s, then SIGKILL.
stop() {
	local name=$1 pidfile=$2 pid
	[ -s "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if ! kill -0 "$pid" 2>/dev/null; then
		rm -f "$pidfile"
		return 0
	fi
	echo "slurm-down: stopping $name ($pid)" >&2
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
		sleep 0.1
	done
	echo "slurm-down: $name ($pid) did not stop in 10s: SIGKILL" >&2
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}

stop slurmd "$dir/slurmd.pid"
stop slurmctld "$dir/slurmctld.pid"
if [ "${KFORGE_KEEP_MUNGE:-}" = "" ]; then
	stop munged /run/munge/munged.pid
fi
