#!/usr/bin/env bash
# Test "hosts" as Linux network namespaces on this one machine.
#
#   netns.sh up STATE_DIR N     create N namespaces on a bridge; prints "NAME ADDRESS" per host
#   netns.sh down STATE_DIR     remove exactly what `up` recorded in STATE_DIR/netns.state
#   netns.sh check              exit 0 if this machine allows it, else say why and exit 3
#   netns.sh exec NAME CMD...   run CMD in namespace NAME (nsenter, not `ip netns exec`)
#
# Environment: LOOM_NETNS_PREFIX (loomh), LOOM_NETNS_BRIDGE (loombr0),
# LOOM_NETNS_SUBNET (10.231.0: bridge .1, host i gets .(10+i)).
# Needs root. Callers should `trap '... down ...' EXIT INT TERM`.
set -euo pipefail

PREFIX="${LOOM_NETNS_PREFIX:-loomh}"
BRIDGE="${LOOM_NETNS_BRIDGE:-loombr0}"
SUBNET="${LOOM_NETNS_SUBNET:-10.231.0}"
NETNS_DIR=/run/netns

die() { # die CODE MESSAGE
  printf 'netns.sh: %s\n' "$2" >&2
  exit "$1"
}

usage() {
  cat >&2 <<'EOF'
usage: netns.sh up STATE_DIR N
       netns.sh down STATE_DIR
       netns.sh check
       netns.sh exec NAME CMD...
EOF
  exit 2
}

# A name we hand to ip/nsenter must be a plain word: no path tricks, no options.
valid_name() {
  [[ "$1" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] && [[ "$1" != *..* ]]
}

netns_exists() { [[ -e "$NETNS_DIR/$1" ]]; }
link_exists() { ip link show dev "$1" >/dev/null 2>&1; }

is_mountpoint() { # is_mountpoint DIR (no dependency on util-linux mountpoint)
  local dir="$1" _id _pid _maj _root mnt _rest
  while read -r _id _pid _maj _root mnt _rest; do
    [[ "$mnt" == "$dir" ]] && return 0
  done </proc/self/mountinfo
  return 1
}

# `ip netns add` creates /run/netns and bind-mounts it onto itself the first
# time. Remember whether that was us so `down` undoes only our own mount.
snapshot_netns_dir() {
  NETNS_DIR_EXISTED=0
  NETNS_DIR_MOUNTED=0
  [[ -d "$NETNS_DIR" ]] && NETNS_DIR_EXISTED=1
  is_mountpoint "$NETNS_DIR" && NETNS_DIR_MOUNTED=1
  return 0
}

# Undo the /run/netns mount/dir if we created them and nothing else uses them.
release_netns_dir() { # release_netns_dir CREATED_MOUNT CREATED_DIR
  local created_mount="$1" created_dir="$2"
  [[ -d "$NETNS_DIR" ]] || return 0
  if [[ -n "$(ls -A "$NETNS_DIR" 2>/dev/null)" ]]; then
    return 0 # someone else's namespaces live there
  fi
  if [[ "$created_mount" == 1 ]] && is_mountpoint "$NETNS_DIR"; then
    umount "$NETNS_DIR" 2>/dev/null || umount -l "$NETNS_DIR" 2>/dev/null || true
  fi
  if [[ "$created_dir" == 1 ]] && ! is_mountpoint "$NETNS_DIR"; then
    rmdir "$NETNS_DIR" 2>/dev/null || true
  fi
}

record() { # record STATE_FILE KIND NAME -- append after the object exists
  printf '%s %s\n' "$2" "$3" >>"$1"
}

up_exit() {
  local rc=$?
  if [[ "${UP_DONE:-1}" == 0 ]]; then
    printf 'netns.sh: up failed; removing what it created\n' >&2
    cmd_down "$UP_STATE_DIR" >/dev/null 2>&1 || true
  fi
  exit "$rc"
}

cmd_up() {
  [[ $# -eq 2 ]] || usage
  local state_dir="$1" n="$2"
  if ! [[ "$n" =~ ^[1-9][0-9]*$ ]] || ((n > 200)); then die 2 "N must be 1..200, got '$n'"; fi
  [[ "$SUBNET" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die 2 "bad LOOM_NETNS_SUBNET '$SUBNET'"
  valid_name "$PREFIX" || die 2 "bad LOOM_NETNS_PREFIX '$PREFIX'"
  valid_name "$BRIDGE" || die 2 "bad LOOM_NETNS_BRIDGE '$BRIDGE'"
  ((${#BRIDGE} <= 15)) || die 2 "bridge name '$BRIDGE' longer than 15 characters"
  ((EUID == 0)) || die 2 "must run as root"

  mkdir -p "$state_dir"
  local state="$state_dir/netns.state"
  if [[ -s "$state" ]]; then
    die 2 "$state already lists objects; run 'netns.sh down $state_dir' first"
  fi

  # Refuse before creating anything if a name is taken: we must never adopt
  # (and later delete) objects that are not ours.
  local i name veth
  link_exists "$BRIDGE" && die 2 "link '$BRIDGE' already exists"
  for ((i = 1; i <= n; i++)); do
    name="$PREFIX$i"
    veth="v$name" # root end; must fit IFNAMSIZ (15)
    ((${#veth} <= 15)) || die 2 "interface name '$veth' longer than 15 characters"
    netns_exists "$name" && die 2 "network namespace '$name' already exists"
    link_exists "$veth" && die 2 "link '$veth' already exists"
  done

  snapshot_netns_dir
  : >"$state"
  # On any failure or interrupt half-way, remove what we made so far.
  UP_STATE_DIR="$state_dir"
  UP_DONE=0
  trap 'up_exit' EXIT
  trap 'exit 130' INT TERM

  ip link add name "$BRIDGE" type bridge
  record "$state" bridge "$BRIDGE"
  ip addr add "$SUBNET.1/24" dev "$BRIDGE"
  ip link set dev "$BRIDGE" up

  for ((i = 1; i <= n; i++)); do
    name="$PREFIX$i"
    veth="v$name"
    ip netns add "$name"
    record "$state" netns "$name"
    if ((i == 1)); then
      # Only the first `ip netns add` can have created the dir or the mount.
      if ((NETNS_DIR_EXISTED == 0)); then record "$state" created-dir "$NETNS_DIR"; fi
      if ((NETNS_DIR_MOUNTED == 0)) && is_mountpoint "$NETNS_DIR"; then
        record "$state" created-mount "$NETNS_DIR"
      fi
    fi
    # Create the pair with its far end directly inside the namespace as eth0.
    ip link add name "$veth" type veth peer name eth0 netns "$name"
    record "$state" veth "$veth"
    ip link set dev "$veth" master "$BRIDGE"
    ip link set dev "$veth" up
    ip -n "$name" link set dev lo up
    ip -n "$name" addr add "$SUBNET.$((10 + i))/24" dev eth0
    ip -n "$name" link set dev eth0 up
    ip -n "$name" route add default via "$SUBNET.1"
  done
  UP_DONE=1
  trap - INT TERM

  for ((i = 1; i <= n; i++)); do
    printf '%s %s\n' "$PREFIX$i" "$SUBNET.$((10 + i))"
  done
}

cmd_down() {
  [[ $# -eq 1 ]] || usage
  local state="$1/netns.state"
  [[ -f "$state" ]] || return 0 # nothing recorded: nothing to do

  local kind name created_mount=0 created_dir=0
  local -a netns=() veths=() bridges=()
  while read -r kind name; do
    [[ -n "${kind:-}" ]] || continue
    # Only act on names we could have written; ignore anything else.
    case "$kind" in
      netns) valid_name "$name" && netns+=("$name") ;;
      veth) valid_name "$name" && veths+=("$name") ;;
      bridge) valid_name "$name" && bridges+=("$name") ;;
      created-mount) [[ "$name" == "$NETNS_DIR" ]] && created_mount=1 ;;
      created-dir) [[ "$name" == "$NETNS_DIR" ]] && created_dir=1 ;;
    esac
  done <"$state"

  # Namespaces first (processes may keep a namespace alive, so the veth is
  # also deleted explicitly from the root end, which removes both ends).
  for name in ${netns[@]+"${netns[@]}"}; do
    if netns_exists "$name"; then ip netns del "$name" 2>/dev/null || true; fi
  done
  for name in ${veths[@]+"${veths[@]}"}; do
    if link_exists "$name"; then ip link del dev "$name" 2>/dev/null || true; fi
  done
  for name in ${bridges[@]+"${bridges[@]}"}; do
    if link_exists "$name"; then ip link del dev "$name" 2>/dev/null || true; fi
  done
  release_netns_dir "$created_mount" "$created_dir"

  # Confirm; keep the state file if anything survived so a retry can finish.
  local left=()
  for name in ${netns[@]+"${netns[@]}"}; do netns_exists "$name" && left+=("netns $name"); done
  for name in ${veths[@]+"${veths[@]}"} ${bridges[@]+"${bridges[@]}"}; do
    link_exists "$name" && left+=("link $name")
  done
  if ((${#left[@]} > 0)); then
    die 1 "could not remove: ${left[*]}"
  fi
  rm -f "$state"
}

cmd_check() {
  [[ $# -eq 0 ]] || usage
  local why=()
  ((EUID == 0)) || why+=("not root (uid $EUID)")
  local tool
  for tool in ip nsenter; do
    command -v "$tool" >/dev/null 2>&1 || why+=("'$tool' not found")
  done
  if ((${#why[@]} == 0)); then
    local probe="loomchk$$" err
    snapshot_netns_dir
    local had_dir="$NETNS_DIR_EXISTED" had_mount="$NETNS_DIR_MOUNTED"
    if err="$(ip netns add "$probe" 2>&1)"; then
      # Remember what the probe created so it can be undone like `down`.
      local cm=0 cd=0
      ((had_mount == 0)) && is_mountpoint "$NETNS_DIR" && cm=1
      ((had_dir == 0)) && cd=1
      if ! err="$(nsenter --net="$NETNS_DIR/$probe" true 2>&1)"; then
        why+=("nsenter --net into a namespace failed: $err")
      fi
      if ! err="$(ip netns del "$probe" 2>&1)"; then why+=("ip netns del failed: $err"); fi
      release_netns_dir "$cm" "$cd"
    else
      why+=("ip netns add failed: $err")
    fi
    if err="$(ip link add name "$probe" type bridge 2>&1)"; then
      ip link del dev "$probe" 2>/dev/null || why+=("ip link del of a bridge failed")
    else
      why+=("ip link add type bridge failed: $err")
    fi
    if err="$(ip link add name "${probe}a" type veth peer name "${probe}b" 2>&1)"; then
      ip link del dev "${probe}a" 2>/dev/null || why+=("ip link del of a veth failed")
    else
      why+=("ip link add type veth failed: $err")
    fi
  fi
  if ((${#why[@]} > 0)); then
    local w
    for w in "${why[@]}"; do printf 'netns.sh check: %s\n' "$w" >&2; done
    exit 3
  fi
}

cmd_exec() {
  [[ $# -ge 2 ]] || usage
  local name="$1"
  shift
  valid_name "$name" || die 2 "bad namespace name '$name'"
  netns_exists "$name" || die 2 "no network namespace '$name'"
  # nsenter keeps /sys and the mount namespace as they are (ip netns exec
  # remounts /sys, which confuses slurmd).
  exec nsenter --net="$NETNS_DIR/$name" -- "$@"
}

main() {
  [[ $# -ge 1 ]] || usage
  local sub="$1"
  shift
  case "$sub" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    check) cmd_check "$@" ;;
    exec) cmd_exec "$@" ;;
    *) usage ;;
  esac
}

main "$@"
