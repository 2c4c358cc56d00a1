// SEC("usdt/PATH:python:function__entry") with BPF_USDT: CPython's function-entry probe, its
// (file, function, line) arguments fetched by bpf_usdt_arg() through the specs user space wrote.
// PYTHON is the interpreter's path (-DPYTHON='"/usr/bin/python3.11"').
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

const volatile u32 target_tgid = 0;

struct call {
	char func[32];
	s32 line;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__type(value, struct call);
} calls SEC(".maps");

SEC("usdt/" PYTHON ":python:function__entry")
int BPF_USDT(on_function_entry, const char *file, const char *func, int line)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	struct call *c = bpf_ringbuf_reserve(&calls, sizeof(*c), 0);
	if (!c)
		return 0;
	bpf_probe_read_user_str(c->func, sizeof(c->func), func);
	c->line = line;
	bpf_ringbuf_submit(c, 0);
	return 0;
}

/* Attaching to python:line raises its semaphore, which is what puts CPython 3.11 on the evaluation
 * path where function__entry fires for every call (as the D USDT tests do with `python$target:::line`). */
SEC("usdt/" PYTHON ":python:line")
int BPF_USDT(on_line)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
