// One record per call of getpid() by target_tgid (set before load, in .rodata): a bit-field read
// (signal->is_child_subreaper, set by prctl(PR_SET_CHILD_SUBREAPER)), a ___v46 flavor of
// task_struct, kconfig externs, a .rodata switch, type size / existence and enum value relocations.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern u32 LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern int CONFIG_NO_SUCH_OPTION_FOR_TEST __kconfig __weak;

const volatile u32 target_tgid = 0;
const volatile bool report_parent = false;

/* An old layout's name for the same struct: CO-RE drops "___v46" when it looks for candidates. */
struct task_struct___v46 {
	int pid;
	int tgid;
	int field_only_in_v46;
} __attribute__((preserve_access_index));

struct result {
	u32 kernel_version;
	u32 config_bpf_syscall;
	u32 config_missing;
	u32 subreaper;
	u32 flavor_pid;
	u32 flavor_tgid;
	u32 flavor_extra_exists;
	u32 who;
	u32 task_struct_size;
	u32 task_struct_exists;
	u32 no_such_type_exists;
	u32 pidtype_tgid;
	u32 calls;
};

struct result result = {};

struct no_such_kernel_type___x { int a; };

SEC("tracepoint/syscalls/sys_enter_getpid")
int features(void *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid != target_tgid)
		return 0;
	struct task_struct *task = (void *)bpf_get_current_task();
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	struct task_struct___v46 *old = (void *)task;

	result.kernel_version = LINUX_KERNEL_VERSION;
	result.config_bpf_syscall = CONFIG_BPF_SYSCALL;
	result.config_missing = CONFIG_NO_SUCH_OPTION_FOR_TEST;
	result.subreaper = BPF_CORE_READ_BITFIELD_PROBED(sig, is_child_subreaper);
	result.flavor_pid = BPF_CORE_READ(old, pid);
	result.flavor_tgid = BPF_CORE_READ(old, tgid);
	result.flavor_extra_exists = bpf_core_field_exists(old->field_only_in_v46);
	if (report_parent)
		result.who = BPF_CORE_READ(task, real_parent, tgid);
	else
		result.who = tgid;
	result.task_struct_size = bpf_core_type_size(struct task_struct);
	result.task_struct_exists = bpf_core_type_exists(struct task_struct);
	result.no_such_type_exists = bpf_core_type_exists(struct no_such_kernel_type___x);
	result.pidtype_tgid = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	result.calls++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
