#!/usr/bin/env bash
# Start a real single-node SLURM cluster on this machine, for testing the workflow's SLURM
# profile (workflow/profiles/slurm) with snakemake-executor-plugin-slurm.
#
#   sudo bash tests/cluster/start_slurm.sh     # idempotent: "already up" if it is
#   sudo bash tests/cluster/stop_slurm.sh      # stops only what this script started
#
# Debian/Ubuntu only (apt, dpkg), as root, no systemd needed. What it does:
#   1. installs the Debian packages slurm-wlm, slurmdbd, munge, mariadb-server if missing
#      (services are kept from auto-starting meanwhile by a temporary policy-rc.d);
#   2. writes /etc/slurm/slurm.conf and /etc/slurm/slurmdbd.conf (refuses to touch files it
#      did not write; stop_slurm.sh removes them again) and creates /etc/munge/munge.key if
#      the munge package did not;
#   3. keeps everything else in a state directory, $MGSURV_SLURM_DIR (default
#      /tmp/mgsurv-slurm): a private MariaDB (own datadir, 127.0.0.1 only), spool dirs,
#      logs (log/) and the pid files of the daemons it started (run/);
#   4. starts munged, mariadbd, slurmdbd, registers the cluster with sacctmgr, starts
#      slurmctld and slurmd, and waits until the node is idle and `srun hostname` works.
#
# Exit status: 0 cluster up; 2 this machine cannot run it (not root, no apt, packages not
# available; the message says why); 1 it should have worked but did not (logs shown).
#
# Settings (environment): MGSURV_SLURM_DIR (state directory), MGSURV_SLURM_DB_PORT
# (MariaDB's TCP port on 127.0.0.1, default 16033), MGSURV_SLURM_TIMEOUT (seconds to wait
# for the cluster, default 120).

set -euo pipefail

STATE=${MGSURV_SLURM_DIR:-/tmp/mgsurv-slurm}
DB_PORT=${MGSURV_SLURM_DB_PORT:-16033}
TIMEOUT=${MGSURV_SLURM_TIMEOUT:-120}
CLUSTER=mgsurv
PARTITION=debug
MARKER="# Written by mgsurv tests/cluster/start_slurm.sh"
PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)
SLURM_CONF=/etc/slurm/slurm.conf
SLURMDBD_CONF=/etc/slurm/slurmdbd.conf
# Daemons that this script starts, in start order (stop_slurm.sh stops them in reverse).
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

say() { echo "start_slurm.sh: $*"; }
cannot() {
    echo "start_slurm.sh: cannot start SLURM here: $*" >&2
    exit 2
}
show_logs() {
    local file
    for file in "$STATE"/log/* "$STATE"/munge/*.log "$STATE"/mariadb/*.log; do
        [ -s "$file" ] || continue
        echo "----- last lines of $file -----" >&2
        tail -n 15 "$file" >&2
    done
}
die() {
    echo "start_slurm.sh: error: $*" >&2
    show_logs
    echo "start_slurm.sh: logs are in $STATE/log; stop what was started with" \
        "tests/cluster/stop_slurm.sh" >&2
    exit 1
}

# ---------------------------------------------------------------- preconditions
[ "$(id -u)" -eq 0 ] || cannot "must run as root (it installs Debian packages and starts daemons)"
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
    cannot "needs a Debian-like system with apt-get and dpkg (not found)"
fi
case "$STATE" in
/*) ;;
*) cannot "MGSURV_SLURM_DIR must be an absolute path, not '$STATE'" ;;
esac

# A pid file names a daemon of ours only while that process runs the expected program.
pidfile() { # name -> its pid file (munged and mariadbd do not run as root)
    case $1 in
    munged) echo "$STATE/munge/munged.pid" ;;
    mariadbd) echo "$STATE/mariadb/mariadbd.pid" ;;
    *) echo "$STATE/run/$1.pid" ;;
    esac
}
pid_alive() { # name -> 0 if its pid file names a live process of that program
    local name=$1 file pid comm
    file=$(pidfile "$name")
    [ -s "$file" ] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
    comm=$(cat "/proc/$pid/comm")
    [ "$comm" = "$name" ]
}

node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }

cluster_works() {
    local state
    state=$(node_state) || return 1
    case "$state" in
    idle | mixed | allocated | completing) ;;
    *) return 1 ;;
    esac
    timeout 30 srun -N 1 -n 1 -t 1 -p "$PARTITION" hostname >/dev/null 2>&1
}

NODE=$(hostname -s)

# ---------------------------------------------------------------- already up?
all_ours_alive=1
for daemon in "${DAEMONS[@]}"; do
    if [ "$daemon" = munged ] && [ -e "$STATE/run/munged.external" ]; then
        continue # munged was already running when we started: not ours
    fi
    pid_alive "$daemon" || all_ours_alive=0
done
if [ "$all_ours_alive" = 1 ] && head -n 1 "$SLURM_CONF" 2>/dev/null | grep -qxF "$MARKER" &&
    cluster_works; then
    say "the mgsurv test cluster is already up (node $NODE, partition $PARTITION, state $STATE)"
    exit 0
fi

# ---------------------------------------------------------------- refuse foreign configs
for conf in "$SLURM_CONF" "$SLURMDBD_CONF"; do
    if [ -e "$conf" ] && ! head -n 1 "$conf" | grep -qxF "$MARKER"; then
        cannot "$conf exists and was not written by this script; this machine seems to" \
            "have its own SLURM set-up, which this script will not overwrite (move the file" \
            "away to use the test cluster)"
    fi
done

# ---------------------------------------------------------------- packages
missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f '${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    APT=(apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -q)
    candidates_known() {
        local package candidate
        for package in "${missing[@]}"; do
            candidate=$(apt-cache policy "$package" 2>/dev/null |
                awk '/Candidate:/ {print $2}')
            [ -n "$candidate" ] && [ "$candidate" != "(none)" ] || return 1
        done
    }
    if ! candidates_known; then
        say "apt-get update (the package lists do not know ${missing[*]})"
        "${APT[@]}" update >"/tmp/mgsurv-slurm-apt.log" 2>&1 ||
            cannot "apt-get update failed (see /tmp/mgsurv-slurm-apt.log)"
        candidates_known ||
            cannot "the Debian packages ${missing[*]} are not available from apt here"
    fi
    # Keep the packages' install scripts from starting services (there is no systemd, and
    # this script starts its own daemons). Only a policy-rc.d we create is removed again.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# temporary, from mgsurv tests/cluster/start_slurm.sh\nexit 101\n' \
            >"$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    say "installing Debian packages: ${missing[*]} (a minute or less)"
    if ! "${APT[@]}" install -y --no-install-recommends "${missing[@]}" \
        >"/tmp/mgsurv-slurm-apt.log" 2>&1; then
        tail -n 20 /tmp/mgsurv-slurm-apt.log >&2
        cannot "apt-get install ${missing[*]} failed (log: /tmp/mgsurv-slurm-apt.log)"
    fi
    if [ -e "$policy" ] && grep -q "mgsurv tests/cluster/start_slurm.sh" "$policy"; then
        rm -f "$policy"
        trap - EXIT
    fi
fi
for tool in munged munge unmunge mariadbd mariadb-install-db mariadb mariadb-admin slurmdbd \
    slurmctld slurmd sacctmgr sinfo srun; do
    command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
    command -v "$tool" >/dev/null || cannot "'$tool' is missing after installing ${PACKAGES[*]}"
done

# ---------------------------------------------------------------- state directory, configs
mkdir -p "$STATE"/{run,log,spool/slurmctld,spool/slurmd,munge,mariadb}
chmod 755 "$STATE" "$STATE/run" "$STATE/log"
chown munge:munge "$STATE/munge"
chown mysql:mysql "$STATE/mariadb"

# The node as slurmd sees the hardware; memory minus a margin for the daemons.
node_line=$(slurmd -C 2>/dev/null | grep '^NodeName=' || true)
cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
cpus=${cpus:-$(nproc)}
total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
memory_mb=$((total_mb > 2048 ? total_mb - 1024 : total_mb / 2))
topology=$(grep -o 'Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*' \
    <<<"$node_line" || true)

db_password_file="$STATE/run/db_password"
if [ ! -s "$db_password_file" ]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$db_password_file")
fi
db_password=$(cat "$db_password_file")

write_if_changed() { # path mode content
    local path=$1 mode=$2 content=$3
    if [ ! -e "$path" ] || [ "$(cat "$path")" != "$content" ]; then
        mkdir -p "$(dirname "$path")"
        (umask 077 && printf '%s\n' "$content" >"$path.mgsurv-new")
        chmod "$mode" "$path.mgsurv-new"
        mv -f "$path.mgsurv-new" "$path"
    fi
}

write_if_changed "$SLURM_CONF" 644 "$MARKER
# A one-node test cluster; state, logs and pid files in $STATE. Written anew by each start,
# removed by tests/cluster/stop_slurm.sh.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/spool/slurmctld
SlurmdSpoolDir=$STATE/spool/slurmd
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# no cgroups needed
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# finished jobs stay visible to squeue/scontrol for 10 minutes
MinJobAge=600
InactiveLimit=0
KillWait=30
Waittime=0
SlurmctldTimeout=120
SlurmdTimeout=300
# accounting through slurmdbd, so that sacct works (the executor plugin polls it)
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStorageTRES=cpu,mem
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus ${topology:+$topology }RealMemory=$memory_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP"

write_if_changed "$SLURMDBD_CONF" 600 "$MARKER
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$db_password
StorageLoc=slurm_acct_db"

wait_for() { # seconds description command... : poll until the command succeeds
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "$what did not happen within ${seconds}s"
        sleep 0.5
    done
}

# Each daemon runs detached (own session, stdio to a file) so that no caller's pipe stays
# open; its pid file is in $STATE/run.
launch() { # name command...
    local name=$1
    shift
    setsid -f "$@" </dev/null >>"$STATE/log/$name.out" 2>&1
    wait_for 30 "$name writing its pid file $(pidfile "$name")" pid_alive "$name"
    say "started $name (pid $(cat "$(pidfile "$name")"))"
}

# ---------------------------------------------------------------- munge
if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile=/etc/munge/munge.key
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
munge_works() { munge -n </dev/null | unmunge >/dev/null; }
if pid_alive munged; then
    :
elif munge_works 2>/dev/null; then
    say "a munged not started by this script is running; using it"
    touch "$STATE/run/munged.external"
else
    rm -f "$STATE/run/munged.external"
    mkdir -p /run/munge
    chown munge:munge /run/munge
    chmod 755 /run/munge
    launch munged runuser -u munge -- munged --pid-file="$(pidfile munged)" \
        --log-file="$STATE/munge/munged.log"
    wait_for 15 "munge answering (munge -n | unmunge)" munge_works
fi

# ---------------------------------------------------------------- MariaDB (private)
DB_SOCKET="$STATE/mariadb/mysqld.sock"
db() { mariadb --no-defaults -S "$DB_SOCKET" -u root "$@"; }
if [ ! -d "$STATE/mariadb/data/mysql" ]; then
    say "initialising a private MariaDB in $STATE/mariadb/data"
    rm -rf "$STATE/mariadb/data"
    mariadb-install-db --no-defaults --user=mysql --datadir="$STATE/mariadb/data" \
        --auth-root-authentication-method=socket --skip-test-db \
        >"$STATE/log/mariadb-install-db.log" 2>&1 ||
        die "mariadb-install-db failed (see $STATE/log/mariadb-install-db.log)"
fi
if ! pid_alive mariadbd; then
    launch mariadbd mariadbd --no-defaults --user=mysql --datadir="$STATE/mariadb/data" \
        --socket="$DB_SOCKET" --pid-file="$(pidfile mariadbd)" --port="$DB_PORT" \
        --bind-address=127.0.0.1 --skip-name-resolve --log-error="$STATE/mariadb/mariadb.log" \
        --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900
fi
wait_for 60 "MariaDB answering on $DB_SOCKET" mariadb-admin --no-defaults -S "$DB_SOCKET" \
    -u root ping
db -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$db_password';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$db_password';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" ||
    die "could not create the accounting database in MariaDB"

# ---------------------------------------------------------------- slurmdbd, cluster
if ! pid_alive slurmdbd; then
    launch slurmdbd slurmdbd
fi
wait_for 60 "slurmdbd answering sacctmgr" sacctmgr -n show cluster format=cluster
if ! sacctmgr -n -P show cluster format=cluster | grep -qxF "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER failed"
    say "registered cluster $CLUSTER with slurmdbd"
fi

# ---------------------------------------------------------------- slurmctld, slurmd
if ! pid_alive slurmctld; then
    launch slurmctld slurmctld
fi
wait_for 60 "slurmctld answering (scontrol ping)" bash -c 'scontrol ping | grep -q UP'
if ! pid_alive slurmd; then
    launch slurmd slurmd
fi

node_ready() {
    case "$(node_state)" in
    idle | mixed | allocated | completing) return 0 ;;
    down* | drain* | fail*)
        # a node left down by an earlier run (e.g. after a reboot): bring it back
        scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
        return 1
        ;;
    *) return 1 ;;
    esac
}
wait_for "$TIMEOUT" "node $NODE becoming idle in sinfo (now: '$(node_state)')" node_ready
deadline=$((SECONDS + TIMEOUT))
until timeout 30 srun -N 1 -n 1 -t 1 -p "$PARTITION" hostname >/dev/null 2>"$STATE/log/srun.err"; do
    [ "$SECONDS" -lt "$deadline" ] || die "srun hostname still fails after ${TIMEOUT}s:" \
        "$(cat "$STATE/log/srun.err")"
    sleep 1
done
say "SLURM is up: cluster $CLUSTER, node $NODE ($cpus CPUs, ${memory_mb} MB), partition" \
    "$PARTITION; state, logs and pid files in $STATE"
