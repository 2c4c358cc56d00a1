#!/bin/bash
# scripts/vm-host-only.sh [--print] -- writes conformance/host-only.txt: the conformance tests that
# the Linux 6.1 guest does not run (scripts/conformance-vm.sh gives it to the ratchet as --skip),
# because their result cannot depend on the kernel. A test is host-only when
#   - Oracle names it err.D_<code> (its expected result is that compile-time error), the code not
#     D_PDESC_* (probe descriptions match the kernel's probes, which differ: the guest has fbt),
#   - it passes here, and
#   - every tracer run it makes exits with an error without loading a BPF program (measured:
#     strace on bpf(BPF_PROG_LOAD)), so no verifier, helper, kfunc or attach point is involved.
# Everything else, and any test whose compile consults the kernel enough to load a program, runs
# in the guest. Run on the host as root after a change to the compiler's error paths; `--print`
# prints the list instead of writing it. Takes a few minutes (the err.D_* tests under strace).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=conformance/host-only.txt
[[ ${1:-} == --print ]] && out=/dev/stdout
command -v strace >/dev/null || { echo "vm-host-only: needs strace" >&2; exit 2; }
node scripts/build.mjs >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/tracer" <<EOF
#!/bin/bash
log=\$(mktemp "$work/strace.XXXXXX")
strace -f -qq -e trace=bpf -e signal=none -o "\$log" node "$PWD/dist/cli.js" "\$@"
rc=\$?
echo "\$_test \$rc \$(grep -c BPF_PROG_LOAD "\$log")" >> "$work/runs"
rm -f "\$log"
exit \$rc
EOF
chmod +x "$work/tracer"
../shared/conformance/run --jobs 2 --filter "${VM_HOST_ONLY_FILTER:-/err\\.D_(?!PDESC)}" --dtrace "$work/tracer" \
  --json "$work/results.json" >/dev/null || true
node - "$work/results.json" "$work/runs" > "$work/list" <<'EOF'
const fs = require('node:fs');
const [resultsPath, runsPath] = process.argv.slice(2);
const passed = JSON.parse(fs.readFileSync(resultsPath, 'utf8')).results.filter((r) => r.status === 'PASS').map((r) => r.path);
const kernelFree = new Map();
for (const line of fs.readFileSync(runsPath, 'utf8').split('\n')) {
  const [test, rc, loads] = line.split(' ');
  if (!test) continue;
  kernelFree.set(test, (kernelFree.get(test) ?? true) && rc !== '0' && loads === '0');
}
const hostOnly = passed.filter((p) => kernelFree.get(p) === true).sort();
console.log([
  '# Conformance tests the Linux 6.1 guest does not run (scripts/conformance-vm.sh: ratchet --skip): err.D_*',
  '# compile-error tests (not D_PDESC_*) that pass on the host and load no BPF program, so their result',
  '# cannot depend on the kernel. Regenerate with: scripts/vm-host-only.sh',
  ...hostOnly].join('\n'));
EOF
cat "$work/list" > "$out"
[[ $out == /dev/stdout ]] || echo "vm-host-only: $(grep -vc '^#' "$out") tests written to $out" >&2
