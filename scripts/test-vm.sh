#!/bin/bash
# scripts/test-vm.sh [name filter...] -- `npm run test:vm`: the kernel tests that depend on the kernel
# version, run inside one boot of the Debian 12 (Linux 6.1) guest: fbt (only testable there: the host
# kernel has neither kprobes nor fentry), syscall, proc/sched/io, profile, pid, USDT (python), strings,
# aggregations, speculations. Builds on the host first (the guest sees the files as they were at boot).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node scripts/build.mjs
# The CO-RE tests use BPF objects compiled here, against this (host) kernel's vmlinux.h: the guest
# loads the very same .o files on Linux 6.1.
node build/test/core/prepare.js
patterns=("$@")
# fbt; syscall and profile (cli-skeleton); pid; USDT python; the string library; aggregations and
# speculations (codegen-actions); feature detection; listing (provider-list: fbt's tens of thousands
# of functions) and proc/sched/io (sched:::on-cpu through finish_task_switch; io's direct-write
# tests skip there: the guest's files are on 9p, not a block device); ip/tcp/udp/lockstat
# (provider-net-lockstat); the CO-RE object loader (core-loader).
(( ${#patterns[@]} )) || patterns=(fbt cli-skeleton pid-provider usdt-python codegen-strings codegen-actions bpf-features provider-list provider-proc-sched-io provider-net-lockstat core-loader)
files=()
for p in "${patterns[@]}"; do
  for f in build/test/kernel/*"$p"*.test.js build/test/vm/*"$p"*.test.js; do [[ -e $f ]] && files+=("$f"); done
done
(( ${#files[@]} )) || { echo "test:vm: no test file matches ${patterns[*]}" >&2; exit 2; }
files=($(printf '%s\n' "${files[@]}" | sort -u))
args=$(printf ' %q' "${files[@]}")
# The guest is emulated (TCG): ~11 min on a quiet 2-core host, twice that when the host is busy
# (a fresh-clone run beside four other jobs overran 15 min). 25 min still ends within CI's 90.
VM_TIMEOUT=${VM_TIMEOUT:-1500} exec bash scripts/vm.sh "node --test --test-concurrency=1$args"
