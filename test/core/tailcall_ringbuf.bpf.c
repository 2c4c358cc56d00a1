// A tail call through a prog_array initialised statically (values = { [0] = &on_getpid_tail }),
// and a ring buffer of typed records: each getpid() of target_tgid goes through the tail call,
// which submits one struct event.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

const volatile u32 target_tgid = 0;

struct event {
	u32 pid;
	u32 ppid;
	u64 seq;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__type(value, struct event);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} tail_hits SEC(".maps");

SEC("tracepoint")
int on_getpid_tail(void *ctx)
{
	u32 zero = 0;
	u64 *hits = bpf_map_lookup_elem(&tail_hits, &zero);
	if (!hits)
		return 0;
	u64 seq = __sync_fetch_and_add(hits, 1);
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	struct task_struct *task = (void *)bpf_get_current_task();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->seq = seq;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__array(values, int (void *));
} jump SEC(".maps") = {
	.values = { [0] = (void *)&on_getpid_tail },
};

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	bpf_tail_call(ctx, &jump, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
