#!/usr/bin/env bash
# Prints "<category> <cpu seconds>" (own user+system time of live processes) summed per category,
# plus the machine's total busy time, so a run's CPU split (services, broker, PostgreSQL, Redis,
# load generator, everything else on the box) can be diffed. bench/run.sh takes the snapshots at the
# start and the end of the measured window, while every process (the Gatling JVM too) is alive.
# usage: bench/cpu-snapshot.sh <stack dir> <pid of ingest> <processors> <scheduler> <fanout>
stack_dir=$1; shift
declare -A svc=()
names=(ingest processors scheduler fanout)
for i in 0 1 2 3; do [ -n "${1:-}" ] && svc[$1]=${names[$i]}; shift || true; done
tck=$(getconf CLK_TCK)
# PostgreSQL's processes are the postmaster and its children, whatever their command line says.
postmaster=$(head -1 "$stack_dir/postgres/data/postmaster.pid" 2>/dev/null || echo none)
# The postmaster's reaped-children time (cutime+cstime), and whether one of its children has
# exited but is not reaped yet: such a zombie shows no CPU time, and its parent's cutime does not
# have it yet, so a scan meanwhile would lose that backend's CPU (slonik's idle timeout closes a
# pool's connection at the end of a run, just when the last snapshot is taken).
reaped() { local s; s=$(cat "/proc/$postmaster/stat" 2>/dev/null) || { echo none; return; }; s=${s##*) }; read -r -a f <<<"$s"; echo "$((f[13] + f[14]))"; }
unreaped() { grep -l "^[0-9]* ([^)]*) Z $postmaster " /proc/[0-9]*/stat >/dev/null 2>&1; }
scan() {
for d in /proc/[0-9]*; do
  pid=${d#/proc/}
  stat=$(cat "$d/stat" 2>/dev/null) || continue
  # fields 14,15 (utime, stime) after the ")" of comm
  rest=${stat##*) }
  read -r -a f <<<"$rest"
  ticks=$((f[11] + f[12]))  # own utime+stime (children are counted where they run)
  [ "$ticks" -gt 0 ] || continue
  args=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
  if [ -n "${svc[$pid]:-}" ]; then cat="svc:${svc[$pid]}"
  elif [[ $args == *"$stack_dir/kafka"* ]]; then cat=kafka
  elif [ "$pid" = "$postmaster" ] || [ "${f[1]}" = "$postmaster" ]; then cat=postgres
  elif [[ $args == *redis-server*46379* ]]; then cat=redis
  elif [[ $args == *centrifugo*--config* ]]; then cat=centrifugo
  elif [[ $args == *redis-server*4638[0-9]* ]]; then cat=redis-centrifugo
  elif [[ $args == *gatlingbooter*io.gatling.app.Gatling* ]] || [[ $args == *bench/ws-scale.mjs* ]]; then cat=loadgen
  elif [[ $args == *plexus-classworlds*gatling:test* ]]; then cat=loadgen-maven
  else cat=other; fi
  # PostgreSQL backends come and go with the pools: the postmaster's reaped-children time keeps theirs.
  [ "$cat" != postgres ] || ticks=$((ticks + f[13] + f[14]))
  echo "$cat $ticks"
  # Each process on stderr too (bench/run.sh keeps it beside the sums): where a category's time
  # went, and for the known ones their context switches (voluntary, involuntary; summed over the
  # threads), which bench/breakdown.mjs turns into hand-offs per write.
  vcs=- ics=-
  [ "$cat" = other ] || read -r vcs ics < <(awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v + 0, n + 0}' "$d"/task/*/status 2>/dev/null)
  printf '%s %s %s %s %s %s %s\n' "$cat" "$pid" "${f[1]}" "$ticks" "$vcs" "$ics" "${args:0:80}" >&2
done
}
# Scanned again (a few times at most) when a PostgreSQL backend exited around the scan.
err=$(mktemp)
for _ in $(seq 10); do
  for _ in $(seq 40); do unreaped || break; sleep 0.05; done
  before=$(reaped)
  lines=$(scan 2>"$err")
  [ "$(reaped)" = "$before" ] && ! unreaped && break
done
cat "$err" >&2; rm -f "$err"
echo "$lines" | awk -v t="$tck" '{s[$1]+=$2} END {for (k in s) printf "%s %.2f\n", k, s[k]/t}'
# Busy time of the whole machine (user+nice+system+irq+softirq+steal), to derive what others used,
# and the part of it the hypervisor gave to other guests (steal: a noisy neighbour, not our work).
awk -v t="$tck" '/^cpu / {printf "machine_busy %.2f\nsteal %.2f\n", ($2+$3+$4+$7+$8+$9)/t, $9/t}' /proc/stat
