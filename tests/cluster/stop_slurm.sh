#!/usr/bin/env bash
# Stop the test cluster that tests/cluster/start_slurm.sh started: only the daemons named by
# its pid files (never by process name), in reverse start order. Idempotent.
#
#   bash tests/cluster/stop_slurm.sh           # stop; keep the state (accounting DB, logs)
#   bash tests/cluster/stop_slurm.sh --purge   # also delete the state directory
#
# It also removes /etc/slurm/slurm.conf and slurmdbd.conf when the start script wrote them
# (it writes them anew each time): while a slurm.conf names a controller that is not running,
# `scontrol show config` hangs ~9 s, and snakemake-executor-plugin-slurm runs it whenever it
# is imported, i.e. at every snakemake start, even a local run.
# The Debian packages and /etc/munge/munge.key stay installed. Same MGSURV_SLURM_DIR as
# start_slurm.sh (default /tmp/mgsurv-slurm).

set -euo pipefail

STATE=${MGSURV_SLURM_DIR:-/tmp/mgsurv-slurm}
MARKER="# Written by mgsurv tests/cluster/start_slurm.sh"
PURGE=0
case "${1:-}" in
"") ;;
--purge) PURGE=1 ;;
*)
    echo "usage: stop_slurm.sh [--purge]" >&2
    exit 2
    ;;
esac

say() { echo "stop_slurm.sh: $*"; }

pidfile() {
    case $1 in
    munged) echo "$STATE/munge/munged.pid" ;;
    mariadbd) echo "$STATE/mariadb/mariadbd.pid" ;;
    *) echo "$STATE/run/$1.pid" ;;
    esac
}

# The pid of a daemon we started, if that process still runs that program (a pid file left
# behind after a crash or reboot may name an unrelated process by now: that is not killed).
our_pid() {
    local name=$1 file pid
    file=$(pidfile "$name")
    [ -s "$file" ] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ] ||
        return 1
    echo "$pid"
}

stopped_any=0
for name in slurmd slurmctld slurmdbd mariadbd munged; do
    if ! pid=$(our_pid "$name"); then
        rm -f "$(pidfile "$name")"
        continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do # up to 30 s for a clean shutdown
        [ -d "/proc/$pid" ] || break
        sleep 0.5
    done
    if [ -d "/proc/$pid" ]; then
        say "$name (pid $pid) did not stop within 30 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$name")"
    say "stopped $name (pid $pid)"
    stopped_any=1
done
[ "$stopped_any" = 1 ] || say "no daemon started by start_slurm.sh is running"

for conf in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf; do
    # only a config of ours that belongs to this state directory
    if [ -e "$conf" ] && head -n 1 "$conf" | grep -qxF "$MARKER" &&
        grep -qF "=$STATE/" "$conf"; then
        rm -f "$conf"
        say "removed $conf"
    fi
done

if [ "$PURGE" = 1 ]; then
    case "$STATE" in
    /*/*) ;;
    *)
        echo "stop_slurm.sh: refusing to delete state directory '$STATE'" >&2
        exit 1
        ;;
    esac
    if [ -d "$STATE" ]; then
        rm -rf "$STATE"
        say "removed $STATE"
    fi
fi
