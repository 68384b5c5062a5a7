#!/usr/bin/env bash
# scripts/services.sh — throw-away PostgreSQL, Redis, Redis Cluster and Kafka for Skewless tests.
#
#   scripts/services.sh up [service ...]      install if missing, start, wait until ready
#   scripts/services.sh down [service ...]    stop what this script started, delete its data
#   scripts/services.sh env                   print `export ...` lines for eval
#   scripts/services.sh status [service ...]  one line per service: running/stopped/unhealthy
#   scripts/services.sh classpath             print the Kafka classpath (for console tools)
#   scripts/services.sh browser               install Debian's chromium if missing (dashboard e2e test)
#   services: postgres, redis, kafka, redis-cluster (3 local nodes); none named means all four
#
# Everything listens on 127.0.0.1 only and on NON-default ports, so it never collides with a
# developer's own Postgres/Redis/Kafka and is never reachable from outside the machine.
# All data is disposable: every start begins from an empty data directory, and `down` deletes it.
# See docs/services.md for the longer story.
set -euo pipefail

# ---------------------------------------------------------------------------------------------
# Configuration (every knob is an env var so CI and developers can move things around).
# ---------------------------------------------------------------------------------------------
PG_PORT="${SKEWLESS_PG_PORT:-54329}"
REDIS_PORT="${SKEWLESS_REDIS_PORT:-63799}"
KAFKA_PORT="${SKEWLESS_KAFKA_PORT:-19092}"
# The KRaft controller needs a second port; keep it next to the broker port unless told otherwise.
KAFKA_CONTROLLER_PORT="${SKEWLESS_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
# Redis Cluster nodes listen on PORT, PORT+1 and PORT+2.
REDIS_CLUSTER_PORT="${SKEWLESS_REDIS_CLUSTER_PORT:-63801}"
# Each cluster node also needs a cluster-bus port. Redis' default is port + 10000, which for
# 63801 would be 73801: no valid TCP port, and Redis refuses to start. So we set the bus ports
# explicitly, by default right next to the node ports (63811..63813), which also keeps them out
# of Linux's default ephemeral range (32768-60999) like the node ports.
REDIS_CLUSTER_BUS_PORT="${SKEWLESS_REDIS_CLUSTER_BUS_PORT:-$((REDIS_CLUSTER_PORT + 10))}"

RUN_DIR="${SKEWLESS_SERVICES_RUN:-${TMPDIR:-/tmp}/skewless-services}"
RUN_DIR="${RUN_DIR%/}"
CACHE_DIR="${SKEWLESS_CACHE:-$HOME/.cache/skewless}"
CACHE_DIR="${CACHE_DIR%/}"
# Upper bound for "wait until the service answers"; a healthy cold start takes a few seconds,
# so hitting this means something is broken and we would rather say so than hang a CI run.
TIMEOUT="${SKEWLESS_SERVICES_TIMEOUT:-90}"
KAFKA_HEAP_OPTS="${SKEWLESS_KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"

# Kafka versions to try, newest first. 4.3.1 is pinned (rather than "whatever is newest today")
# so every machine runs the same broker. 4.4.0 is listed in Maven Central's metadata for
# kafka_2.13 but its dependencies kafka-tools-api/kafka-tools 4.4.0 are not published, so it
# cannot be resolved. Later entries are fallbacks only in case a version cannot be resolved.
# SKEWLESS_KAFKA_VERSION=x.y.z selects exactly one version.
KAFKA_VERSIONS="${SKEWLESS_KAFKA_VERSION:-4.3.1 4.2.1 4.1.2 4.0.2}"
# Kafka 4.x logs through slf4j 1.7 -> log4j2, but the Maven artifacts do not ship a binding.
# We add log4j-slf4j-impl (the slf4j-1.x binding) and pin log4j-core/-api to the same version
# so the three always match (the one Kafka 4.3.1 itself uses).
LOG4J_VERSION="${SKEWLESS_LOG4J_VERSION:-2.25.4}"
MAVEN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

ALL_SERVICES=(postgres redis kafka redis-cluster)

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
# Messages go to stderr so that `eval "$(scripts/services.sh env)"` only ever sees exports.
log() { printf '[services] %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}
is_root() { [ "$(id -u)" -eq 0 ]; }

for _p in PG_PORT REDIS_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT REDIS_CLUSTER_PORT \
  REDIS_CLUSTER_BUS_PORT TIMEOUT; do
  [[ "${!_p}" =~ ^[0-9]+$ ]] || die "$_p must be a number, got '${!_p}'"
done
# The cluster uses two ranges of three ports each; catch impossible settings here rather than
# as a cryptic Redis start-up failure.
if ((REDIS_CLUSTER_PORT + 2 > 65535 || REDIS_CLUSTER_BUS_PORT + 2 > 65535)); then
  die "SKEWLESS_REDIS_CLUSTER_PORT/SKEWLESS_REDIS_CLUSTER_BUS_PORT: each needs 3 ports below 65536 (got $REDIS_CLUSTER_PORT and $REDIS_CLUSTER_BUS_PORT)"
fi
if ((REDIS_CLUSTER_BUS_PORT <= REDIS_CLUSTER_PORT + 2 && REDIS_CLUSTER_BUS_PORT + 2 >= REDIS_CLUSTER_PORT)); then
  die "the Redis Cluster node ports ($REDIS_CLUSTER_PORT..$((REDIS_CLUSTER_PORT + 2))) and bus ports ($REDIS_CLUSTER_BUS_PORT..$((REDIS_CLUSTER_BUS_PORT + 2))) overlap"
fi

# True if something accepts TCP connections on 127.0.0.1:$1. Uses bash's /dev/tcp so that no
# netcat is needed; `timeout` keeps a filtered port from stalling us.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Print the pid stored in pid file $1 if that process is alive AND its command line contains
# $2. The command-line check protects against pid reuse: a stale pid file must never make us
# report (or kill!) some unrelated process that happens to have the same pid now.
live_pid() {
  local file=$1 pattern=$2 pid
  [ -r "$file" ] || return 1
  pid=$(head -n 1 "$file" 2>/dev/null | tr -dc '0-9')
  [ -n "$pid" ] || return 1
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern" || return 1
  else
    kill -0 "$pid" 2>/dev/null || return 1
  fi
  echo "$pid"
}

# True once process $1 has exited. A zombie counts as exited: where nothing reaps orphans
# (some container init processes do not), /proc/PID stays around although the process is done.
pid_gone() {
  local state
  if [ -r "/proc/$1/stat" ]; then
    state=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
    [ "$state" = Z ]
    return
  fi
  ! kill -0 "$1" 2>/dev/null
}

# Stop the process in pid file $1 (cmdline must match $2) with signal $3, wait up to $4
# seconds, then SIGKILL. A missing or stale pid file is not an error: nothing to stop.
stop_pidfile() {
  local file=$1 pattern=$2 sig=$3 grace=$4 pid i
  if ! pid=$(live_pid "$file" "$pattern"); then
    [ -e "$file" ] && log "removing stale pid file $file"
    rm -f "$file"
    return 0
  fi
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 5; i++)); do
    if pid_gone "$pid"; then
      rm -f "$file"
      return 0
    fi
    sleep 0.2
  done
  log "pid $pid did not exit within ${grace}s after SIG$sig; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 25; i++)); do
    if pid_gone "$pid"; then break; fi
    sleep 0.2
  done
  rm -f "$file"
}

# Explain a failed start: the first error lines of log file $1 (a JVM that dies while other
# threads keep logging buries its real error far above the last lines), then the tail.
show_failure_log() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    if grep -qE 'ERROR|FATAL|PANIC|Exception|Caused by' "$f"; then
      log "first error lines of $f:"
      grep -m 8 -E 'ERROR|FATAL|PANIC|Exception|Caused by' "$f" | cut -c1-400 >&2
    fi
    log "last lines of $f:"
    tail -n 25 "$f" | cut -c1-400 >&2
  done
}

# Poll until `$2` succeeds (ready) or `$3` succeeds (process died) or TIMEOUT passes.
# On failure show the log files $4... so the reason is visible right in the CI output.
wait_ready() {
  local name=$1 ready_fn=$2 dead_fn=$3 start=$SECONDS
  shift 3 # the rest: log files to show on failure
  while ((SECONDS - start < TIMEOUT)); do
    if "$ready_fn"; then
      log "$name ready after $((SECONDS - start))s"
      return 0
    fi
    if "$dead_fn"; then
      log "ERROR: $name exited during start-up"
      show_failure_log "$@"
      return 1
    fi
    sleep 0.2
  done
  log "ERROR: $name did not become ready within ${TIMEOUT}s"
  show_failure_log "$@"
  return 1
}

# Start "$@" fully detached (own session, no terminal, stdin from /dev/null), writing its pid
# to $1 and its output to $2. The pid is written by the process itself right before `exec`,
# so it is correct whether or not setsid had to fork.
spawn_detached() {
  local pidfile=$1 out=$2
  shift 2
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  # 9>&- : do not let the daemon inherit our lock file descriptor (see take_lock), or it
  # would hold the lock for as long as it runs.
  # shellcheck disable=SC2016  # $$/$0/$@ are meant for the inner bash
  "${launcher[@]}" bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >"$out" 2>&1 </dev/null 9>&- &
}

# ---------------------------------------------------------------------------------------------
# Installing missing software (Debian packages + Kafka jars from Maven Central)
# ---------------------------------------------------------------------------------------------
POLICY_RC=/usr/sbin/policy-rc.d
CREATED_POLICY_RC=0
cleanup() {
  # Only ever remove a policy-rc.d that this very run created (a container may ship its own).
  if [ "$CREATED_POLICY_RC" = 1 ]; then rm -f "$POLICY_RC"; fi
}
trap cleanup EXIT

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "$@" 9>&-
}

# Install Debian packages "$@" (root only).
# The postgresql and redis-server packages start their system-wide daemons on the default
# ports (5432/6379) from their postinst. We do not want those: they would keep running after
# our `down`, and on a CI box they are just wasted memory. Debian's standard mechanism for
# "install, but do not start services" is /usr/sbin/policy-rc.d exiting 101; invoke-rc.d and
# deb-systemd-invoke (systemd machines) both honour it. We create it only for the duration of
# the install, and afterwards stop anything that started anyway (belt and braces).
install_packages() {
  [ $# -gt 0 ] || return 0
  if ! is_root; then
    die "missing software; please install it first, e.g.: sudo apt-get install -y $*  (then re-run; this script only installs packages itself when run as root)"
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; please install: $*"
  if [ ! -e "$POLICY_RC" ]; then
    printf '#!/bin/sh\n# temporary, created by skewless scripts/services.sh during apt-get install\nexit 101\n' >"$POLICY_RC"
    chmod 755 "$POLICY_RC"
    CREATED_POLICY_RC=1
  fi
  log "installing Debian packages: $*"
  # Only refresh the package lists if the install fails (typically: a fresh container whose
  # lists were never downloaded or are stale); `apt-get update` costs time on every machine.
  if ! apt_install "$@" >&2; then
    log "apt-get install failed; running apt-get update and retrying once"
    DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=300 >&2
    apt_install "$@" >&2
  fi
  cleanup
  CREATED_POLICY_RC=0
  # Only for packages installed just now: a system Redis/Postgres the developer already had
  # running is none of our business.
  local svc
  for svc in "$@"; do
    case $svc in postgresql | redis-server) ;; *) continue ;; esac
    if command -v service >/dev/null 2>&1 && service "$svc" status >/dev/null 2>&1; then
      log "stopping the distribution's own $svc service (default port)"
      service "$svc" stop >&2 || true
    fi
  done
}

# Newest PostgreSQL >= 15 bin directory. Debian installs each major version side by side under
# /usr/lib/postgresql/N/bin and does not put postgres/initdb/pg_ctl on PATH.
# SKEWLESS_PG_BIN overrides; `pg_config --bindir` covers non-Debian layouts.
pg_bindir() {
  if [ -n "${SKEWLESS_PG_BIN:-}" ]; then
    echo "$SKEWLESS_PG_BIN"
    return 0
  fi
  local d v best="" bestv=0
  for d in /usr/lib/postgresql/*/bin; do
    if ! [ -x "$d/postgres" ] || ! [ -x "$d/initdb" ] || ! [ -x "$d/pg_ctl" ]; then continue; fi
    v=${d#/usr/lib/postgresql/}
    v=${v%/bin}
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    if ((v >= 15 && v > bestv)); then
      best=$d
      bestv=$v
    fi
  done
  if [ -z "$best" ] && command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then
      v=$("$d/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)\..*/\1/p')
      if [ -n "$v" ] && ((v >= 15)); then best=$d; fi
    fi
  fi
  [ -n "$best" ] || return 1
  echo "$best"
}

redis_ok() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || return 1
  local v
  v=$(redis-server --version | sed -n 's/.*v=\([0-9][0-9]*\)\..*/\1/p')
  [ -n "$v" ] && ((v >= 7))
}

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
java_ok() {
  command -v "$JAVA" >/dev/null 2>&1 || return 1
  local v
  v=$("$JAVA" -version 2>&1 | sed -n '1s/.*version "\([^"]*\)".*/\1/p')
  v=${v#1.} # Java 8 and older report 1.x
  v=${v%%[.+-]*}
  [[ "$v" =~ ^[0-9]+$ ]] && ((v >= 17)) # Kafka 4.x brokers need Java 17+
}

kafka_libdir() { echo "$CACHE_DIR/kafka-$1/libs"; }

# The first Kafka version (in preference order) whose jars are already in the cache.
kafka_cached_version() {
  local v
  for v in $KAFKA_VERSIONS; do
    if [ -f "$CACHE_DIR/kafka-$v/.complete" ]; then
      echo "$v"
      return 0
    fi
  done
  return 1
}

# Download Kafka $1 plus its runtime dependencies into the cache with Maven. There is no
# Maven "download this artifact and all its dependencies into a folder" one-liner, so we
# generate a throw-away pom that depends on what we need and let dependency:copy-dependencies
# do the transitive resolution (it also reuses ~/.m2 and any mirror configured there).
kafka_fetch() {
  local v=$1 dir="$CACHE_DIR/kafka-$1"
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- generated by scripts/services.sh: only used to resolve Kafka's runtime classpath -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>skewless.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$v</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- broker (kafka.Kafka) and kafka.tools.StorageTool -->
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$v</version></dependency>
    <!-- console producer/consumer and TopicCommand for tests and debugging. connect-runtime is
         only needed by the Connect plugin tool and drags in Jetty/Jersey, so leave it out. -->
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$v</version>
      <exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions>
    </dependency>
    <!-- logging backend: slf4j 1.7 binding for log4j2, all three at one version -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  # Resolve into a temporary folder and rename at the end, so an interrupted download never
  # leaves a half-filled classpath that a later run would mistake for a complete one.
  rm -rf "$dir/libs.tmp" "$dir/libs" "$dir/.complete"
  log "downloading Kafka $v and its runtime dependencies with Maven (cached in $dir)"
  if ! mvn -B -q -Dstyle.color=never -f "$dir/pom.xml" \
    "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$dir/libs.tmp" >"$dir/mvn.log" 2>&1; then
    log "Maven could not resolve Kafka $v; last lines of $dir/mvn.log:"
    tail -n 15 "$dir/mvn.log" >&2 || true
    rm -rf "$dir/libs.tmp"
    return 1
  fi
  mv "$dir/libs.tmp" "$dir/libs"
  touch "$dir/.complete"
}

# Echo the Kafka version to use, downloading it if nothing usable is cached. No Maven call at
# all when the cache is warm, so a warm `up` stays fast and works offline.
kafka_version() {
  local v
  if v=$(kafka_cached_version); then
    echo "$v"
    return 0
  fi
  for v in $KAFKA_VERSIONS; do
    if kafka_fetch "$v"; then
      echo "$v"
      return 0
    fi
  done
  die "could not download any of the Kafka versions: $KAFKA_VERSIONS"
}

# Work out which Debian packages the requested services need and install them in one apt run.
ensure_installed() {
  local pkgs=() svc
  for svc in "$@"; do
    case $svc in
      postgres) pg_bindir >/dev/null || pkgs+=(postgresql) ;;
      redis | redis-cluster)
        # Both use the same package; name it once even if both are requested.
        if ! redis_ok && [[ " ${pkgs[*]} " != *" redis-server "* ]]; then pkgs+=(redis-server); fi
        ;;
      kafka)
        java_ok || pkgs+=(default-jre-headless) # Debian 12: OpenJDK 17
        if ! kafka_cached_version >/dev/null && ! command -v mvn >/dev/null 2>&1; then
          pkgs+=(maven)
        fi
        ;;
    esac
  done
  install_packages "${pkgs[@]}"
  for svc in "$@"; do
    case $svc in
      postgres) pg_bindir >/dev/null || die "PostgreSQL >= 15 not found even after installing (looked in /usr/lib/postgresql/*/bin and pg_config)" ;;
      redis | redis-cluster) redis_ok || die "redis-server/redis-cli >= 7 not found (found: $(redis-server --version 2>/dev/null || echo none))" ;;
      kafka) java_ok || die "Java >= 17 is required for Kafka 4 (\$JAVA_HOME or java on PATH)" ;;
    esac
  done
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
PG_DIR="$RUN_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"

# Postgres refuses to run as root. As root we run initdb/pg_ctl as the `postgres` system user
# that the Debian package creates, and give it ownership of its run directory; otherwise the
# current user runs everything.
as_pg() {
  if is_root; then
    if command -v runuser >/dev/null 2>&1; then
      (cd / && runuser -u postgres -- "$@")
    else
      (cd / && su -s /bin/sh postgres -c "$(printf '%q ' "$@")")
    fi
  else
    "$@"
  fi
}

pg_pid() { live_pid "$PG_DATA/postmaster.pid" postgres; }
PGBIN=""
pg_ready() {
  [ -n "$PGBIN" ] || PGBIN=$(pg_bindir) || return 1
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres
}
# Once the postmaster has written its pid file, its disappearance means start-up failed.
pg_dead() { [ -e "$PG_DATA/postmaster.pid" ] && ! pg_pid >/dev/null; }

pg_start() {
  PGBIN=$(pg_bindir)
  rm -rf "$PG_DIR"
  mkdir -p "$PG_DIR/socket"
  if is_root; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user (normally created by the Debian postgresql package)"
    chown -R postgres: "$PG_DIR"
    as_pg test -w "$PG_DIR" ||
      die "user 'postgres' cannot write to $PG_DIR (a parent directory is not accessible to it); set SKEWLESS_SERVICES_RUN to a directory under /tmp"
  fi
  log "postgres: initdb ($("$PGBIN/postgres" --version)) in $PG_DATA"
  if ! as_pg "$PGBIN/initdb" -D "$PG_DATA" -A trust -U postgres --no-sync -E UTF8 --no-locale \
    >"$PG_DIR/initdb.log" 2>&1; then
    tail -n 20 "$PG_DIR/initdb.log" >&2
    die "postgres: initdb failed"
  fi
  # Throw-away test data only: turning off fsync/full_page_writes/synchronous_commit makes
  # Postgres much faster and a crash can at worst lose this data, which nobody wants back.
  local sockdir=${PG_DIR//\'/\'\'}
  cat >>"$PG_DATA/postgresql.conf" <<EOF

# --- added by skewless scripts/services.sh (throw-away test instance) ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockdir/socket'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  # -W: do not let pg_ctl wait; we poll readiness ourselves with our own timeout and error.
  # 9>&- keeps the postmaster from inheriting our lock descriptor (see take_lock).
  as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -W start >/dev/null 9>&-
}

pg_finish() {
  wait_ready postgres pg_ready pg_dead "$PG_LOG" || return 1
  local exists
  exists=$("$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
    "select 1 from pg_database where datname = 'skewless'")
  if [ "$exists" != 1 ]; then
    "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres skewless
  fi
}

# SIGINT is Postgres' "fast shutdown" (disconnect clients, stop). SIGTERM would be "smart
# shutdown", which waits for every client to disconnect — a leaked test connection would hang it.
pg_stop() { stop_pidfile "$PG_DATA/postmaster.pid" postgres INT 30; }

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
REDIS_DIR="$RUN_DIR/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

redis_pid() { live_pid "$REDIS_PIDFILE" redis-server; }
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_dead() { [ -e "$REDIS_PIDFILE" ] && ! redis_pid >/dev/null; }

redis_start() {
  rm -rf "$REDIS_DIR"
  mkdir -p "$REDIS_DIR"
  # No persistence at all (--save '' / --appendonly no): the data is throw-away by design.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" >&2 9>&-
}
redis_finish() { wait_ready redis redis_ready redis_dead "$REDIS_LOG"; }
redis_stop() { stop_pidfile "$REDIS_PIDFILE" redis-server TERM 15; }

# ---------------------------------------------------------------------------------------------
# Redis Cluster (3 masters, no replicas), for the product's Redis Cluster code path
# ---------------------------------------------------------------------------------------------
RCLUSTER_DIR="$RUN_DIR/redis-cluster"
RCLUSTER_NODES=("$REDIS_CLUSTER_PORT" "$((REDIS_CLUSTER_PORT + 1))" "$((REDIS_CLUSTER_PORT + 2))")

rcluster_pidfile() { echo "$RCLUSTER_DIR/$1/redis.pid"; }
rcluster_log() { echo "$RCLUSTER_DIR/$1/redis.log"; }
rcluster_logs() {
  local p
  for p in "${RCLUSTER_NODES[@]}"; do rcluster_log "$p"; done
}
# The port is part of the pattern: all three nodes (and the standalone Redis) are redis-server
# processes, so without it a stale pid file of one node could match another, live one.
# It matches both the rewritten process title ("redis-server 127.0.0.1:63801 [cluster]") and
# the plain command line (which contains the port in --port and the nodes.conf path).
rcluster_node_pid() { live_pid "$(rcluster_pidfile "$1")" "redis-server.*$1"; }
# Comma-separated pids of the nodes that are alive; fails only if none is. A single live node
# counts as "ours is running", so that `up` restarts a half-dead cluster (the generic unhealthy
# path) and `down` stops what is left.
rcluster_pid() {
  local p pid pids=()
  for p in "${RCLUSTER_NODES[@]}"; do
    if pid=$(rcluster_node_pid "$p"); then pids+=("$pid"); fi
  done
  [ ${#pids[@]} -gt 0 ] || return 1
  (
    IFS=,
    echo "${pids[*]}"
  )
}
# `cluster info` of the node on port $1, without the \r of the RESP line endings.
rcluster_info() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | tr -d '\r'; }
rcluster_nodes_ready() {
  local p
  for p in "${RCLUSTER_NODES[@]}"; do
    [ "$(redis-cli -h 127.0.0.1 -p "$p" ping 2>/dev/null)" = PONG ] || return 1
  done
}
# Ready means every node (not just the seed) reports the cluster usable: a node learns the
# other nodes' slots only through gossip, so right after `--cluster create` some nodes may still
# see slots unassigned, and a client can be redirected to any of them. Expect about 2 s: a master
# only switches to cluster_state:ok 2 s after its own start (Redis holds a restarted master back
# from serving writes before the cluster has had a chance to reconfigure it).
rcluster_ready() {
  local p info
  for p in "${RCLUSTER_NODES[@]}"; do
    info=$(rcluster_info "$p")
    grep -qx 'cluster_state:ok' <<<"$info" || return 1
    grep -qx 'cluster_slots_ok:16384' <<<"$info" || return 1
    grep -qx 'cluster_known_nodes:3' <<<"$info" || return 1
  done
}
# Not yet formed: no node has any slot. `--cluster create` refuses nodes that already have
# slots or know other nodes, so it must only run in this state.
rcluster_unformed() {
  local p
  for p in "${RCLUSTER_NODES[@]}"; do
    grep -qx 'cluster_slots_assigned:0' <<<"$(rcluster_info "$p")" || return 1
  done
}
# Why the cluster is not ready, for `status`: the first node that is not ok.
rcluster_why() {
  local p state
  for p in "${RCLUSTER_NODES[@]}"; do
    state=$(rcluster_info "$p" | grep '^cluster_state:' || true)
    if [ -z "$state" ]; then
      echo "127.0.0.1:$p not answering"
      return 0
    fi
    if [ "$state" != cluster_state:ok ]; then
      echo "127.0.0.1:$p reports $state"
      return 0
    fi
  done
  echo "not all nodes report all 16384 slots ok"
}
# With --daemonize yes, `redis-server` returns 0 as soon as it has forked, and a node that fails
# during start-up (a port taken after all, say) exits before writing its pid file. A missing
# process can therefore not be told from a slow one; Redis' last words in the log can.
rcluster_dead() {
  local p
  for p in "${RCLUSTER_NODES[@]}"; do
    if [ -e "$(rcluster_pidfile "$p")" ] && ! rcluster_node_pid "$p" >/dev/null; then return 0; fi
    if grep -qsiE 'aborting|exiting|fatal' "$(rcluster_log "$p")"; then return 0; fi
  done
  return 1
}

rcluster_start() {
  local i p
  rm -rf "$RCLUSTER_DIR"
  for i in 0 1 2; do
    p=${RCLUSTER_NODES[i]}
    mkdir -p "$RCLUSTER_DIR/$p"
    # Same throw-away settings as the standalone Redis. nodes.conf lives in the node's own
    # directory, so deleting that directory really gives the next start a brand-new cluster.
    # cluster-node-timeout 2000 (default 15000): a test that stops a node sees the cluster
    # notice within about 2 s instead of 15 s.
    redis-server --port "$p" --bind 127.0.0.1 \
      --cluster-enabled yes --cluster-port "$((REDIS_CLUSTER_BUS_PORT + i))" \
      --cluster-config-file "$RCLUSTER_DIR/$p/nodes.conf" --cluster-node-timeout 2000 \
      --save '' --appendonly no --daemonize yes --pidfile "$(rcluster_pidfile "$p")" \
      --logfile "$(rcluster_log "$p")" --dir "$RCLUSTER_DIR/$p" >&2 9>&- ||
      die "redis-cluster: redis-server for port $p failed to start"
  done
}

rcluster_finish() {
  local p addrs=() logs=()
  mapfile -t logs < <(rcluster_logs)
  wait_ready "redis-cluster nodes" rcluster_nodes_ready rcluster_dead "${logs[@]}" || return 1
  if rcluster_unformed; then
    for p in "${RCLUSTER_NODES[@]}"; do addrs+=("127.0.0.1:$p"); done
    log "redis-cluster: creating the cluster (${addrs[*]}, 3 masters, no replicas)"
    # redis-cli waits for the nodes to agree on the configuration itself, without a time limit
    # of its own; `timeout` keeps that bounded like every other wait in this script.
    if ! timeout "$TIMEOUT" redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 \
      --cluster-yes >"$RCLUSTER_DIR/create.log" 2>&1; then
      log "ERROR: redis-cluster: redis-cli --cluster create failed"
      show_failure_log "$RCLUSTER_DIR/create.log" "${logs[@]}"
      return 1
    fi
  fi
  wait_ready redis-cluster rcluster_ready rcluster_dead "${logs[@]}" "$RCLUSTER_DIR/create.log"
}

# TERM all three at once: if a node hangs, `down` waits out one grace period, not three.
rcluster_stop() {
  local p pids=()
  for p in "${RCLUSTER_NODES[@]}"; do
    stop_pidfile "$(rcluster_pidfile "$p")" "redis-server.*$p" TERM 15 &
    pids+=("$!")
  done
  wait "${pids[@]}"
}

# ---------------------------------------------------------------------------------------------
# Kafka (single node, KRaft, combined broker + controller)
# ---------------------------------------------------------------------------------------------
KAFKA_DIR="$RUN_DIR/kafka"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/server.log"
KAFKA_OUT="$KAFKA_DIR/kafka.out"

kafka_pid() { live_pid "$KAFKA_PIDFILE" kafka.Kafka; }
# The port alone is not enough: the socket server binds before the broker has caught up with
# the metadata log, and clients connecting then get errors. KafkaRaftServer logs
# "Kafka Server started" once it is really serving, so wait for both.
kafka_ready() {
  port_open "$KAFKA_PORT" &&
    grep -qs 'Kafka Server started' "$KAFKA_LOG" "$KAFKA_OUT"
}
kafka_dead() { [ -e "$KAFKA_PIDFILE" ] && ! kafka_pid >/dev/null; }

# A KRaft cluster id is 16 random bytes in URL-safe base64 without padding (22 characters),
# which is what `kafka.tools.StorageTool random-uuid` prints; generating it here saves a JVM
# start. Like Kafka's Uuid.randomUuid we reject ids starting with '-' (they look like options).
kafka_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    if [[ $id != -* ]]; then
      echo "$id"
      return 0
    fi
  done
}

kafka_start() {
  local v libdir
  v=$(kafka_version)
  libdir=$(kafka_libdir "$v")
  rm -rf "$KAFKA_DIR"
  mkdir -p "$KAFKA_DIR/data"

  # Static quorum (controller.quorum.voters) is the simplest single-node KRaft setup and is
  # accepted by every 4.x release; with it, `format` takes no --standalone flag.
  cat >"$KAFKA_DIR/server.properties" <<EOF
# generated by skewless scripts/services.sh — single-node throw-away test broker
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=3
auto.create.topics.enable=true
# One broker: every internal topic must make do with a single replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer __consumer_offsets partitions (default 50) makes the first consumer group come up faster.
offsets.topic.num.partitions=5
# Tests should not wait 3 s for a consumer group to settle.
group.initial.rebalance.delay.ms=0
EOF

  # Log to a file in the run dir (Kafka's own scripts do this with config/log4j2.yaml).
  cat >"$KAFKA_DIR/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by skewless scripts/services.sh -->
<Configuration status="WARN">
  <Appenders>
    <File name="server" fileName="$KAFKA_LOG">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
EOF

  local common=(-Djava.awt.headless=true "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.xml" -cp "$libdir/*")
  log "kafka: formatting storage (Kafka $v)"
  # `format` is a one-shot JVM: C1-only JIT makes it start noticeably faster.
  if ! "$JAVA" -XX:TieredStopAtLevel=1 "${common[@]}" kafka.tools.StorageTool format \
    -t "$(kafka_cluster_id)" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1; then
    tail -n 20 "$KAFKA_DIR/format.log" >&2
    die "kafka: storage format failed"
  fi
  log "kafka: starting broker"
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is deliberately word-split into JVM flags
  spawn_detached "$KAFKA_PIDFILE" "$KAFKA_OUT" "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC \
    -XX:+ExitOnOutOfMemoryError "${common[@]}" kafka.Kafka "$KAFKA_DIR/server.properties"
}
kafka_finish() { wait_ready kafka kafka_ready kafka_dead "$KAFKA_LOG" "$KAFKA_OUT"; }
# SIGTERM triggers Kafka's orderly shutdown; a single combined node needs a few seconds.
kafka_stop() { stop_pidfile "$KAFKA_PIDFILE" kafka.Kafka TERM 30; }

# ---------------------------------------------------------------------------------------------
# Generic per-service dispatch
# ---------------------------------------------------------------------------------------------
svc_port() {
  case $1 in
    postgres) echo "$PG_PORT" ;;
    redis) echo "$REDIS_PORT" ;;
    kafka) echo "$KAFKA_PORT" ;;
    redis-cluster) echo "${RCLUSTER_NODES[0]}-${RCLUSTER_NODES[2]}" ;;
  esac
}
# Every port a service listens on (all of them must be free before it starts).
svc_ports() {
  case $1 in
    kafka) echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" ;;
    redis-cluster) echo "${RCLUSTER_NODES[*]} $REDIS_CLUSTER_BUS_PORT $((REDIS_CLUSTER_BUS_PORT + 1)) $((REDIS_CLUSTER_BUS_PORT + 2))" ;;
    *) svc_port "$1" ;;
  esac
}
# The variables that move a service's ports, for error messages.
svc_port_vars() {
  case $1 in
    postgres) echo SKEWLESS_PG_PORT ;;
    redis) echo SKEWLESS_REDIS_PORT ;;
    kafka) echo "SKEWLESS_KAFKA_PORT / SKEWLESS_KAFKA_CONTROLLER_PORT" ;;
    redis-cluster) echo "SKEWLESS_REDIS_CLUSTER_PORT / SKEWLESS_REDIS_CLUSTER_BUS_PORT" ;;
  esac
}
# The first of service $1's ports that something already listens on.
svc_busy_port() {
  local p
  for p in $(svc_ports "$1"); do
    if port_open "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
# Per-service functions are named <prefix>_start, _finish, _stop, _pid, _ready.
svc_fn() {
  case $1 in
    postgres) echo pg ;;
    redis-cluster) echo rcluster ;;
    *) echo "$1" ;;
  esac
}
svc_pid() { "$(svc_fn "$1")_pid"; }
# "Running" means: our pid file names a live process AND the service passes the same
# readiness check `up` waits for (pg_isready / redis PING / Kafka port + "started" line /
# cluster_state:ok with all slots on every cluster node).
svc_running() { svc_pid "$1" >/dev/null && "$(svc_fn "$1")_ready"; }

check_services() {
  local s
  for s in "$@"; do
    case $s in postgres | redis | kafka | redis-cluster) ;; *) die "unknown service '$s' (expected: ${ALL_SERVICES[*]})" ;; esac
  done
}

# Serialise concurrent invocations (e.g. two test runners calling `up` at once) so that they
# do not both initdb/format the same directories. The lock lives next to the run dir because
# `down` deletes the run dir itself.
take_lock() {
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$(dirname "$RUN_DIR")"
  # Every daemon we start gets `9>&-` so that it does not inherit (and keep holding) this lock.
  exec 9>"$RUN_DIR.lock"
  flock -w 600 9 || die "another scripts/services.sh is still running (lock $RUN_DIR.lock)"
}

cmd_up() {
  local services=("$@") todo=() s busy failed=0
  [ ${#services[@]} -gt 0 ] || services=("${ALL_SERVICES[@]}")
  check_services "${services[@]}"
  take_lock
  for s in "${services[@]}"; do
    if svc_running "$s"; then
      log "$s already running on 127.0.0.1:$(svc_port "$s") (pid $(svc_pid "$s"))"
    elif svc_pid "$s" >/dev/null; then
      # Our process exists but does not answer: wedged or half-dead. Start over rather than
      # hand tests a broken service.
      log "$s (pid $(svc_pid "$s")) is alive but not ready on 127.0.0.1:$(svc_port "$s"); restarting it"
      "$(svc_fn "$s")_stop"
      todo+=("$s")
    elif busy=$(svc_busy_port "$s"); then
      die "port $busy for $s is already used by a process this script did not start; stop it or choose other ports with $(svc_port_vars "$s") (see docs/services.md)"
    else
      todo+=("$s")
    fi
  done
  [ ${#todo[@]} -gt 0 ] || return 0

  ensure_installed "${todo[@]}"
  mkdir -p "$RUN_DIR"
  # Postgres runs as another user when we are root and needs to traverse the run dir.
  if is_root; then chmod 755 "$RUN_DIR"; fi

  # Launch everything first and wait afterwards, so the slow JVM start of Kafka overlaps with
  # the others coming up. Kafka first: it is the slowest. The Redis Cluster is waited for first,
  # because its wait includes a step of its own (`--cluster create`), which can then run while
  # Kafka is still booting instead of after it.
  local ordered=() waits=()
  for s in kafka redis-cluster postgres redis; do
    if [[ " ${todo[*]} " == *" $s "* ]]; then ordered+=("$s"); fi
  done
  for s in redis-cluster kafka postgres redis; do
    if [[ " ${todo[*]} " == *" $s "* ]]; then waits+=("$s"); fi
  done
  for s in "${ordered[@]}"; do "$(svc_fn "$s")_start"; done
  for s in "${waits[@]}"; do
    "$(svc_fn "$s")_finish" || failed=1
  done
  [ "$failed" = 0 ] || die "some services did not start (see above); 'scripts/services.sh down' cleans up"
}

cmd_down() {
  local services=("$@") s
  [ ${#services[@]} -gt 0 ] || services=("${ALL_SERVICES[@]}")
  check_services "${services[@]}"
  take_lock
  for s in "${services[@]}"; do
    if svc_pid "$s" >/dev/null; then log "stopping $s"; fi
    "$(svc_fn "$s")_stop"
    rm -rf "${RUN_DIR:?}/$s"
  done
  # Only our own sub-directories were deleted above, so even if SKEWLESS_SERVICES_RUN points
  # at a directory with other content nothing else is lost; remove the dir once it is empty.
  rmdir "$RUN_DIR" 2>/dev/null || true
}

cmd_status() {
  local services=("$@") s pid rc=0
  [ ${#services[@]} -gt 0 ] || services=("${ALL_SERVICES[@]}")
  check_services "${services[@]}"
  for s in "${services[@]}"; do
    if svc_running "$s"; then
      pid=$(svc_pid "$s")
      printf '%-13s running  127.0.0.1:%s  pid %s\n' "$s" "$(svc_port "$s")" "$pid"
    elif pid=$(svc_pid "$s"); then
      # Alive but not answering: still starting, or wedged. `up` restarts it, `down` stops it.
      if [ "$s" = redis-cluster ]; then
        printf '%-13s unhealthy  pid %s alive but cluster not ok: %s\n' "$s" "$pid" "$(rcluster_why)"
      else
        printf '%-13s unhealthy  pid %s alive but 127.0.0.1:%s not ready\n' "$s" "$pid" "$(svc_port "$s")"
      fi
      rc=3
    else
      printf '%-13s stopped\n' "$s"
      rc=3
    fi
  done
  return "$rc"
}

cmd_env() {
  echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/skewless"
  echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  # A seed node: cluster clients discover the other two nodes from it (CLUSTER SLOTS).
  echo "export REDIS_CLUSTER_URL=redis://127.0.0.1:$REDIS_CLUSTER_PORT"
}

cmd_classpath() {
  local v
  v=$(kafka_cached_version) || die "Kafka is not downloaded yet; run: scripts/services.sh up kafka"
  echo "$(kafka_libdir "$v")/*"
}

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "$0"
}

# Chromium is no service, but the dashboard's end-to-end test (test/e2e/dashboard.test.ts) drives it
# headless, so a fresh Debian machine gets it the way it gets PostgreSQL and Redis: from apt, as root.
cmd_browser() {
  local chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
  [ -x "$chromium" ] && return 0
  install_packages chromium
  [ -x "$chromium" ] || die "no Chromium at $chromium even after installing the chromium package (set CHROMIUM_PATH to another binary)"
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env ;;
    classpath) cmd_classpath ;;
    browser) cmd_browser ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
