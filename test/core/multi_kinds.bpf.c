// The multi-link sections, each counting only target_tgid's calls: SEC("uprobe.multi/...") and
// SEC("uretprobe.multi/...") on libc's syscall() wrapper (a bare library name, resolved as libbpf
// resolves it; a glob that one function matches), and SEC("kprobe.multi/...") on the getpid
// syscall's entry wrapper. The test loads the ones the running kernel supports and checks each count.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

const volatile u32 target_tgid = 0;
u64 uprobe_multi_hits = 0;
u64 uretprobe_multi_hits = 0;
u64 kprobe_multi_hits = 0;

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("uprobe.multi/libc.so.6:sysca?l")
int on_syscall_entry(struct pt_regs *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&uprobe_multi_hits, 1);
	return 0;
}

SEC("uretprobe.multi/libc.so.6:sysca?l")
int on_syscall_return(struct pt_regs *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&uretprobe_multi_hits, 1);
	return 0;
}

SEC("kprobe.multi/__x64_sys_getpi?")
int on_getpid_kprobe_multi(struct pt_regs *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&kprobe_multi_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
