#!/bin/bash
# scripts/vm-setup.sh [SCRATCH] -- prepares the Debian 12 (Linux 6.1) test guest that `npm run vm` boots:
# qemu-system-x86 + busybox-static from apt, the linux-image-amd64 kernel .deb from Debian, an
# uncompressed vmlinux and a busybox initramfs that mounts the host's / read-only over 9p (RAM overlay
# on top) and runs one command. Idempotent and cached in SCRATCH (default /var/cache/dtrace-ts-vm):
# a second run with everything in place does nothing. Needs root. The recipe and why each piece is
# there: ../shared/design/QEMU.md.
set -euo pipefail
S=${1:-${DTRACE_TS_VM_DIR:-/var/cache/dtrace-ts-vm}}
mkdir -p "$S"; cd "$S"
export DEBIAN_FRONTEND=noninteractive
[[ $(id -u) == 0 ]] || { echo "vm-setup: needs root (apt, reading all of / through qemu)" >&2; exit 1; }
# Bump when the initramfs below changes, so cached guests are rebuilt.
RECIPE=3
if [[ -s vmlinux && -s initrd.gz && "$(cat recipe 2>/dev/null)" == "$RECIPE" ]] \
   && command -v qemu-system-x86_64 >/dev/null && [[ -x /bin/busybox ]]; then
  exit 0
fi
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[[ -x /bin/busybox ]] && /bin/busybox --list | grep -qx insmod || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
if (( ${#need[@]} )) || ! ls kpkg/boot/vmlinuz-* >/dev/null 2>&1; then
  apt-get update -q >/dev/null
fi
if (( ${#need[@]} )); then
  echo "vm-setup: apt-get install ${need[*]}" >&2
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
if ! ls kpkg/boot/vmlinuz-* >/dev/null 2>&1; then
  PKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [[ -n "$PKG" ]] || { echo "vm-setup: cannot find the kernel package behind linux-image-amd64" >&2; exit 1; }
  echo "vm-setup: downloading $PKG" >&2
  rm -rf kpkg ./*.deb; apt-get download "$PKG" >/dev/null 2>&1; dpkg -x "$PKG"_*.deb kpkg; rm -f ./*.deb
fi
Z=$(ls kpkg/boot/vmlinuz-* | head -1)
KVER=${Z##*/vmlinuz-}
if [[ ! -s vmlinux ]]; then
  # Uncompressed vmlinux (PVH entry): skips SeaBIOS + xz decompression under TCG (about 4 s a boot).
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$Z" | head -1 | cut -d: -f1)
  tail -c +$((off+1)) "$Z" | xz -dc > vmlinux.tmp 2>/dev/null || true  # xz complains about trailing data
  if [[ -s vmlinux.tmp ]]; then mv vmlinux.tmp vmlinux; else rm -f vmlinux.tmp; cp "$Z" vmlinux; fi
fi
MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay"
rm -rf initramfs; mkdir -p initramfs/bin initramfs/lib/modules initramfs/proc initramfs/sys initramfs/dev
cp /bin/busybox initramfs/bin/
for m in $MODS; do cp "$(find "kpkg/lib/modules/$KVER" -name "$m.ko" | head -1)" initramfs/lib/modules/; done
cat > initramfs/init <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin; export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         netfs fscache 9pnet 9pnet_virtio 9p overlay; do
  insmod /lib/modules/$m.ko || echo "vm-init: insmod $m failed"
done
O9=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /lower /ov /merged
mount -t 9p -o $O9,ro,cache=loose hostroot /lower || { echo "vm-init: 9p mount failed"; poweroff -f; }
mount -t tmpfs -o size=50% tmpfs /ov; mkdir -p /ov/upper /ov/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/ov/upper,workdir=/ov/work /merged
R=/merged
mount -t proc proc $R/proc; mount -t sysfs sysfs $R/sys; mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm; mount -t devpts devpts $R/dev/pts; mount -t tmpfs tmpfs $R/dev/shm
# devtmpfs has no /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr (udev makes them): cpp reads /dev/stdin
ln -sf /proc/self/fd $R/dev/fd; ln -sf /proc/self/fd/0 $R/dev/stdin; ln -sf /proc/self/fd/1 $R/dev/stdout; ln -sf /proc/self/fd/2 $R/dev/stderr
mount -t tracefs tracefs $R/sys/kernel/tracing; mount -t debugfs debugfs $R/sys/kernel/debug
mount -t bpf bpf $R/sys/fs/bpf; mount -t tmpfs tmpfs $R/run   # no tmpfs over /tmp: host /tmp stays visible
hostname dtrace-ts-vm
mkdir -p $R/xfer; mount -t 9p -o $O9,cache=none xfer $R/xfer
echo "vm-init: running /xfer/cmd (uptime $(cut -d' ' -f1 /proc/uptime)s)"
chroot $R /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root TERM=dumb LANG=C.UTF-8 DTRACE_TS_VM=1 /bin/sh /xfer/cmd > $R/xfer/out 2>&1 < /dev/null
echo $? > $R/xfer/rc
echo "vm-init: done rc=$(cat $R/xfer/rc) (uptime $(cut -d' ' -f1 /proc/uptime)s)"
sync; umount $R/xfer; poweroff -f
EOF
chmod +x initramfs/init
(cd initramfs && find . | cpio -o -H newc --quiet | gzip -1) > initrd.gz
echo "$KVER" > kver
echo "$RECIPE" > recipe
echo "vm-setup: ready: $S/vmlinux $S/initrd.gz (kernel $KVER)" >&2
