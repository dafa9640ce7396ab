#!/usr/bin/env bash
# A real one-cluster Slurm (Debian 12: slurm-wlm 22.05 + munge) whose slurmd
# daemons live in network namespaces made by netns.sh. No systemd: every
# daemon is started by hand in the foreground (-D/-F) in the background of
# this script, recorded by PID, and stopped by PID.
#
#   slurm.sh install                  apt-get install slurm-wlm munge if missing
#   slurm.sh up STATE_DIR NAME=ADDR... munged + slurmctld (root netns) + slurmd per netns
#   slurm.sh down STATE_DIR           cancel all jobs, stop everything `up` started
#   slurm.sh kill-node STATE_DIR NAME kill -9 slurmd and every process in netns NAME
#   slurm.sh start-node STATE_DIR NAME start that node's slurmd again (after kill-node)
#
# After `up`, `source STATE_DIR/env` points the Slurm clients at this cluster.
# Environment: LOOM_SLURM_UP_TIMEOUT (30 s), LOOM_SLURM_CTLD_ADDR (first
# host's subnet .1, the netns.sh bridge), LOOM_SLURMCTLD_PORT (6817),
# LOOM_SLURMD_PORT (6818), LOOM_SLURM_NODE_CPUS (CPUs of this machine),
# LOOM_SLURM_CRED_EXPIRE (10 s; also how long a requeued job waits).
# Needs root. Callers should `trap '... down ...' EXIT INT TERM`.
set -euo pipefail

NETNS_DIR=/run/netns
PACKAGES=(slurm-wlm munge slurm-client)
DAEMONS=(munged slurmctld slurmd slurmdbd slurmstepd)

log() { printf 'slurm.sh: %s\n' "$*" >&2; }
die() { # die CODE MESSAGE
  log "$2"
  exit "$1"
}

usage() {
  cat >&2 <<'EOF'
usage: slurm.sh install
       slurm.sh up STATE_DIR NAME=ADDRESS...
       slurm.sh down STATE_DIR
       slurm.sh kill-node STATE_DIR NAME
       slurm.sh start-node STATE_DIR NAME
EOF
  exit 2
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

valid_name() { [[ "$1" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] && [[ "$1" != *..* ]]; }
valid_ipv4() { [[ "$1" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; }

# slurm.conf has no quoting we can rely on: keep paths to plain characters.
abs_state_dir() { # abs_state_dir DIR -> prints absolute path
  local dir
  dir="$(realpath -m -- "$1")"
  [[ "$dir" =~ ^/[A-Za-z0-9_./+-]*$ ]] || die 2 "STATE_DIR '$dir' must use only [A-Za-z0-9_./+-]"
  printf '%s\n' "$dir"
}

# --- process identity -------------------------------------------------------
# A PID alone can be reused; PID + start time (field 22 of /proc/PID/stat)
# identifies one process for its whole life.
proc_start() { # proc_start PID -> start time, or fails if no such process
  local stat rest
  local -a f
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  rest="${stat##*) }" # fields after "(comm) ", comm may contain spaces
  # rest starts at field 3; start time is field 22 -> word 20 of rest.
  read -r -a f <<<"$rest"
  printf '%s\n' "${f[19]}"
}

proc_comm() { cat "/proc/$1/comm" 2>/dev/null; }

same_proc() { # same_proc PID START -> 0 if that exact process still runs
  local s
  s="$(proc_start "$1")" || return 1
  [[ "$s" == "$2" ]] || return 1
  # A zombie has exited already; treat it as gone.
  [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)" != Z ]] || return 1
  return 0
}

netns_inode() { stat -L -c %i "$NETNS_DIR/$1" 2>/dev/null; }

pids_in_netns() { # pids_in_netns INODE -> PIDs whose network namespace is INODE
  local inode="$1" p link
  for p in /proc/[0-9]*; do
    link="$(readlink "$p/ns/net" 2>/dev/null)" || continue
    [[ "$link" == "net:[$inode]" ]] && printf '%s\n' "${p#/proc/}"
  done
  return 0
}

# --- install ----------------------------------------------------------------
installed() { [[ "$(dpkg-query -W -f '${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]; }

daemon_pids() { # PIDs of every running Slurm/munge daemon (to spot new ones)
  local d
  for d in "${DAEMONS[@]}"; do pgrep -x "$d" || true; done | sort -n
}

cmd_install() {
  [[ $# -eq 0 ]] || usage
  local missing=() p
  for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
  if ((${#missing[@]} == 0)); then
    log "already installed: ${PACKAGES[*]}"
    return 0
  fi
  local before after t0
  before="$(daemon_pids)"
  t0="$(now)"
  log "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    # A fresh machine may not have package lists yet.
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
  # Post-install scripts may start daemons (where policy-rc.d allows it):
  # stop exactly the ones that appeared during the install.
  after="$(daemon_pids)"
  local new
  new="$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')"
  if [[ -n "$new" ]]; then
    log "stopping daemons started by the packages: $(echo "$new" | tr '\n' ' ')"
    local pid
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <<<"$new"
    sleep 2
    while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <<<"$new"
  fi
  log "installed in $(elapsed "$t0") s"
}

# --- pids file ----------------------------------------------------------------
# STATE_DIR/pids: one line per started daemon: "KIND NAME PID START NETNS_INODE"
# (NAME and NETNS_INODE are "-" for the root-namespace daemons).

record_pid() { # record_pid STATE_DIR KIND NAME PID INODE
  local start
  start="$(proc_start "$4")" || start=0
  printf '%s %s %s %s %s\n' "$2" "$3" "$4" "$start" "$5" >>"$1/pids"
}

# Wait until process PID (started as a wrapper chain that execs) runs EXPECTED.
wait_comm() { # wait_comm PID EXPECTED
  local i
  for ((i = 0; i < 50; i++)); do
    [[ "$(proc_comm "$1")" == "$2" ]] && return 0
    [[ -e "/proc/$1" ]] || return 1
    sleep 0.1
  done
  return 1
}

# spawn STATE_DIR KIND NAME INODE OUTFILE CMD...: start CMD, which must exec
# (no fork) into daemon KIND, so that $! is the daemon itself. It is recorded
# at once (exec keeps PID and start time), before it is even running KIND, so
# an interrupt at any moment leaves nothing unrecorded.
spawn() {
  local dir="$1" kind="$2" name="$3" inode="$4" out="$5" pid
  shift 5
  # setsid: keep the daemon out of the caller's terminal process group so a
  # ^C reaches the caller (whose trap runs `down`), not the daemons directly.
  setsid "$@" </dev/null >>"$out" 2>&1 &
  pid=$!
  record_pid "$dir" "$kind" "$name" "$pid" "$inode"
  disown "$pid" # ours to stop by PID, not a job of this shell
  wait_comm "$pid" "$kind" || die 1 "$kind ${name#-} did not start (see $out)"
}

start_slurmd() { # start_slurmd STATE_DIR NAME
  local dir="$1" name="$2" inode
  inode="$(netns_inode "$name")" || die 1 "no network namespace '$name'"
  mkdir -p "$dir/spool/$name"
  # nsenter --net (not `ip netns exec`, which remounts /sys). -N: this build
  # accepts a node name, so the UTS hostname can stay the machine's.
  spawn "$dir" slurmd "$name" "$inode" "$dir/slurmd-$name.out" \
    nsenter --net="$NETNS_DIR/$name" -- slurmd -D -N "$name" -f "$dir/slurm.conf"
}

# --- up ---------------------------------------------------------------------
UP_DIR=""
UP_DONE=1
up_exit() {
  local rc=$?
  if [[ "$UP_DONE" == 0 && -n "$UP_DIR" ]]; then
    # A child interrupted between fork and record is still a job of ours.
    local j
    for j in $(jobs -p); do kill -KILL "$j" 2>/dev/null || true; done
    local f
    for f in "$UP_DIR"/munged.log "$UP_DIR"/slurmctld.log "$UP_DIR"/slurmd-*.log "$UP_DIR"/*.out; do
      [[ -s "$f" ]] || continue
      printf '==> %s <==\n' "$f" >&2
      tail -n 15 "$f" >&2
    done
    log "up failed; stopping what it started"
    cmd_down "$UP_DIR" || true
  fi
  exit "$rc"
}

write_conf() { # write_conf DIR CTLD_ADDR CPUS MEM NAME=ADDR...
  local dir="$1" ctld_addr="$2" cpus="$3" mem="$4"
  shift 4
  local ctld_host node_names="" h
  ctld_host="$(hostname -s)"
  for h in "$@"; do node_names+="${node_names:+,}${h%%=*}"; done
  {
    cat <<EOF
# Written by cluster/test/slurm.sh for a throw-away test cluster.
ClusterName=loom
# slurmctld runs in the root namespace; nodes reach it on the bridge address.
SlurmctldHost=$ctld_host($ctld_addr)
SlurmctldPort=${LOOM_SLURMCTLD_PORT:-6817}
SlurmdPort=${LOOM_SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Our own munged; cred_expire also delays the restart of a requeued job.
AuthInfo=socket=$dir/munge/munge.socket.2,cred_expire=${LOOM_SLURM_CRED_EXPIRE:-10}
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups/systemd here: track tasks by process tree.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
# Fast failure detection and recovery for tests.
ReturnToService=2
SlurmdTimeout=10
MessageTimeout=5
KillWait=2
# Run both schedulers every 2 s (defaults 60/30 s): a requeued job or one
# freed by a returning node starts soon after it becomes eligible.
SchedulerParameters=sched_interval=2,bf_interval=2
InactiveLimit=0
JobRequeue=1
MinJobAge=300
# Every node claims this whole machine; do not mark it INVAL for that.
SlurmdParameters=config_overrides
EOF
    for h in "$@"; do
      printf 'NodeName=%s NodeAddr=%s CPUs=%s RealMemory=%s State=UNKNOWN\n' \
        "${h%%=*}" "${h#*=}" "$cpus" "$mem"
    done
    # FORCE:4 lets up to 4 jobs share a CPU (2 CPUs -> 8 one-CPU jobs/node).
    printf 'PartitionName=loom Nodes=%s Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4\n' \
      "$node_names"
  } >"$dir/slurm.conf"
}

all_idle() { # all_idle NAME... -> 0 when sinfo reports each node idle
  local out name state
  out="$(timeout 5 sinfo -h -N -o '%N %t' 2>/dev/null)" || return 1
  for name in "$@"; do
    state="$(awk -v n="$name" '$1 == n { print $2; exit }' <<<"$out")"
    [[ "$state" == idle ]] || return 1
  done
}

cmd_up() {
  [[ $# -ge 2 ]] || usage
  ((EUID == 0)) || die 2 "must run as root"
  local dir
  dir="$(abs_state_dir "$1")"
  shift
  local h name addr names=() hosts=()
  for h in "$@"; do
    [[ "$h" == *=* ]] || die 2 "host '$h' is not NAME=ADDRESS"
    name="${h%%=*}"
    addr="${h#*=}"
    valid_name "$name" || die 2 "bad node name '$name'"
    valid_ipv4 "$addr" || die 2 "bad address '$addr' for $name"
    [[ -e "$NETNS_DIR/$name" ]] || die 2 "no network namespace '$name' (run netns.sh up first)"
    names+=("$name")
    hosts+=("$name=$addr")
  done
  local tool
  for tool in munged slurmctld slurmd sinfo scancel; do
    command -v "$tool" >/dev/null 2>&1 || die 2 "'$tool' not found: run 'slurm.sh install'"
  done

  mkdir -p "$dir"
  if [[ -s "$dir/pids" ]]; then
    die 2 "$dir/pids already lists daemons; run 'slurm.sh down $dir' first"
  fi
  # A fresh cluster each time: old controller state would resurrect old jobs.
  rm -rf "$dir/ctld" "$dir/spool" "$dir/munge"
  rm -f "$dir"/*.log "$dir"/*.out "$dir"/*.pid "$dir/jobcomp.txt" "$dir/env"
  mkdir -p "$dir/ctld" "$dir/spool" "$dir/munge"
  # munged refuses a socket dir that others can write, and wants every dir on
  # the socket's path searchable by all (mktemp -d makes 0700).
  chmod 0755 "$dir/munge"
  chmod go+x "$dir"
  : >"$dir/pids"

  UP_DIR="$dir"
  UP_DONE=0
  trap up_exit EXIT
  trap 'exit 130' INT TERM
  local t0
  t0="$(now)"

  local ctld_addr="${LOOM_SLURM_CTLD_ADDR:-}"
  if [[ -z "$ctld_addr" ]]; then
    addr="${hosts[0]#*=}"
    ctld_addr="${addr%.*}.1"
  fi
  valid_ipv4 "$ctld_addr" || die 2 "bad controller address '$ctld_addr'"

  # Node size from the hardware (slurmd -C), unless overridden.
  local hw cpus mem
  hw="$(slurmd -C 2>/dev/null | head -n 1)"
  cpus="$(sed -n 's/.*[[:space:]]CPUs=\([0-9]*\).*/\1/p' <<<"$hw")"
  mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")"
  cpus="${LOOM_SLURM_NODE_CPUS:-${cpus:-1}}"
  mem="${mem:-1}"
  [[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die 2 "bad CPU count '$cpus'"
  write_conf "$dir" "$ctld_addr" "$cpus" "$mem" "${hosts[@]}"

  # munge: a fresh key for this cluster only.
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile="$dir/munge/munge.key" --force
  else
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 0600 "$dir/munge/munge.key"
  local pid i
  spawn "$dir" munged - - "$dir/munged.out" \
    munged -F --socket="$dir/munge/munge.socket.2" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munged.log" \
    --seed-file="$dir/munge/munged.seed"
  pid="$(awk '$1 == "munged" { print $3 }' "$dir/pids")"
  for ((i = 0; i < 100; i++)); do
    [[ -S "$dir/munge/munge.socket.2" ]] && break
    [[ -e "/proc/$pid" ]] || die 1 "munged exited"
    sleep 0.1
  done
  [[ -S "$dir/munge/munge.socket.2" ]] || die 1 "munged socket did not appear"

  spawn "$dir" slurmctld - - "$dir/slurmctld.out" slurmctld -D -f "$dir/slurm.conf"

  for name in "${names[@]}"; do start_slurmd "$dir" "$name"; done

  {
    printf '# source me: Slurm clients for the test cluster in %s\n' "$dir"
    printf 'export SLURM_CONF=%q\n' "$dir/slurm.conf"
    # Clients find munge through AuthInfo=socket= in slurm.conf; the munge
    # and unmunge tools need --socket="$LOOM_MUNGE_SOCKET".
    printf 'export LOOM_MUNGE_SOCKET=%q\n' "$dir/munge/munge.socket.2"
  } >"$dir/env"
  export SLURM_CONF="$dir/slurm.conf"

  local timeout="${LOOM_SLURM_UP_TIMEOUT:-30}" deadline kind n p start ino
  deadline=$((SECONDS + timeout))
  until all_idle "${names[@]}"; do
    # Fail fast if a daemon died.
    while read -r kind n p start ino; do
      same_proc "$p" "$start" || die 1 "$kind${n/#-/} (pid $p) exited during startup"
    done <"$dir/pids"
    ((SECONDS < deadline)) || die 1 "nodes not idle after ${timeout} s: $(timeout 5 sinfo -h -N -o '%N=%t' 2>&1 | tr '\n' ' ')"
    sleep 0.2
  done
  UP_DONE=1
  trap - EXIT INT TERM
  log "up: ${names[*]} idle after $(elapsed "$t0") s; source $dir/env"
}

# --- down -------------------------------------------------------------------
# Job processes (slurmstepd, tasks, srun in batch scripts) that live in one of
# our node namespaces. slurmstepd is re-parented to init, so its parent says
# little: the namespace (or a parent that is one of our daemons) does.
leftover_job_pids() { # leftover_job_pids STATE_DIR
  local dir="$1" kind name pid start ino p ppid comm
  local -A ours=() inodes=()
  while read -r kind name pid start ino; do
    ours[$pid]=1
    [[ "$ino" != - ]] && inodes[$ino]=1
  done <"$dir/pids"
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    comm="$(proc_comm "$p")" || continue
    ppid="$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" || continue
    if [[ "$comm" == slurmstepd ]] && [[ -n "${ours[$ppid]:-}" ]]; then
      printf '%s\n' "$p"
      continue
    fi
    local link
    link="$(readlink "/proc/$p/ns/net" 2>/dev/null)" || continue
    link="${link#net:[}"
    link="${link%]}"
    [[ -n "${inodes[$link]:-}" ]] || continue
    [[ -n "${ours[$p]:-}" ]] && continue # the slurmd itself: stopped separately
    # In a node namespace: slurmstepd, or anything with a Slurm job id.
    if [[ "$comm" == slurmstepd ]] || tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q '^SLURM_JOB_ID='; then
      printf '%s\n' "$p"
    fi
  done
}

children_named() { # children_named PPID COMM -> PIDs of PPID's children called COMM
  local p stat rest
  local -a f
  for p in /proc/[0-9]*; do
    [[ "$(cat "$p/comm" 2>/dev/null)" == "$2" ]] || continue
    stat="$(cat "$p/stat" 2>/dev/null)" || continue
    rest="${stat##*) }"
    read -r -a f <<<"$rest"
    [[ "${f[1]}" == "$1" ]] && printf '%s\n' "${p#/proc/}"
  done
  return 0
}

stop_pids() { # stop_pids SIGNAL_WAIT_SECONDS PID START ... (pairs) -> TERM, wait, KILL
  local wait_s="$1"
  shift
  local -a pairs=("$@")
  local i alive deadline
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    if same_proc "${pairs[i]}" "${pairs[i + 1]}"; then kill -TERM "${pairs[i]}" 2>/dev/null || true; fi
  done
  deadline=$(($(date +%s) + wait_s))
  while :; do
    alive=0
    for ((i = 0; i < ${#pairs[@]}; i += 2)); do
      same_proc "${pairs[i]}" "${pairs[i + 1]}" && alive=1
    done
    ((alive == 0)) && return 0
    (($(date +%s) < deadline)) || break
    sleep 0.1
  done
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    if same_proc "${pairs[i]}" "${pairs[i + 1]}"; then
      log "pid ${pairs[i]} ($(proc_comm "${pairs[i]}")) ignored TERM; killing"
      kill -KILL "${pairs[i]}" 2>/dev/null || true
    fi
  done
  sleep 0.2
}

cmd_down() {
  [[ $# -eq 1 ]] || usage
  local dir
  dir="$(abs_state_dir "$1")"
  [[ -s "$dir/pids" ]] || return 0
  local t0
  t0="$(now)"
  local kind name pid start ino p i ctld_alive=0
  while read -r kind name pid start ino; do
    [[ "$kind" == slurmctld ]] && same_proc "$pid" "$start" && ctld_alive=1
  done <"$dir/pids"

  # 1. Cancel every job while the daemons still run, so slurmstepd and the
  #    tasks are ended by Slurm itself.
  if ((ctld_alive == 1)) && [[ -f "$dir/slurm.conf" ]]; then
    export SLURM_CONF="$dir/slurm.conf"
    local jobs
    jobs="$(timeout 10 squeue -h -o '%i' 2>/dev/null || true)"
    if [[ -n "$jobs" ]]; then
      # shellcheck disable=SC2086 # job ids are plain words, one per line
      timeout 10 scancel $jobs 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        jobs="$(timeout 5 squeue -h -o '%i' 2>/dev/null || true)"
        [[ -z "$jobs" ]] && [[ -z "$(leftover_job_pids "$dir")" ]] && break
        sleep 0.2
      done
    fi
  fi

  # 2. Daemons by recorded PID: slurmd first, then slurmctld, then munged.
  #    slurmctld forks a helper, slurmscriptd: note it now (PID + start time)
  #    so it can be stopped even once it is re-parented.
  local want pairs helpers=()
  while read -r kind name pid start ino; do
    if [[ "$kind" != slurmctld ]] || ! same_proc "$pid" "$start"; then continue; fi
    while read -r p; do
      [[ -n "$p" ]] && helpers+=("$p" "$(proc_start "$p" || echo 0)")
    done < <(children_named "$pid" slurmscriptd)
  done <"$dir/pids"
  for want in slurmd slurmctld munged; do
    pairs=()
    while read -r kind name pid start ino; do
      [[ "$kind" == "$want" ]] && pairs+=("$pid" "$start")
    done <"$dir/pids"
    ((${#pairs[@]} > 0)) && stop_pids 5 "${pairs[@]}"
    [[ "$want" == slurmctld ]] && ((${#helpers[@]} > 0)) && stop_pids 3 "${helpers[@]}"
  done

  # 3. Whatever job process survived (slurmd killed, scancel timed out, ...).
  pairs=()
  while read -r p; do
    [[ -n "$p" ]] || continue
    start="$(proc_start "$p")" || continue
    pairs+=("$p" "$start")
  done < <(leftover_job_pids "$dir")
  if ((${#pairs[@]} > 0)); then
    log "stopping leftover job processes: $(for ((i = 0; i < ${#pairs[@]}; i += 2)); do printf '%s ' "${pairs[i]}"; done)"
    stop_pids 3 "${pairs[@]}"
  fi

  # 4. Confirm by PID.
  local left=()
  while read -r kind name pid start ino; do
    same_proc "$pid" "$start" && left+=("$kind${name/#-/}:$pid")
  done <"$dir/pids"
  for ((i = 0; i < ${#helpers[@]}; i += 2)); do
    same_proc "${helpers[i]}" "${helpers[i + 1]}" && left+=("slurmscriptd:${helpers[i]}")
  done
  while read -r p; do [[ -n "$p" ]] && left+=("job:$p"); done < <(leftover_job_pids "$dir")
  if ((${#left[@]} > 0)); then
    die 1 "still running: ${left[*]}"
  fi
  # Keep the record for post-mortem checks, but mark it done for idempotence.
  mv "$dir/pids" "$dir/pids.stopped"
  log "down in $(elapsed "$t0") s"
}

# --- node failure -------------------------------------------------------------
cmd_kill_node() {
  [[ $# -eq 2 ]] || usage
  local dir name="$2"
  dir="$(abs_state_dir "$1")"
  valid_name "$name" || die 2 "bad node name '$name'"
  [[ -s "$dir/pids" ]] || die 2 "no running cluster in $dir"
  local kind n pid start ino inode=""
  while read -r kind n pid start ino; do
    if [[ "$kind" == slurmd && "$n" == "$name" ]]; then
      inode="$ino"
      if same_proc "$pid" "$start"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
  done <"$dir/pids"
  [[ -n "$inode" ]] || inode="$(netns_inode "$name")" || die 2 "unknown node '$name'"
  # Everything else in that namespace dies too, as on a crashed machine.
  # Repeat: a dying process tree may still fork for a moment.
  local i pids
  for ((i = 0; i < 20; i++)); do
    pids="$(pids_in_netns "$inode")"
    [[ -z "$pids" ]] && break
    # shellcheck disable=SC2086 # PIDs are plain numbers
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  [[ -z "$(pids_in_netns "$inode")" ]] || die 1 "processes survive in $name: $(pids_in_netns "$inode" | tr '\n' ' ')"
  log "killed node $name"
}

cmd_start_node() {
  [[ $# -eq 2 ]] || usage
  local dir name="$2"
  dir="$(abs_state_dir "$1")"
  valid_name "$name" || die 2 "bad node name '$name'"
  [[ -s "$dir/pids" ]] || die 2 "no running cluster in $dir"
  grep -q "^NodeName=$name " "$dir/slurm.conf" || die 2 "node '$name' is not in $dir/slurm.conf"
  local kind n pid start ino
  while read -r kind n pid start ino; do
    if [[ "$kind" == slurmd && "$n" == "$name" ]] && same_proc "$pid" "$start"; then
      die 2 "slurmd for $name still runs (pid $pid)"
    fi
  done <"$dir/pids"
  start_slurmd "$dir" "$name"
  log "started slurmd for $name"
}

main() {
  [[ $# -ge 1 ]] || usage
  local sub="$1"
  shift
  case "$sub" in
    install) cmd_install "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    kill-node) cmd_kill_node "$@" ;;
    start-node) cmd_start_node "$@" ;;
    *) usage ;;
  esac
}

main "$@"
