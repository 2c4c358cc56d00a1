#!/bin/bash
# scripts/conformance-vm.sh [--ci] [ratchet options] -- `npm run conformance:vm`: the conformance corpus
# inside one boot of the Debian 12 (Linux 6.1) guest, as a ratchet on its own list,
# conformance/passing-6.1.txt; the compile-error tests listed in conformance/host-only.txt (their
# result cannot depend on the kernel) are left to the host's ratchet.
#   (no --ci)  the whole corpus: the measurement (about 570 tests; 30-40 min under TCG on a loaded
#              two-core machine). `-- --update` rewrites the list from the run.
#   --ci       only the tests of conformance/vm-ci.txt, the kernel-sensitive selection CI checks
#              within its time budget (see that file's header); --update then keeps the listed
#              tests outside the selection.
# The runner's per-test results (JSON with durations) and its output come back as
# conformance-run-6.1.json and conformance-run-6.1.log in the working directory.
# Builds on the host first: the guest sees the host's files as they were at boot.
# Env: CONFORMANCE_VM_BUDGET_S (whole-run budget; default 3600 s, 900 s with --ci),
# CONFORMANCE_VM_TIMEOUT_S (per-test limit, default 60 s: TCG is 10-30 times slower than the host,
# and a test makes several tracer runs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ci=0
if [[ ${1:-} == --ci ]]; then ci=1; shift; fi
node scripts/build.mjs
skip=()
[[ -f conformance/host-only.txt ]] && skip=(--skip conformance/host-only.txt)
only=()
if (( ci )); then only=(--only conformance/vm-ci.txt); budget=${CONFORMANCE_VM_BUDGET_S:-900}; else budget=${CONFORMANCE_VM_BUDGET_S:-3600}; fi
args=$(printf ' %q' --list conformance/passing-6.1.txt --write-list /xfer/export/conformance/passing-6.1.txt \
  --results /xfer/export/conformance-run-6.1.json --log /xfer/export/conformance-run-6.1.log --verbose \
  --timeout "${CONFORMANCE_VM_TIMEOUT_S:-60}" --budget "$budget" "${skip[@]}" "${only[@]}" "$@")
# The boot's own limit leaves room for boot, a retry of flaky tests and the copy back.
VM_TIMEOUT=${VM_TIMEOUT:-$((budget + 600))} exec bash scripts/vm.sh "mkdir -p /xfer/export/conformance && node scripts/conformance-ratchet.mjs$args"
