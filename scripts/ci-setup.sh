#!/usr/bin/env bash
# ci-setup.sh - make this machine ready for the tests: system packages and kernel file systems.
#
# Idempotent and quick when everything is already there: packages are checked with `dpkg -s`
# first, and `apt-get update` runs at most once, only when something is missing.
# Needs root (the tests load BPF programs anyway). Used by .ci/run; safe to run by hand.
#
# Env: CI_SETUP_SKIP_APT=1   do not touch packages (only check and mount).
set -euo pipefail

# Every system package the tests and benchmarks use, in one place:
#   gcc make libc6-dev cpp   build test/workloads/*.c; `dtrace -C` runs the C preprocessor
#   bpftool                  bench readiness checks, debugging loaded programs
#   bpftrace                 the comparison tracer of bench/
#   clang                    the BTF dump test (clang -g emits BTF-bearing objects), CO-RE test objects
#   libbpf-dev               bpf_helpers.h / bpf_core_read.h for the CO-RE test objects (test/core)
#   gawk perl                the conformance runner's .r.p filters and trigger programs
#   time                     GNU /usr/bin/time: peak RSS in bench/
#   linux-perf               perf stat: exact syscall counts in the workload test
#   util-linux               taskset, setsid (bench pins the workload, isolates the tracer)
#   python3.11 postgresql-15 USDT targets: CPython and PostgreSQL 15 carry stapsdt notes
#   chromium                 the flame graph browser test (headless, DevTools protocol over a pipe)
#   prometheus               the -x metrics test scrapes us with a real Prometheus server
PACKAGES=(gcc make libc6-dev cpp bpftool bpftrace clang libbpf-dev gawk perl time linux-perf util-linux
          python3.11 postgresql-15 chromium prometheus)

log() { echo "ci-setup: $*"; }

if [[ $EUID -ne 0 ]]; then
  echo "ci-setup: must run as root (packages, mounts, BPF)" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  # dpkg -s succeeds for removed-but-configured packages too; check the status line.
  if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "all ${#PACKAGES[@]} packages present"
elif [[ "${CI_SETUP_SKIP_APT:-}" == 1 ]]; then
  log "missing packages (not installed, CI_SETUP_SKIP_APT=1): ${missing[*]}"
else
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# mount_if_absent TYPE DIR: mount a pseudo file system unless something is mounted there.
mount_if_absent() {
  local type="$1" dir="$2"
  if mountpoint -q "$dir" 2>/dev/null; then
    log "$type already mounted at $dir"
  elif [[ -d "$dir" ]] && mount -t "$type" nodev "$dir"; then
    log "mounted $type at $dir"
  else
    log "warning: could not mount $type at $dir"
  fi
}
# tracefs: tracepoint ids and formats (bpftrace, perf and our syscall provider read it).
mount_if_absent tracefs /sys/kernel/tracing
# debugfs: older tools look for tracing under /sys/kernel/debug/tracing.
mount_if_absent debugfs /sys/kernel/debug
# bpffs: lets bpftool pin and show objects; harmless when unused.
mount_if_absent bpf /sys/fs/bpf

for tool in gcc bpftool bpftrace /usr/bin/time taskset setsid; do
  command -v "$tool" >/dev/null || log "warning: $tool not found"
done
log "done"
