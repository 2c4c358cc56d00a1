// A getpid counter in a map pinned by name (libbpf's LIBBPF_PIN_BY_NAME): a second load of the
// object finds the pinned map and keeps counting into it. -DMAX_ENTRIES=N builds an incompatible
// definition of the same map.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef MAX_ENTRIES
#define MAX_ENTRIES 64
#endif

const volatile u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *n;

	if (tgid != target_tgid)
		return 0;
	n = bpf_map_lookup_elem(&pinned_counts, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&pinned_counts, &tgid, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
