#!/bin/bash
# scripts/conformance-vm.sh [ratchet options] -- `npm run conformance:vm`: the conformance corpus inside
# one boot of the Debian 12 (Linux 6.1) guest, as a ratchet on its own list, conformance/passing-6.1.txt;
# the compile-error tests listed in conformance/host-only.txt (their result cannot depend on the kernel)
# are left to the host's ratchet. `-- --update` rewrites the list from the run.
# Builds on the host first: the guest sees the host's files as they were at boot.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node scripts/build.mjs
# The guest is 10-20 times slower than the host: a 30 s per-test limit, and a whole-run budget that fits
# in the boot's own time limit.
# Compile-error tests whose result cannot depend on the kernel (conformance/host-only.txt, from
# scripts/vm-host-only.sh: about 40% of the corpus) run on the host only.
skip=()
[[ -f conformance/host-only.txt ]] && skip=(--skip conformance/host-only.txt)
args=$(printf ' %q' --list conformance/passing-6.1.txt --write-list /xfer/export/conformance/passing-6.1.txt \
  --timeout 30 --budget "${CONFORMANCE_VM_BUDGET_S:-1500}" "${skip[@]}" "$@")
VM_TIMEOUT=${VM_TIMEOUT:-1600} exec bash scripts/vm.sh "mkdir -p /xfer/export/conformance && node scripts/conformance-ratchet.mjs$args"
