// Records through a perf event array (bpf_perf_event_output), read back by the perf buffer consumer:
// one {pid, seq} per getpid() of target_tgid.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile u32 target_tgid = 0;
u64 seq = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} pevents SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid_perf(void *ctx)
{
	struct { u32 pid; u32 seq; } e;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	if (e.pid != target_tgid)
		return 0;
	e.seq = __sync_fetch_and_add(&seq, 1);
	bpf_perf_event_output(ctx, &pevents, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
