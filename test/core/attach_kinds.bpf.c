// One getpid() counter per attach kind, each counting only target_tgid's calls: a kprobe on the
// syscall (SEC("ksyscall/getpid")), an fentry trampoline, a BTF-typed raw tracepoint (tp_btf) and
// a raw tracepoint. The test loads the ones the running kernel supports and checks each count.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NR_getpid 39 /* x86-64 */

const volatile u32 target_tgid = 0;
u64 ksyscall_hits = 0;
u64 fentry_hits = 0;
u64 tp_btf_hits = 0;
u64 raw_tp_hits = 0;

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("ksyscall/getpid")
int on_getpid_ksyscall(struct pt_regs *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&ksyscall_hits, 1);
	return 0;
}

SEC("fentry/__x64_sys_getpid")
int BPF_PROG(on_getpid_fentry, const struct pt_regs *regs)
{
	if (is_target())
		__sync_fetch_and_add(&fentry_hits, 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter_btf, struct pt_regs *regs, long id)
{
	if (id == NR_getpid && is_target())
		__sync_fetch_and_add(&tp_btf_hits, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int on_sys_enter_raw(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[1] == NR_getpid && is_target())
		__sync_fetch_and_add(&raw_tp_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
