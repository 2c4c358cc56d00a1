#!/bin/bash
# scripts/vm.sh COMMAND... -- `npm run vm -- COMMAND`: boots Debian 12's Linux 6.1 under qemu (TCG, never
# KVM: this host's nested KVM cannot run a stock kernel, see ../shared/design/QEMU.md) with this machine's
# userland (host / read-only over 9p, RAM overlay), runs COMMAND with /bin/sh -c in the same working
# directory as root (one argument: a shell command line; several: a command and its arguments), streams its output (stdout and stderr together) and exits with its exit status
# (125 when the guest never reported one: boot failure, panic or timeout).
# The guest kernel panics on a soft lockup (a minute stuck, instead of a hang until the timeout);
# a guest whose kernel died is booted once more, its first kernel report printed with the call trace.
# Writes inside the guest stay in guest RAM. Env: DTRACE_TS_VM_DIR (cache, default
# /var/cache/dtrace-ts-vm), VM_TIMEOUT (seconds, default 600), VM_MEM (default 2G), VM_SMP (default 2);
# variables named DTRACE_TS_* and DTRACE are passed into the guest.
# The guest sees the per-run exchange directory at /xfer (the only host path it can write): whatever
# the command leaves under /xfer/export/ is copied back into the working directory after the run
# (conformance:vm -- --update uses this to bring back conformance/passing-6.1.txt).
set -uo pipefail
(( $# )) || { echo "usage: npm run vm -- COMMAND..." >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S=${DTRACE_TS_VM_DIR:-/var/cache/dtrace-ts-vm}
bash "$here/vm-setup.sh" "$S" || { echo "vm: guest setup failed" >&2; exit 125; }
# One boot: runs the command, copies /xfer/export back; sets rc (125: the guest reported no status)
# and died (1 when its console holds a kernel report: a panic, an oops, a soft lockup).
boot() {
X=$(mktemp -d "$S/xfer.XXXXXX")
trap 'rm -rf "$X"' EXIT
{
  printf 'cd %q || exit 126\n' "$PWD"
  while IFS='=' read -r name _; do
    [[ $name == DTRACE_TS_* || $name == DTRACE ]] && printf 'export %s=%q\n' "$name" "${!name}"
  done < <(env)
  # One argument is a shell command line (`npm run vm -- 'make && ./t | head'`); several are one
  # command and its arguments, each kept as it is (`npm run vm -- node --test-name-pattern='a|b' t.js`).
  if (( $# == 1 )); then printf '%s\n' "$1"; else printf '%q ' "$@"; echo; fi
} > "$X/cmd"
: > "$X/out"
timeout -k 5 "${VM_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg -cpu max -smp "${VM_SMP:-2}" -m "${VM_MEM:-2G}" \
  -machine pc -nodefaults -no-user-config -display none -serial stdio -no-reboot \
  -kernel "$S/vmlinux" -initrd "$S/initrd.gz" -append 'console=ttyS0 panic=-1 loglevel=4 softlockup_panic=1 watchdog_thresh=30' \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$X",mount_tag=xfer,security_model=none \
  </dev/null >"$X/console.log" 2>&1 &
qemu=$!
# The guest writes out through 9p with cache=none, so following the file streams the output live.
tail -n +1 -f --pid=$qemu "$X/out" &
tailer=$!
wait $qemu
wait $tailer
rc=$(cat "$X/rc" 2>/dev/null || echo 125)
if [[ -d $X/export ]]; then cp -r "$X/export/." . && echo "vm: copied back: $(cd "$X/export" && find . -type f | tr '\n' ' ')" >&2; fi
if [[ $rc == 125 && ! -s $X/rc ]]; then
  echo "vm: the guest reported no exit status (boot failure, panic or timeout)" >&2
  # The first kernel report (a soft lockup, an oops) carries the call trace that explains the rest.
  if grep -q -m1 -E 'BUG:|Oops|Kernel panic' "$X/console.log"; then
    echo "vm: the first kernel report:" >&2
    awk '/BUG:|Oops|Kernel panic/ && !n { n = 1 } n && c++ < 80' "$X/console.log" >&2
  else
    echo "vm: console tail:" >&2
    tail -n 30 "$X/console.log" >&2
  fi
fi
died=0
grep -q -m1 -E 'BUG:|Oops|Kernel panic' "$X/console.log" && died=1
rm -rf "$X"
}
# A guest whose kernel died (softlockup_panic turns a lockup into a panic within a minute instead of
# a hang until the timeout) is booted once more: the report stays above in the output, and a
# second death fails the run.
boot "$@"
if [[ $rc == 125 && $died == 1 ]]; then
  echo "vm: the guest kernel died (report above); booting it once more" >&2
  boot "$@"
fi
exit "$rc"
