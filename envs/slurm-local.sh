#!/usr/bin/env bash
# Start (idempotently) a single-node SLURM cluster on this host, for tests and trying the SLURM profile without a
# cluster. Recipe measured on Debian 12 as root without systemd (see DEVELOPERS.md for the pitfalls it avoids).
# WITH_DBD=1: MariaDB + slurmdbd (sacct works). FAKE_GPUS=N: advertise N fake GPUs.
set -euo pipefail
PREFIX=${PREFIX:-/tmp/slurm-local}; WITH_DBD=${WITH_DBD:-0}; FAKE_GPUS=${FAKE_GPUS:-0}
GPU_TYPE=${GPU_TYPE:-a100}; PARTITION=${PARTITION:-debug}; ACCOUNT=${ACCOUNT:-testacct}; H=$(hostname -s)
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
waitfor() { for _ in $(seq 120); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.25; done; echo "timeout: $1" >&2; return 1; }
PKGS="munge slurmctld slurmd slurm-client"; [ "$WITH_DBD" = 1 ] && PKGS="$PKGS slurmdbd mariadb-server"
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then apt-get update -q; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing; fi
mkdir -p "$PREFIX"/{etc,state,spool,log,run} "$PREFIX/log/munge" /etc/slurm
chown munge:munge "$PREFIX/log/munge"
getent hosts "$H" >/dev/null || echo "127.0.0.1 $H" >> /etc/hosts
[ -s /etc/munge/munge.key ] || { mungekey -c -f -k /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
mkdir -p /run/munge && chown munge:munge /run/munge
alive /run/munge/munged.pid || runuser -u munge -- /usr/sbin/munged --log-file="$PREFIX/log/munge/munged.log"
waitfor "munge -n | unmunge"
MEM=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p'); MEM=$((MEM * 90 / 100))
NODE=$(slurmd -C | head -1 | sed "s/RealMemory=[0-9]*/RealMemory=$MEM/"); GRES_LINE=""
if [ "$FAKE_GPUS" -gt 0 ]; then
  mkdir -p "$PREFIX/fakegpu"
  for i in $(seq 0 $((FAKE_GPUS-1))); do [ -e "$PREFIX/fakegpu/nvidia$i" ] || mknod "$PREFIX/fakegpu/nvidia$i" c 1 3; done
  GRES_LINE="GresTypes=gpu"; NODE="$NODE Gres=gpu:$GPU_TYPE:$FAKE_GPUS"
  printf 'AutoDetect=off\nNodeName=%s Name=gpu Type=%s File=%s/fakegpu/nvidia[0-%d]\n' "$H" "$GPU_TYPE" "$PREFIX" $((FAKE_GPUS-1)) > "$PREFIX/etc/gres.conf"
  ln -sf "$PREFIX/etc/gres.conf" /etc/slurm/gres.conf
fi
if [ "$WITH_DBD" = 1 ]; then ACCT="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost"; else ACCT="AccountingStorageType=accounting_storage/none"; fi
cat > "$PREFIX/etc/slurm.conf" <<CONF
ClusterName=localcluster
SlurmctldHost=$H
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$PREFIX/state
SlurmdSpoolDir=$PREFIX/spool
SlurmctldPidFile=$PREFIX/run/slurmctld.pid
SlurmdPidFile=$PREFIX/run/slurmd.pid
SlurmctldLogFile=$PREFIX/log/slurmctld.log
SlurmdLogFile=$PREFIX/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
MinJobAge=300
MpiDefault=none
$ACCT
JobCompType=jobcomp/filetxt
JobCompLoc=$PREFIX/log/jobcomp.txt
$GRES_LINE
$NODE State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
ln -sf "$PREFIX/etc/slurm.conf" /etc/slurm/slurm.conf   # needed: jobstep strips SLURM_CONF
if [ "$WITH_DBD" = 1 ]; then
  mkdir -p "$PREFIX/mysql" "$PREFIX/log/mysql" /run/mysqld; chown mysql:mysql "$PREFIX/mysql" "$PREFIX/log/mysql" /run/mysqld
  [ -d "$PREFIX/mysql/mysql" ] || mariadb-install-db --user=mysql --datadir="$PREFIX/mysql" --skip-test-db >/dev/null
  alive /run/mysqld/mariadb.pid || { setsid /usr/sbin/mariadbd --user=mysql --datadir="$PREFIX/mysql" --socket=/run/mysqld/mysqld.sock \
    --pid-file=/run/mysqld/mariadb.pid --bind-address=127.0.0.1 --log-error="$PREFIX/log/mysql/mariadb.err" \
    --innodb-buffer-pool-size=128M </dev/null >/dev/null 2>&1 & }
  waitfor "mariadb -uroot -e 'select 1'"
  mariadb -uroot -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  printf '%s\n' AuthType=auth/munge DbdHost=localhost SlurmUser=root "LogFile=$PREFIX/log/slurmdbd.log" "PidFile=$PREFIX/run/slurmdbd.pid" \
    StorageType=accounting_storage/mysql StorageHost=localhost StorageUser=slurm StoragePass=slurmpw StorageLoc=slurm_acct_db > "$PREFIX/etc/slurmdbd.conf"
  chmod 600 "$PREFIX/etc/slurmdbd.conf"; ln -sf "$PREFIX/etc/slurmdbd.conf" /etc/slurm/slurmdbd.conf
  alive "$PREFIX/run/slurmdbd.pid" || /usr/sbin/slurmdbd
  waitfor "sacctmgr -n show cluster"
fi
alive "$PREFIX/run/slurmctld.pid" || /usr/sbin/slurmctld
waitfor "scontrol ping | grep -q UP"
alive "$PREFIX/run/slurmd.pid" || /usr/sbin/slurmd
waitfor "sinfo -h -n $H -o %T | grep -Eq 'idle|mix|alloc|down|drain|inval'"
sinfo -h -n "$H" -o %T | grep -Eq 'down|drain|inval' && scontrol update nodename="$H" state=resume || true
waitfor "sinfo -h -n $H -o %T | grep -Eq 'idle|mix|alloc'"
if [ "$WITH_DBD" = 1 ]; then
  sacctmgr -n list account "$ACCOUNT" format=account | grep -q . || sacctmgr -i add account "$ACCOUNT" Description=ci Organization=ci >/dev/null
  sacctmgr -n -s list user root format=account | grep -qw "$ACCOUNT" || sacctmgr -i add user root Account="$ACCOUNT" >/dev/null
fi
sinfo -o "%P %a %D %T %N %G"
