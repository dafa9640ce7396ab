#!/usr/bin/env bash
# make cluster-test: Loom on several "hosts" (network namespaces on this machine, joined by a
# bridge, so traffic crosses real interfaces and CURVE is on), started once by the hostfile
# launcher and once by a real Slurm (slurmctld + one slurmd per namespace):
#   1. loom cluster up on 2 hosts (remote shell: netns-rsh), the time to start the workers;
#   2. the shrunk quickstart sweep across them, one host killed (kill -9) mid-sweep: no result
#      lost, none repeated, the lost attempts recorded;
#   3. the same 2 workers on 1 host vs on 2 hosts: the sweep's wall time;
#   4. the sharded attention's compute fraction as tc (tbf) slows the hosts' links;
#   5. sbatch of cluster/slurm/loom-experiment.sbatch on 2 nodes, one node killed mid-sweep;
#   6. USR2 to the batch step: the workers drain, the job requeues and finishes the experiment.
# Everything it starts is stopped on exit (also on Ctrl-C) and checked gone by PID.
# Needs root and network namespaces; otherwise it says why and skips (exit 0).
# Environment: LOOM (the loom executable), LOOM_CLUSTER_TEST_OUT (report folder, default
# .build/cluster-test), LOOM_CLUSTER_TEST_KEEP=1 keeps the work folder, LOOM_CLUSTER_TEST_SLURM=0
# leaves out the Slurm phases; LOOM_NETNS_PREFIX/BRIDGE/SUBNET choose other names (netns.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${LOOM_CLUSTER_TEST_OUT:-$root/.build/cluster-test}
loom=${LOOM:-}

say() { printf 'cluster-test: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

if [[ $(id -u) -ne 0 ]]; then
    say "SKIPPED: needs root (network namespaces, tc and a Slurm cluster are made by root); run 'sudo make cluster-test'"
    exit 0
fi
if ! reason=$("$here/netns.sh" check 2>&1); then
    say "SKIPPED: this machine does not allow network namespaces: $reason"
    exit 0
fi
[[ -n $loom && -x $loom ]] || fail "set LOOM to the loom executable (make cluster-test does)"

work=$(mktemp -d /tmp/loom-cluster-test.XXXXXX)
chmod 711 "$work"   # munged wants every folder above its socket searchable (not readable) by all
mkdir -p "$out"
: >"$out/report.md"
hosts_up=0
slurm_up=0
cluster_state=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    say "cleaning up"
    if [[ -n $cluster_state && -e $cluster_state/cluster.json ]]; then
        "$loom" cluster down --state "$cluster_state" --grace 3 >/dev/null 2>&1 || true
    fi
    if (( slurm_up )); then "$here/slurm.sh" down "$work/slurm" || status=1; fi
    # Whatever still runs in the test namespaces (a worker of a failed step) goes before them.
    for name in "${host_names[@]:-}"; do
        [[ -n $name && -e /run/netns/$name ]] || continue
        ip netns pids "$name" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    done
    if (( hosts_up )); then "$here/netns.sh" down "$work/netns" || status=1; fi
    # Any process whose command line names the work folder is one this test started.
    local left=() file args
    for file in /proc/[0-9]*/cmdline; do
        mapfile -d '' args <"$file" 2>/dev/null || continue
        [[ "${args[*]:-}" == *"$work"* ]] && { left+=("$(basename "$(dirname "$file")")"); }
    done
    if (( ${#left[@]} )); then
        say "processes left behind: ${left[*]}"; kill -9 "${left[@]}" 2>/dev/null || true; status=1
    fi
    if [[ ${LOOM_CLUSTER_TEST_KEEP:-0} == 1 ]]; then say "kept $work"; else rm -rf "$work"; fi
    (( status == 0 )) && say "PASSED; report in $out/report.md" || say "FAILED (status $status); report so far in $out/report.md"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

report() { printf '%s\n' "$*" >>"$out/report.md"; }

# --- hosts --------------------------------------------------------------------------------------
host_names=()
host_addresses=()
started=$(now)
hosts_up=1   # set first: down removes whatever part of up got made
while read -r name address; do
    host_names+=("$name"); host_addresses+=("$address")
done < <("$here/netns.sh" up "$work/netns" 2)
(( ${#host_names[@]} == 2 )) || fail "netns.sh made ${#host_names[@]} hosts, expected 2"
head_address=${LOOM_NETNS_SUBNET:-10.231.0}.1
say "hosts ${host_names[*]} (${host_addresses[*]}) on a bridge; this machine is $head_address ($(since "$started") s)"
h1=${host_names[0]}; h2=${host_names[1]}

report "# Loom cluster test, $(date -u +%Y-%m-%dT%H:%MZ)"
report ""
report "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'). Hosts are network namespaces"
report "on one bridge: traffic crosses veth interfaces and CURVE is on; the hosts share this machine's cores."
report ""

# The sweep: quickstart shrunk to 2 sequence lengths (4 schedules x 2 lengths x causal or not x 2 repeats).
sweep=("$root/experiments/quickstart.yaml" "tokens=[1024,2048]" "repeat=2")
sweep_runs=32

rsh=$here/netns-rsh
up_options=()
up() { # up STATE HOSTFILE-TEXT: sets cluster_state, and up_seconds to the time it took
    printf '%s\n' "$2" >"$work/hosts"
    local t0; t0=$(now)
    "$loom" cluster up --hostfile "$work/hosts" --rsh "$rsh" --address "$head_address" --state "$1" \
        --remote-dir "$work/remote" --heartbeat-ms 200 --liveness 5 --timeout 60 "${up_options[@]}" >"$work/endpoint" 2>>"$work/up.log" \
        || { cat "$work/up.log" >&2; fail "loom cluster up"; }
    cluster_state=$1
    up_seconds=$(since "$t0")
}
down() {
    "$loom" cluster down --state "$cluster_state" --grace 5 2>>"$work/up.log" || { cat "$work/up.log" >&2; fail "loom cluster down"; }
    cluster_state=""
}
run_sweep() { # run_sweep STORE [extra args] -> wall seconds
    local store=$1; shift
    local t0; t0=$(now)
    "$loom" run "${sweep[@]}" "$@" --connect "$(cat "$work/endpoint")" --curve --keys "$cluster_state/keys" --key coordinator \
        --state "$store" --no-report --quiet >>"$work/run.log" 2>&1 || { tail -20 "$work/run.log" >&2; fail "loom run on the cluster"; }
    since "$t0"
}
succeeded() { # succeeded DB -> runs succeeded so far
    [[ -e $1 ]] || { echo 0; return; }
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("SELECT COUNT(*) FROM run WHERE status=\"SUCCEEDED\"").fetchone()[0])' "$1" 2>/dev/null || echo 0
}
running_on() { # running_on DB HOST -> attempts running on that host's workers now
    [[ -e $1 ]] || { echo 0; return; }
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("SELECT COUNT(*) FROM attempt WHERE status=\"RUNNING\" AND workers LIKE ?", ("%"+sys.argv[2]+"%",)).fetchone()[0])' "$1" "$2" 2>/dev/null || echo 0
}

# --- 1 and 2: hostfile launcher, a host killed mid-sweep ----------------------------------------
report "## Hostfile launcher ('loom cluster up', remote shell netns-rsh)"
report ""
report "| workers per host x hosts | up until all registered, s | down, s |"
report "|---|---|---|"
for per_host in 1 4 8; do
    up "$work/cluster" "$h1 slots=$per_host
$h2 slots=$per_host"
    t0=$(now); down; down_seconds=$(since "$t0")
    say "loom cluster up: $(( 2 * per_host )) workers on 2 hosts registered in $up_seconds s, down in $down_seconds s"
    report "| $per_host x 2 | $up_seconds | $down_seconds |"
done
report ""
up "$work/cluster" "$h1 slots=2
$h2 slots=2"

store="$work/store-kill"
run_sweep "$store" >"$work/kill.seconds" &
sweep_pid=$!
deadline=$(( SECONDS + 120 ))
until (( $(succeeded "$store/loom.db") >= 4 )) && (( $(running_on "$store/loom.db" "$h2") >= 1 )); do
    (( SECONDS < deadline )) || fail "the sweep did not get going on $h2 within 120 s"
    kill -0 "$sweep_pid" 2>/dev/null || fail "the sweep ended before $h2 could be killed"
    sleep 0.05
done
done_before=$(succeeded "$store/loom.db")
victims=$(ip netns pids "$h2" | tr '\n' ' ')
kill -9 $victims
say "killed host $h2 (pids $victims) after $done_before runs"
wait "$sweep_pid" || fail "the sweep failed after $h2 was killed"
check=$(python3 "$here/store-check.py" "$store/loom.db" "$sweep_runs" --lost-at-least 1) || fail "after killing $h2: $check"
say "after the kill: $check"
report "- Host $h2 killed (kill -9 of its workers) after $done_before of $sweep_runs runs: the sweep finished in $(cat "$work/kill.seconds") s on $h1;"
report "  store check: \`$check\`."
down

# --- 3: the same 2 workers on 1 host and on 2 hosts ---------------------------------------------
report ""
report "## The sweep ($sweep_runs runs of attention.sharded, gangs of 2) on the same 2 workers"
report ""
report "| placement | wall time, s (3 runs) |"
report "|---|---|"
for placement in one two; do
    if [[ $placement == one ]]; then up "$work/cluster" "$h1 slots=2"; else up "$work/cluster" "$h1
$h2"; fi
    times=()
    for i in 1 2 3; do times+=("$(run_sweep "$work/store-$placement-$i")"); done
    say "2 workers on $placement host(s): ${times[*]} s"
    report "| 2 workers on $placement host(s) | ${times[*]} |"
    [[ $placement == one ]] && down
done

# --- 4: compute fraction as the links slow (the 2-host cluster is still up) ---------------------
report ""
report "## Compute fraction of ring attention (N = 4096, H = 8, d = 64) as tc tbf limits both hosts' links"
report ""
report "| link limit | compute fraction (rank 0) | wall s |"
report "|---|---|---|"
: >"$out/throttled.dat"
limit() { # limit RATE|none: shape each host's egress (both directions of every cross-host byte)
    for name in "$h1" "$h2"; do
        nsenter --net="/run/netns/$name" tc qdisc del dev eth0 root 2>/dev/null || true
        [[ $1 == none ]] || nsenter --net="/run/netns/$name" tc qdisc add dev eth0 root tbf rate "$1" burst 256kb latency 400ms
    done
}
for rate in none 2gbit 500mbit 100mbit 30mbit; do
    limit "$rate"
    store="$work/store-tc-$rate"
    "$loom" run "$root/experiments/quickstart.yaml" "algorithm=[ring]" "tokens=[4096]" "causal=[false]" repeat=1 \
        --connect "$(cat "$work/endpoint")" --curve --keys "$cluster_state/keys" --key coordinator --state "$store" \
        --no-report --quiet >>"$work/run.log" 2>&1 || { limit none; fail "throttled run at $rate"; }
    read -r fraction wall < <(python3 - "$store/loom.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
row = lambda name: db.execute("SELECT value FROM metric WHERE name = ? ORDER BY run_id LIMIT 1", (name,)).fetchone()
fraction, wall = row("compute_fraction"), row("wall_s") or row("seconds")
print(f"{fraction[0]:.3f}" if fraction else "nan", f"{wall[0]:.3f}" if wall else "nan")
PY
)
    say "link $rate: compute fraction $fraction, wall $wall s"
    report "| $rate | $fraction | $wall |"
    mbits=$(case $rate in none) echo 0;; *gbit) echo $(( ${rate%gbit} * 1000 ));; *mbit) echo "${rate%mbit}";; esac)
    printf '%s %s %s\n' "$mbits" "$fraction" "$rate" >>"$out/throttled.dat"
done
limit none
down

# --- artifacts without a shared filesystem -------------------------------------------------------
# Each host sees its own tmpfs at $work/private (a private mount namespace per remote command), so
# a file a worker writes there exists on its host only: the store must get it inside the result.
mkdir -p "$work/private"
cat >"$work/private-rsh" <<RSH
#!/bin/sh
exec unshare --mount --propagation private /bin/sh -c 'mount -t tmpfs loom-private "\$0" && exec "\$@"' "$work/private" "$here/netns-rsh" "\$@"
RSH
chmod 755 "$work/private-rsh"
rsh=$work/private-rsh up_options=(--test-kinds)
up "$work/cluster" "$h1
$h2"
rsh=$here/netns-rsh up_options=()
printf 'name: carried\ndescription: files written where the runner cannot see them\ntask: artifact\nparams: {path: %s, bytes: 300000, seed: [1, 2, 3, 4]}\n' \
    "$work/private/out.bin" >"$work/carried.yaml"
store="$work/store-carried"
"$loom" run "$work/carried.yaml" --test-kinds --connect "$(cat "$work/endpoint")" --curve --keys "$cluster_state/keys" --key coordinator \
    --state "$store" --no-report --quiet >>"$work/run.log" 2>&1 || { tail -20 "$work/run.log" >&2; fail "the artifact runs"; }
down
[[ ! -e $work/private/out.bin ]] || fail "the hosts' private folders were not private: the test proves nothing"
carried=$(python3 - "$store/loom.db" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = db.execute("SELECT path, sha256, bytes FROM artifact ORDER BY run_id").fetchall()
good = sum(1 for path, digest, size in rows
           if size == 300000 and hashlib.sha256(open(path, "rb").read()).hexdigest() == digest)
distinct = len({digest for _, digest, _ in rows})
missing = db.execute("SELECT COUNT(*) FROM event WHERE kind = 'artifact'").fetchone()[0]
print(f"{good} {distinct} {missing}")
PY
)
read -r good distinct missing <<<"$carried"
[[ $good == 4 && $distinct == 4 && $missing == 0 ]] || fail "artifacts carried: $good of 4 stored intact, $distinct distinct, $missing not copied"
say "artifacts without a shared filesystem: 4 of 4 files of 300,000 bytes stored intact from the results"
report ""
report "## Artifacts without a shared filesystem"
report ""
report "- 4 runs of the test kind 'artifact' wrote 300,000-byte files into a folder private to their host (a tmpfs"
report "  in the host's own mount namespace); all 4 reached the store inside the results, intact (SHA-256 checked)."

if command -v gnuplot >/dev/null; then
    gnuplot <<GP 2>>"$work/run.log" || say "gnuplot could not draw the figure"
set terminal svg size 640,400 dynamic enhanced font "sans,12"
set output "$out/throttled.svg"
set title "Ring attention across 2 hosts: compute fraction as the link slows"
set xlabel "link limit (Mbit/s, tc tbf on each host's egress)"
set ylabel "compute / wall (rank 0)"
set logscale x
set yrange [0:1.05]
set grid
plot "< awk '\$1 > 0' $out/throttled.dat" using 1:2 with linespoints lw 2 pt 7 title "ring, N = 4096", \
     "< awk '\$1 == 0' $out/throttled.dat" using (20000):2 with points pt 9 ps 1.5 title "no limit (drawn at 20 Gbit/s)"
GP
    report ""
    report "Figure: throttled.svg (data: throttled.dat, columns: Mbit/s, compute fraction; 0 = no limit)."
fi

# --- 5 and 6: Slurm ------------------------------------------------------------------------------
if [[ ${LOOM_CLUSTER_TEST_SLURM:-1} == 0 ]]; then
    say "Slurm phases skipped (LOOM_CLUSTER_TEST_SLURM=0)"
    report ""
    report "Slurm phases skipped (LOOM_CLUSTER_TEST_SLURM=0)."
    exit 0
fi
"$here/slurm.sh" install
slurm_started=$(now)
slurm_up=1
"$here/slurm.sh" up "$work/slurm" "$h1=${host_addresses[0]}" "$h2=${host_addresses[1]}"
say "Slurm up with nodes $h1 $h2 in $(since "$slurm_started") s"
# shellcheck disable=SC1091
source "$work/slurm/env"

wait_job() { # wait_job ID SECONDS -> final state; PENDING/RUNNING/REQUEUED/PREEMPTED/... are not final
    local id=$1 end=$(( SECONDS + $2 )) state
    while (( SECONDS < end )); do
        state=$(scontrol show job "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 || true)
        case $state in
            COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) echo "$state"; return 0 ;;
        esac
        sleep 0.5
    done
    echo "STILL_${state:-UNKNOWN}"
}
submit() { # submit NAME STORE EXPERIMENT [overrides] -> job id
    local name=$1 store=$2; shift 2
    sbatch --parsable --job-name="$name" --nodes=2 --ntasks-per-node=2 --chdir="$work" --output="$work/$name.out" \
        --export="ALL,LOOM=$loom,LOOM_STATE=$store,LOOM_JOB_DIR=$work/job-$name,LOOM_DRAIN_SECONDS=20" \
        "$root/cluster/slurm/loom-experiment.sbatch" "$@"
}

report ""
report "## Slurm (slurm-wlm, slurmctld + one slurmd per host), cluster/slurm/loom-experiment.sbatch"
report ""
store="$work/store-slurm"
t0=$(now)
job=$(submit sweep "$store" "${sweep[@]}")
deadline=$(( SECONDS + 180 ))
until (( $(succeeded "$store/loom.db") >= 4 )) && (( $(running_on "$store/loom.db" "$h2/") >= 1 )); do
    (( SECONDS < deadline )) || { cat "$work/sweep.out" >&2; fail "the Slurm sweep did not get going on $h2"; }
    sleep 0.05
done
done_before=$(succeeded "$store/loom.db")
"$here/slurm.sh" kill-node "$work/slurm" "$h2"
say "killed node $h2 (slurmd and workers) after $done_before runs of job $job"
state=$(wait_job "$job" 300)
wall=$(since "$t0")
[[ $state == COMPLETED ]] || { cat "$work/sweep.out" >&2; fail "job $job ended $state"; }
check=$(python3 "$here/store-check.py" "$store/loom.db" "$sweep_runs" --lost-at-least 1 --slurm) || fail "Slurm sweep: $check"
say "Slurm sweep: $check"
run_wall=$(grep -o 'loom run ended with status 0 after [0-9]* s' "$work/sweep.out" | grep -o '[0-9]* s$' || echo "? s")
report "- Job $job: the sweep on 2 nodes x 2 tasks, node $h2 killed (slurmd and workers, kill -9) after $done_before runs;"
report "  'loom run' finished in $run_wall, the job COMPLETED $wall s after sbatch (srun waits for the dead node's tasks"
report "  until the script gives up on them). Store check: \`$check\`."
"$here/slurm.sh" start-node "$work/slurm" "$h2"

# USR2: drain, requeue, resume. Tasks of 1.5 s so the signal lands mid-way.
printf 'name: drain\ndescription: sleeps that a USR2 interrupts\ntask: sleep\nparams: {seconds: 1.5}\nrepeat: 16\n' >"$work/drain.yaml"
store="$work/store-usr2"
job=$(submit drain "$store" "$work/drain.yaml")
deadline=$(( SECONDS + 180 ))
until (( $(succeeded "$store/loom.db") >= 4 )); do
    (( SECONDS < deadline )) || { cat "$work/drain.out" >&2; fail "the drain job did not start"; }
    sleep 0.1
done
scancel --signal=USR2 --batch "$job"
say "sent USR2 to the batch step of job $job after $(succeeded "$store/loom.db") runs"
state=$(wait_job "$job" 300)
[[ $state == COMPLETED ]] || { cat "$work/drain.out" >&2; fail "job $job ended $state after USR2"; }
grep -q "requeueing job $job" "$work/drain.out" || { cat "$work/drain.out" >&2; fail "job $job did not requeue itself on USR2"; }
grep -q "restart 1 " "$work/drain.out" || { cat "$work/drain.out" >&2; fail "job $job did not start again after the requeue"; }
check=$(python3 "$here/store-check.py" "$store/loom.db" 16 --slurm) || fail "after USR2: $check"
say "after USR2 and requeue: $check"
report "- Job $job (16 sleeps of 1.5 s): USR2 to the batch step mid-way; the workers drained, the job requeued itself,"
report "  started again (restart 1) and finished the experiment from the store. Store check: \`$check\`."
