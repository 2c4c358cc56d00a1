// A field this kernel does not have. With GUARDED, the read sits behind bpf_core_field_exists()
// and the object loads (the poisoned instruction is dead code); without it, loading must fail
// and name the struct, the field and this file's line.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___missing {
	int no_such_field;
} __attribute__((preserve_access_index));

u32 seen_exists = 99;
u32 value = 0;

SEC("tracepoint/syscalls/sys_enter_getpid")
int read_missing(void *ctx)
{
	struct task_struct___missing *task = (void *)bpf_get_current_task();
#ifdef GUARDED
	seen_exists = bpf_core_field_exists(task->no_such_field);
	if (bpf_core_field_exists(task->no_such_field))
		value = BPF_CORE_READ(task, no_such_field);
#else
	value = BPF_CORE_READ(task, no_such_field);
#endif
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
