#!/usr/bin/env bash
# Self-check of the namespace + Slurm test cluster: two "hosts", a two-node
# job, a signal to a batch script, a requeue, a node killed and brought back,
# and then proof that nothing is left behind. Prints PASS, or what failed.
#
#   cluster/test/smoke.sh            (root; installs slurm-wlm + munge if missing)
#
# LOOM_SMOKE_SKIP_KILL_NODE=1 skips the node-failure part (it takes ~30 s).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NETNS="$HERE/netns.sh"
SLURM="$HERE/slurm.sh"
RSH="$HERE/netns-rsh"
PREFIX="${LOOM_NETNS_PREFIX:-loomh}"
BRIDGE="${LOOM_NETNS_BRIDGE:-loombr0}"

FAILURES=()
fail() {
  FAILURES+=("$1")
  printf 'smoke: FAIL: %s\n' "$1" >&2
}
note() { printf 'smoke: %s\n' "$*" >&2; }

STATE=""
BEFORE=""
CLEANED=0
cleanup() {
  ((CLEANED == 1)) && return 0
  CLEANED=1
  if [[ -n "$STATE" ]]; then
    "$SLURM" down "$STATE" || fail "slurm.sh down"
    "$NETNS" down "$STATE" || fail "netns.sh down"
  fi
}

# Whatever happened (pass, failure, ^C): clean up, look for leftovers, report.
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  cd /
  cleanup
  check_leftovers
  if ((rc == 0 && ${#FAILURES[@]} == 0)); then
    rm -rf "$STATE"
    echo PASS
    exit 0
  fi
  ((rc == 0)) || FAILURES+=("stopped with status $rc")
  printf 'FAILED (%d): state kept in %s\n' "${#FAILURES[@]}" "${STATE:-?}"
  local f
  for f in "${FAILURES[@]}"; do printf '  - %s\n' "$f"; done
  exit 1
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Daemons that ran before we started are not ours; anything new afterwards is.
daemon_snapshot() {
  local d
  for d in munged slurmctld slurmscriptd slurmd slurmstepd; do
    pgrep -x "$d" -r R,S,D,T || true # -r: skip zombies awaiting init's reaping
  done | sort -n
}

job_state() { scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }

wait_job_state() { # wait_job_state JOBID TIMEOUT STATE... -> 0 when in one of them
  local id="$1" timeout="$2" deadline s want
  shift 2
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    s="$(job_state "$id")"
    for want in "$@"; do [[ "$s" == "$want" ]] && return 0; done
    sleep 0.2
  done
  note "job $id is '$s', wanted: $*"
  return 1
}

wait_file() { # wait_file PATH TIMEOUT [MIN_LINES]
  local deadline=$((SECONDS + $2)) min="${3:-1}"
  while ((SECONDS < deadline)); do
    if [[ -f "$1" ]] && (($(wc -l <"$1") >= min)); then return 0; fi
    sleep 0.2
  done
  return 1
}

main() {
  local t0=$SECONDS
  if ! "$NETNS" check; then
    fail "this machine does not allow network namespaces (see above)"
    return 1
  fi
  "$SLURM" install

  BEFORE="$(daemon_snapshot)"
  STATE="$(mktemp -d /tmp/loom-smoke.XXXXXX)"
  note "state in $STATE"

  # 1. Two hosts on a bridge.
  local hosts=() name addr
  while read -r name addr; do hosts+=("$name=$addr"); done < <("$NETNS" up "$STATE" 2)
  ((${#hosts[@]} == 2)) || {
    fail "netns.sh up did not report 2 hosts"
    return 1
  }
  local a1="${hosts[0]#*=}" a2="${hosts[1]#*=}" n1="${hosts[0]%%=*}" n2="${hosts[1]%%=*}"
  local out
  out="$("$RSH" "$n1" 'ip -4 -o addr show dev eth0')" || fail "netns-rsh $n1"
  [[ "$out" == *" $a1/24 "* ]] || fail "netns-rsh $n1 does not see $a1: $out"
  # Exit status and "connection failure" behave like ssh.
  local rc=0
  "$RSH" "$n2" 'exit 7' || rc=$?
  ((rc == 7)) || fail "netns-rsh did not pass exit status 7 (got $rc)"
  rc=0
  "$RSH" "${PREFIX}-none" true 2>/dev/null || rc=$?
  ((rc == 255)) || fail "netns-rsh to a missing host did not exit 255 (got $rc)"

  # 2. Slurm on them.
  local tu=$SECONDS
  "$SLURM" up "$STATE" "${hosts[@]}" || {
    fail "slurm.sh up"
    return 1
  }
  note "slurm up took $((SECONDS - tu)) s"
  # shellcheck source=/dev/null
  source "$STATE/env"
  cd "$STATE" # sbatch writes output files relative to the cwd

  # 3. A two-node job: one task on each node, each in its own namespace.
  cat >"$STATE/two.sh" <<'EOF'
#!/bin/sh
srun sh -c 'echo "$SLURM_PROCID $SLURM_NODEID $SLURMD_NODENAME $(ip -4 -o addr show dev eth0 | awk "{ sub(\"/.*\", \"\", \$4); print \$4 }")"'
EOF
  local j
  j="$(sbatch --parsable --nodes=2 --ntasks=2 -o "$STATE/two-%j.out" "$STATE/two.sh")"
  if wait_job_state "$j" 30 COMPLETED FAILED CANCELLED NODE_FAIL TIMEOUT; then
    [[ "$(job_state "$j")" == COMPLETED ]] || fail "two-node job $j ended $(job_state "$j")"
    local lines
    lines="$(grep -E '^[0-9]+ [0-9]+ ' "$STATE/two-$j.out" | sort || true)"
    note "two-node job output:"$'\n'"$lines"
    [[ "$lines" == "0 0 $n1 $a1"$'\n'"1 1 $n2 $a2" ]] ||
      fail "two-node job did not run one task per node: $(cat "$STATE/two-$j.out")"
  else
    fail "two-node job $j did not finish in 30 s"
  fi

  # 4. scancel --signal=USR2 --batch reaches a batch script that traps it.
  cat >"$STATE/usr2.sh" <<EOF
#!/bin/bash
trap 'echo "got USR2" > "$STATE/usr2.marker"; exit 0' USR2
echo ready > "$STATE/usr2.ready"
while :; do sleep 0.2; done
EOF
  j="$(sbatch --parsable --nodes=1 --ntasks=1 -o "$STATE/usr2-%j.out" "$STATE/usr2.sh")"
  if wait_file "$STATE/usr2.ready" 20; then
    scancel --signal=USR2 --batch "$j"
    if wait_file "$STATE/usr2.marker" 15; then
      wait_job_state "$j" 15 COMPLETED || fail "USR2 job $j did not complete after the trap ($(job_state "$j"))"
    else
      fail "batch script of job $j did not see USR2"
    fi
  else
    fail "USR2 job $j did not start"
  fi

  # 5. scontrol requeue: the same job runs again with SLURM_RESTART_COUNT=1.
  cat >"$STATE/requeue.sh" <<EOF
#!/bin/sh
echo "run \${SLURM_RESTART_COUNT:-0} on \$SLURMD_NODENAME" >> "$STATE/requeue.runs"
while :; do sleep 0.2; done
EOF
  j="$(sbatch --parsable --requeue --nodes=1 --ntasks=1 -o "$STATE/requeue-%j.out" "$STATE/requeue.sh")"
  if wait_file "$STATE/requeue.runs" 20 1; then
    local tr=$SECONDS
    scontrol requeue "$j"
    # A requeued job may start again only after AuthInfo cred_expire (10 s).
    if wait_file "$STATE/requeue.runs" 40 2; then
      note "requeued job restarted after $((SECONDS - tr)) s: $(tr '\n' ';' <"$STATE/requeue.runs")"
      grep -q '^run 1 ' "$STATE/requeue.runs" || fail "requeued job did not see SLURM_RESTART_COUNT=1"
      scontrol show job "$j" | grep -q 'Restarts=1' || fail "job $j does not show Restarts=1"
    else
      fail "requeued job $j did not run again ($(job_state "$j"))"
    fi
    scancel "$j"
    wait_job_state "$j" 15 CANCELLED || fail "requeued job $j not cancelled"
  else
    fail "requeue job $j did not start"
  fi

  # 6. A node dies: its job is requeued; the node returns when slurmd does.
  if [[ "${LOOM_SMOKE_SKIP_KILL_NODE:-0}" != 1 ]]; then
    j="$(sbatch --parsable --requeue -w "$n2" -o "$STATE/victim-%j.out" --wrap 'while :; do sleep 0.2; done')"
    wait_job_state "$j" 20 RUNNING || fail "victim job $j did not start"
    local tk=$SECONDS
    "$SLURM" kill-node "$STATE" "$n2" || fail "slurm.sh kill-node"
    [[ -z "$(ip netns pids "$n2")" ]] || fail "processes remain in $n2 after kill-node"
    local deadline=$((SECONDS + 40)) s=""
    while ((SECONDS < deadline)); do
      s="$(sinfo -h -n "$n2" -o %t)"
      [[ "$s" == down* ]] && break
      sleep 0.5
    done
    [[ "$s" == down* ]] || fail "$n2 not DOWN 40 s after kill-node (state $s)"
    note "$n2 DOWN $((SECONDS - tk)) s after kill-node; job $j is $(job_state "$j")"
    "$SLURM" start-node "$STATE" "$n2" || fail "slurm.sh start-node"
    deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
      s="$(sinfo -h -n "$n2" -o %t)"
      [[ "$s" == idle || "$s" == alloc || "$s" == mix ]] && break
      sleep 0.5
    done
    [[ "$s" == idle || "$s" == alloc || "$s" == mix ]] || fail "$n2 did not return after start-node (state $s)"
    scancel "$j" || true
  fi

  # 7. Tear down explicitly (on_exit checks for leftovers).
  local td=$SECONDS
  cd /
  cleanup
  note "down took $((SECONDS - td)) s; total $((SECONDS - t0)) s"
}

check_leftovers() {
  [[ -n "$STATE" ]] || return 0
  local after new
  after="$(daemon_snapshot)"
  new="$(comm -13 <(printf '%s\n' "$BEFORE") <(printf '%s\n' "$after") | sed '/^$/d')"
  [[ -z "$new" ]] || fail "daemons left running: $(ps -o pid=,comm= -p "$(echo "$new" | paste -sd,)" | tr '\n' ';')"
  local ns
  for ns in $(ip netns list | awk '{print $1}'); do
    [[ "$ns" == "$PREFIX"* ]] && fail "namespace $ns left behind"
  done
  if ip link show dev "$BRIDGE" >/dev/null 2>&1; then fail "bridge $BRIDGE left behind"; fi
  if ip -o link show | grep -q " v${PREFIX}[0-9]"; then fail "veth v$PREFIX* left behind"; fi
  [[ ! -s "$STATE/pids" ]] || fail "$STATE/pids still lists daemons"
  return 0
}

main "$@"
