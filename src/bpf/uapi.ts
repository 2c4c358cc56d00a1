/**
 * @fileoverview Kernel ABI constants and struct layouts, as named values and byte offsets.
 * Everything here mirrors a Linux UAPI header (named above each block) for x86_64 and arm64
 * (little endian, LP64); offsets were checked with offsetof() against the installed headers and
 * extended by hand with the fields and enum values added up to Linux 6.18. Kernel spellings
 * stay in this file; the modules above it use idiomatic names.
 */

/**
 * A C enum whose members are numbered implicitly: `names[i]` is `first + i`, as the compiler
 * numbers `enum { A = first, B, C }`. The kernel's enums are copied here as their lists of
 * names, in header order, so a value is never written by hand.
 */
export function cEnum<const Names extends readonly string[]>(names: Names, first = 0): { readonly [Name in Names[number]]: number } {
  const values: Record<string, number> = {};
  names.forEach((name, i) => { values[name] = first + i; });
  return values as { readonly [Name in Names[number]]: number };
}

// ---------------------------------------------------------------------------------------------
// include/uapi/linux/bpf.h: enum bpf_cmd
export const BpfCmd = cEnum([
  'MAP_CREATE', 'MAP_LOOKUP_ELEM', 'MAP_UPDATE_ELEM', 'MAP_DELETE_ELEM', 'MAP_GET_NEXT_KEY', 'PROG_LOAD',
  'OBJ_PIN', 'OBJ_GET', 'PROG_ATTACH', 'PROG_DETACH', 'PROG_TEST_RUN', 'PROG_GET_NEXT_ID', 'MAP_GET_NEXT_ID',
  'PROG_GET_FD_BY_ID', 'MAP_GET_FD_BY_ID', 'OBJ_GET_INFO_BY_FD', 'PROG_QUERY', 'RAW_TRACEPOINT_OPEN',
  'BTF_LOAD', 'BTF_GET_FD_BY_ID', 'TASK_FD_QUERY', 'MAP_LOOKUP_AND_DELETE_ELEM', 'MAP_FREEZE',
  'BTF_GET_NEXT_ID', 'MAP_LOOKUP_BATCH', 'MAP_LOOKUP_AND_DELETE_BATCH', 'MAP_UPDATE_BATCH',
  'MAP_DELETE_BATCH', 'LINK_CREATE', 'LINK_UPDATE', 'LINK_GET_FD_BY_ID', 'LINK_GET_NEXT_ID', 'ENABLE_STATS',
  'ITER_CREATE', 'LINK_DETACH', 'PROG_BIND_MAP', 'TOKEN_CREATE',
]);

/** `BpfCmd` value → 'BPF_MAP_CREATE' etc., for error messages. */
export function bpfCmdName(cmd: number): string {
  for (const [name, value] of Object.entries(BpfCmd)) if (value === cmd) return `BPF_${name}`;
  return `BPF_CMD_${cmd}`;
}

// include/uapi/linux/bpf.h: enum bpf_map_type
export const MapType = cEnum([
  'unspec', 'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array', 'stack_trace',
  'cgroup_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps', 'hash_of_maps', 'devmap',
  'sockmap', 'cpumap', 'xskmap', 'sockhash', 'cgroup_storage', 'reuseport_sockarray',
  'percpu_cgroup_storage', 'queue', 'stack', 'sk_storage', 'devmap_hash', 'struct_ops', 'ringbuf',
  'inode_storage', 'task_storage', 'bloom_filter', 'user_ringbuf', 'cgrp_storage', 'arena',
]);
export type MapTypeName = Exclude<keyof typeof MapType, 'unspec'>;

// include/uapi/linux/bpf.h: enum bpf_prog_type
export const ProgType = cEnum([
  'unspec', 'socket_filter', 'kprobe', 'sched_cls', 'sched_act', 'tracepoint', 'xdp', 'perf_event',
  'cgroup_skb', 'cgroup_sock', 'lwt_in', 'lwt_out', 'lwt_xmit', 'sock_ops', 'sk_skb', 'cgroup_device',
  'sk_msg', 'raw_tracepoint', 'cgroup_sock_addr', 'lwt_seg6local', 'lirc_mode2', 'sk_reuseport',
  'flow_dissector', 'cgroup_sysctl', 'raw_tracepoint_writable', 'cgroup_sockopt', 'tracing', 'struct_ops',
  'ext', 'lsm', 'sk_lookup', 'syscall', 'netfilter',
]);
export type ProgTypeName = Exclude<keyof typeof ProgType, 'unspec'>;

// include/uapi/linux/bpf.h: enum bpf_attach_type
export const AttachType = cEnum([
  'CGROUP_INET_INGRESS', 'CGROUP_INET_EGRESS', 'CGROUP_INET_SOCK_CREATE', 'CGROUP_SOCK_OPS',
  'SK_SKB_STREAM_PARSER', 'SK_SKB_STREAM_VERDICT', 'CGROUP_DEVICE', 'SK_MSG_VERDICT', 'CGROUP_INET4_BIND',
  'CGROUP_INET6_BIND', 'CGROUP_INET4_CONNECT', 'CGROUP_INET6_CONNECT', 'CGROUP_INET4_POST_BIND',
  'CGROUP_INET6_POST_BIND', 'CGROUP_UDP4_SENDMSG', 'CGROUP_UDP6_SENDMSG', 'LIRC_MODE2', 'FLOW_DISSECTOR',
  'CGROUP_SYSCTL', 'CGROUP_UDP4_RECVMSG', 'CGROUP_UDP6_RECVMSG', 'CGROUP_GETSOCKOPT', 'CGROUP_SETSOCKOPT',
  'TRACE_RAW_TP', 'TRACE_FENTRY', 'TRACE_FEXIT', 'MODIFY_RETURN', 'LSM_MAC', 'TRACE_ITER',
  'CGROUP_INET4_GETPEERNAME', 'CGROUP_INET6_GETPEERNAME', 'CGROUP_INET4_GETSOCKNAME',
  'CGROUP_INET6_GETSOCKNAME', 'XDP_DEVMAP', 'CGROUP_INET_SOCK_RELEASE', 'XDP_CPUMAP', 'SK_LOOKUP', 'XDP',
  'SK_SKB_VERDICT', 'SK_REUSEPORT_SELECT', 'SK_REUSEPORT_SELECT_OR_MIGRATE', 'PERF_EVENT',
  'TRACE_KPROBE_MULTI', 'LSM_CGROUP', 'STRUCT_OPS', 'NETFILTER', 'TCX_INGRESS', 'TCX_EGRESS',
  'TRACE_UPROBE_MULTI', 'CGROUP_UNIX_CONNECT', 'CGROUP_UNIX_SENDMSG', 'CGROUP_UNIX_RECVMSG',
  'CGROUP_UNIX_GETPEERNAME', 'CGROUP_UNIX_GETSOCKNAME', 'NETKIT_PRIMARY', 'NETKIT_PEER',
  'TRACE_KPROBE_SESSION', 'TRACE_UPROBE_SESSION',
]);

// include/uapi/linux/bpf.h: enum bpf_link_type
export const LinkType = cEnum([
  'UNSPEC', 'RAW_TRACEPOINT', 'TRACING', 'CGROUP', 'ITER', 'NETNS', 'XDP', 'PERF_EVENT', 'KPROBE_MULTI',
  'STRUCT_OPS', 'NETFILTER', 'TCX', 'UPROBE_MULTI', 'NETKIT', 'SOCKMAP',
]);

// include/uapi/linux/bpf.h: BPF_F_* flags, grouped by the command that takes them.
/** BPF_MAP_UPDATE_ELEM flags. */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2, F_LOCK: 4 } as const;
/** BPF_MAP_CREATE map_flags. */
export const MapFlag = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
  LINK: 1 << 13,
  PATH_FD: 1 << 14,
  VTYPE_BTF_OBJ_FD: 1 << 15,
  TOKEN_FD: 1 << 16,
  SEGV_ON_FAULT: 1 << 17,
  NO_USER_CONV: 1 << 18,
} as const;
/** BPF_PROG_LOAD prog_flags. */
export const ProgFlag = {
  STRICT_ALIGNMENT: 1 << 0,
  ANY_ALIGNMENT: 1 << 1,
  TEST_RND_HI32: 1 << 2,
  TEST_STATE_FREQ: 1 << 3,
  SLEEPABLE: 1 << 4,
  XDP_HAS_FRAGS: 1 << 5,
  XDP_DEV_BOUND_ONLY: 1 << 6,
  TEST_REG_INVARIANTS: 1 << 7,
  TOKEN_FD: 1 << 16,
} as const;
/** BPF_PROG_TEST_RUN flags. */
export const TestRunFlag = { RUN_ON_CPU: 1 << 0, XDP_LIVE_FRAMES: 1 << 1, SKB_CHECKSUM_COMPLETE: 1 << 2 } as const;
/** BPF_LINK_CREATE flags for kprobe_multi / uprobe_multi. */
export const LinkFlag = { KPROBE_MULTI_RETURN: 1 << 0, UPROBE_MULTI_RETURN: 1 << 0 } as const;
/** Flags of helpers (bpf_get_stackid, bpf_perf_event_output, bpf_ringbuf_*). */
export const HelperFlag = {
  /** bpf_get_stackid/bpf_get_stack: low 8 bits = frames to skip. */
  SKIP_FIELD_MASK: 0xff,
  USER_STACK: 1 << 8,
  FAST_STACK_CMP: 1 << 9,
  REUSE_STACKID: 1 << 10,
  USER_BUILD_ID: 1 << 11,
  /** bpf_perf_event_output: current CPU's slot. */
  CURRENT_CPU: 0xffffffff,
  /** bpf_ringbuf_output/submit/discard flags. */
  RB_NO_WAKEUP: 1 << 0,
  RB_FORCE_WAKEUP: 1 << 1,
} as const;
/** bpf_ringbuf_query() `flags` argument. */
export const RingbufQuery = { AVAIL_DATA: 0, RING_SIZE: 1, CONS_POS: 2, PROD_POS: 3 } as const;

// ---------------------------------------------------------------------------------------------
// include/uapi/linux/bpf.h: the BPF_FUNC_* helper ids (___BPF_FUNC_MAPPER). The list is frozen
// since Linux 6.2: new kernel functionality comes as kfuncs.
export const Helper = cEnum([
  'unspec', 'map_lookup_elem', 'map_update_elem', 'map_delete_elem', 'probe_read', 'ktime_get_ns',
  'trace_printk', 'get_prandom_u32', 'get_smp_processor_id', 'skb_store_bytes', 'l3_csum_replace',
  'l4_csum_replace', 'tail_call', 'clone_redirect', 'get_current_pid_tgid', 'get_current_uid_gid',
  'get_current_comm', 'get_cgroup_classid', 'skb_vlan_push', 'skb_vlan_pop', 'skb_get_tunnel_key',
  'skb_set_tunnel_key', 'perf_event_read', 'redirect', 'get_route_realm', 'perf_event_output',
  'skb_load_bytes', 'get_stackid', 'csum_diff', 'skb_get_tunnel_opt', 'skb_set_tunnel_opt',
  'skb_change_proto', 'skb_change_type', 'skb_under_cgroup', 'get_hash_recalc', 'get_current_task',
  'probe_write_user', 'current_task_under_cgroup', 'skb_change_tail', 'skb_pull_data', 'csum_update',
  'set_hash_invalid', 'get_numa_node_id', 'skb_change_head', 'xdp_adjust_head', 'probe_read_str',
  'get_socket_cookie', 'get_socket_uid', 'set_hash', 'setsockopt', 'skb_adjust_room', 'redirect_map',
  'sk_redirect_map', 'sock_map_update', 'xdp_adjust_meta', 'perf_event_read_value', 'perf_prog_read_value',
  'getsockopt', 'override_return', 'sock_ops_cb_flags_set', 'msg_redirect_map', 'msg_apply_bytes',
  'msg_cork_bytes', 'msg_pull_data', 'bind', 'xdp_adjust_tail', 'skb_get_xfrm_state', 'get_stack',
  'skb_load_bytes_relative', 'fib_lookup', 'sock_hash_update', 'msg_redirect_hash', 'sk_redirect_hash',
  'lwt_push_encap', 'lwt_seg6_store_bytes', 'lwt_seg6_adjust_srh', 'lwt_seg6_action', 'rc_repeat',
  'rc_keydown', 'skb_cgroup_id', 'get_current_cgroup_id', 'get_local_storage', 'sk_select_reuseport',
  'skb_ancestor_cgroup_id', 'sk_lookup_tcp', 'sk_lookup_udp', 'sk_release', 'map_push_elem', 'map_pop_elem',
  'map_peek_elem', 'msg_push_data', 'msg_pop_data', 'rc_pointer_rel', 'spin_lock', 'spin_unlock',
  'sk_fullsock', 'tcp_sock', 'skb_ecn_set_ce', 'get_listener_sock', 'skc_lookup_tcp', 'tcp_check_syncookie',
  'sysctl_get_name', 'sysctl_get_current_value', 'sysctl_get_new_value', 'sysctl_set_new_value', 'strtol',
  'strtoul', 'sk_storage_get', 'sk_storage_delete', 'send_signal', 'tcp_gen_syncookie', 'skb_output',
  'probe_read_user', 'probe_read_kernel', 'probe_read_user_str', 'probe_read_kernel_str', 'tcp_send_ack',
  'send_signal_thread', 'jiffies64', 'read_branch_records', 'get_ns_current_pid_tgid', 'xdp_output',
  'get_netns_cookie', 'get_current_ancestor_cgroup_id', 'sk_assign', 'ktime_get_boot_ns', 'seq_printf',
  'seq_write', 'sk_cgroup_id', 'sk_ancestor_cgroup_id', 'ringbuf_output', 'ringbuf_reserve',
  'ringbuf_submit', 'ringbuf_discard', 'ringbuf_query', 'csum_level', 'skc_to_tcp6_sock', 'skc_to_tcp_sock',
  'skc_to_tcp_timewait_sock', 'skc_to_tcp_request_sock', 'skc_to_udp6_sock', 'get_task_stack',
  'load_hdr_opt', 'store_hdr_opt', 'reserve_hdr_opt', 'inode_storage_get', 'inode_storage_delete', 'd_path',
  'copy_from_user', 'snprintf_btf', 'seq_printf_btf', 'skb_cgroup_classid', 'redirect_neigh', 'per_cpu_ptr',
  'this_cpu_ptr', 'redirect_peer', 'task_storage_get', 'task_storage_delete', 'get_current_task_btf',
  'bprm_opts_set', 'ktime_get_coarse_ns', 'ima_inode_hash', 'sock_from_file', 'check_mtu',
  'for_each_map_elem', 'snprintf', 'sys_bpf', 'btf_find_by_name_kind', 'sys_close', 'timer_init',
  'timer_set_callback', 'timer_start', 'timer_cancel', 'get_func_ip', 'get_attach_cookie', 'task_pt_regs',
  'get_branch_snapshot', 'trace_vprintk', 'skc_to_unix_sock', 'kallsyms_lookup_name', 'find_vma', 'loop',
  'strncmp', 'get_func_arg', 'get_func_ret', 'get_func_arg_cnt', 'get_retval', 'set_retval',
  'xdp_get_buff_len', 'xdp_load_bytes', 'xdp_store_bytes', 'copy_from_user_task', 'skb_set_tstamp',
  'ima_file_hash', 'kptr_xchg', 'map_lookup_percpu_elem', 'skc_to_mptcp_sock', 'dynptr_from_mem',
  'ringbuf_reserve_dynptr', 'ringbuf_submit_dynptr', 'ringbuf_discard_dynptr', 'dynptr_read', 'dynptr_write',
  'dynptr_data', 'tcp_raw_gen_syncookie_ipv4', 'tcp_raw_gen_syncookie_ipv6', 'tcp_raw_check_syncookie_ipv4',
  'tcp_raw_check_syncookie_ipv6', 'ktime_get_tai_ns', 'user_ringbuf_drain', 'cgrp_storage_get',
  'cgrp_storage_delete',
]);
export type HelperName = keyof typeof Helper;

// ---------------------------------------------------------------------------------------------
// union bpf_attr: byte offsets per command (include/uapi/linux/bpf.h). Sizes are what we pass
// to bpf(2); the kernel accepts a shorter attr and zero-fills the rest.

/** BPF_MAP_CREATE. */
export const MapCreateAttr = {
  map_type: 0, key_size: 4, value_size: 8, max_entries: 12, map_flags: 16, inner_map_fd: 20,
  numa_node: 24, map_name: 28, map_name_len: 16, map_ifindex: 44, btf_fd: 48,
  btf_key_type_id: 52, btf_value_type_id: 56, btf_vmlinux_value_type_id: 60, map_extra: 64,
  sizeBytes: 72,
} as const;
/** BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM / DELETE_ELEM / GET_NEXT_KEY / FREEZE. */
export const MapElemAttr = { map_fd: 0, key: 8, value: 16, next_key: 16, flags: 24, sizeBytes: 32 } as const;
/** BPF_MAP_*_BATCH. */
export const MapBatchAttr = {
  in_batch: 0, out_batch: 8, keys: 16, values: 24, count: 32, map_fd: 36, elem_flags: 40, flags: 48,
  sizeBytes: 56,
} as const;
/** BPF_PROG_LOAD. */
export const ProgLoadAttr = {
  prog_type: 0, insn_cnt: 4, insns: 8, license: 16, log_level: 24, log_size: 28, log_buf: 32,
  kern_version: 40, prog_flags: 44, prog_name: 48, prog_name_len: 16, prog_ifindex: 64,
  expected_attach_type: 68, prog_btf_fd: 72, func_info_rec_size: 76, func_info: 80,
  func_info_cnt: 88, line_info_rec_size: 92, line_info: 96, line_info_cnt: 104, attach_btf_id: 108,
  attach_prog_fd: 112, attach_btf_obj_fd: 112, core_relo_cnt: 116, fd_array: 120, core_relos: 128,
  core_relo_rec_size: 136, log_true_size: 140,
  sizeBytes: 144,
} as const;
/** BPF_PROG_TEST_RUN. */
export const TestRunAttr = {
  prog_fd: 0, retval: 4, data_size_in: 8, data_size_out: 12, data_in: 16, data_out: 24, repeat: 32,
  duration: 36, ctx_size_in: 40, ctx_size_out: 44, ctx_in: 48, ctx_out: 56, flags: 64, cpu: 68,
  batch_size: 72,
  sizeBytes: 80,
} as const;
/** BPF_RAW_TRACEPOINT_OPEN. */
export const RawTracepointAttr = { name: 0, prog_fd: 8, cookie: 16, sizeBytes: 24 } as const;
/** BPF_LINK_CREATE; the union at 16 depends on the attach type. */
export const LinkCreateAttr = {
  prog_fd: 0, target_fd: 4, attach_type: 8, flags: 12,
  target_btf_id: 16,
  perf_event_bpf_cookie: 16,
  kprobe_multi_flags: 16, kprobe_multi_cnt: 20, kprobe_multi_syms: 24, kprobe_multi_addrs: 32,
  kprobe_multi_cookies: 40,
  tracing_target_btf_id: 16, tracing_cookie: 24,
  uprobe_multi_path: 16, uprobe_multi_offsets: 24, uprobe_multi_ref_ctr_offsets: 32,
  uprobe_multi_cookies: 40, uprobe_multi_cnt: 48, uprobe_multi_flags: 52, uprobe_multi_pid: 56,
  /** BPF_TRACE_ITER: a pointer to union bpf_iter_link_info (map iterators: its first u32 is map_fd) and its length. */
  iter_info: 16, iter_info_len: 24,
  sizeBytes: 64,
} as const;
/** BPF_ITER_CREATE: an fd to read(2) a BPF iterator link's output from. */
export const IterCreateAttr = { link_fd: 0, flags: 4, sizeBytes: 8 } as const;
/** BPF_LINK_DETACH / BPF_MAP_FREEZE / BPF_PROG_BIND_MAP (first field is the fd). */
export const FdAttr = { fd: 0, sizeBytes: 8 } as const;
/** BPF_OBJ_GET_INFO_BY_FD. */
export const InfoByFdAttr = { bpf_fd: 0, info_len: 4, info: 8, sizeBytes: 16 } as const;
/** Leading fields of struct bpf_prog_info. */
export const ProgInfo = { type: 0, id: 4, tag: 8, name: 64, run_time_ns: 192, run_cnt: 200, verified_insns: 216, sizeBytes: 232 } as const;
/** Leading fields of struct bpf_map_info. */
export const MapInfo = { type: 0, id: 4, key_size: 8, value_size: 12, max_entries: 16, map_flags: 20, name: 24, sizeBytes: 88 } as const;
/** Leading fields of struct bpf_link_info. */
export const LinkInfo = { type: 0, id: 4, prog_id: 8, sizeBytes: 48 } as const;

/** BPF instructions are 8 bytes (struct bpf_insn). */
export const BPF_INSN_SIZE_BYTES = 8;
/** BPF_OBJ_NAME_LEN: map and program names, NUL included. */
export const BPF_OBJ_NAME_LEN = 16;
/** The verifier's hard limit on instructions processed (BPF_COMPLEXITY_LIMIT_INSNS). */
export const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;
/** Maximum verifier log size (kernel/bpf/verifier.c: UINT_MAX >> 2). */
export const BPF_LOG_MAX_SIZE_BYTES = 0x3fffffff;
/** Verifier log levels (BPF_LOG_LEVEL1, BPF_LOG_LEVEL2, BPF_LOG_STATS). */
export const LogLevel = { OFF: 0, LEVEL1: 1, LEVEL2: 2, STATS: 4 } as const;

// ---------------------------------------------------------------------------------------------
// kernel/bpf/ringbuf.c, include/uapi/linux/bpf.h: ring buffer record header (struct bpf_ringbuf_hdr).
export const Ringbuf = {
  BUSY_BIT: 0x80000000,
  DISCARD_BIT: 0x40000000,
  /** len (u32, with the two bits above) + pg_off (u32). */
  HDR_SIZE_BYTES: 8,
} as const;

// ---------------------------------------------------------------------------------------------
// include/uapi/linux/perf_event.h
export const PerfType = {
  HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2, HW_CACHE: 3, RAW: 4, BREAKPOINT: 5,
} as const;
export const PerfHwId = {
  CPU_CYCLES: 0, INSTRUCTIONS: 1, CACHE_REFERENCES: 2, CACHE_MISSES: 3, BRANCH_INSTRUCTIONS: 4,
  BRANCH_MISSES: 5, BUS_CYCLES: 6, STALLED_CYCLES_FRONTEND: 7, STALLED_CYCLES_BACKEND: 8, REF_CPU_CYCLES: 9,
} as const;
export const PerfSwId = {
  CPU_CLOCK: 0, TASK_CLOCK: 1, PAGE_FAULTS: 2, CONTEXT_SWITCHES: 3, CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5, PAGE_FAULTS_MAJ: 6, ALIGNMENT_FAULTS: 7, EMULATION_FAULTS: 8, DUMMY: 9,
  BPF_OUTPUT: 10, CGROUP_SWITCHES: 11,
} as const;
export const PerfSampleType = {
  IP: 1 << 0, TID: 1 << 1, TIME: 1 << 2, ADDR: 1 << 3, READ: 1 << 4, CALLCHAIN: 1 << 5, ID: 1 << 6,
  CPU: 1 << 7, PERIOD: 1 << 8, STREAM_ID: 1 << 9, RAW: 1 << 10,
} as const;
/** Bit numbers inside perf_event_attr's flags word (offset 40). */
export const PerfAttrFlagBit = {
  disabled: 0, inherit: 1, pinned: 2, exclusive: 3, exclude_user: 4, exclude_kernel: 5,
  exclude_hv: 6, exclude_idle: 7, mmap: 8, comm: 9, freq: 10, inherit_stat: 11,
  enable_on_exec: 12, task: 13, watermark: 14, precise_ip: 15 /* 2 bits */, mmap_data: 17,
  sample_id_all: 18, exclude_host: 19, exclude_guest: 20, exclude_callchain_kernel: 21,
  exclude_callchain_user: 22, mmap2: 23, comm_exec: 24, use_clockid: 25, context_switch: 26,
  write_backward: 27, namespaces: 28, ksymbol: 29, bpf_event: 30, aux_output: 31, cgroup: 32,
  text_poke: 33, build_id: 34, inherit_thread: 35, remove_on_exec: 36, sigtrap: 37,
} as const;
/** struct perf_event_attr (PERF_ATTR_SIZE_VER7 = 128 bytes; 6.3 added config3 at 128). */
export const PerfEventAttr = {
  type: 0, size: 4, config: 8, sample_period: 16, sample_freq: 16, sample_type: 24, read_format: 32,
  flags: 40, wakeup_events: 48, wakeup_watermark: 48, bp_type: 52, config1: 56, bp_addr: 56,
  kprobe_func: 56, uprobe_path: 56, config2: 64, bp_len: 64, kprobe_addr: 64, probe_offset: 64,
  branch_sample_type: 72, sample_regs_user: 80, sample_stack_user: 88, clockid: 92,
  sample_regs_intr: 96, aux_watermark: 104, sample_max_stack: 108, aux_sample_size: 112,
  sig_data: 120, config3: 128,
  sizeBytes: 128,
} as const;
/** perf_event_open(2) flags. */
export const PerfFlag = { FD_NO_GROUP: 1, FD_OUTPUT: 2, PID_CGROUP: 4, FD_CLOEXEC: 8 } as const;
/**
 * An ioctl request number (asm-generic/ioctl.h's _IOC): direction (0 none, 1 write), size of
 * the argument, type letter, number. _IO(t, n) is ioctlRequest(0, t, n, 0); _IOW(t, n, T) is
 * ioctlRequest(1, t, n, sizeof(T)).
 */
export function ioctlRequest(dir: 0 | 1, type: string, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type.charCodeAt(0) << 8) | nr) >>> 0;
}
/** ioctl requests on a perf event fd (perf_event.h's PERF_EVENT_IOC_*). */
export const PerfIoctl = {
  ENABLE: ioctlRequest(0, '$', 0, 0), DISABLE: ioctlRequest(0, '$', 1, 0), REFRESH: ioctlRequest(0, '$', 2, 0),
  RESET: ioctlRequest(0, '$', 3, 0), SET_BPF: ioctlRequest(1, '$', 8, 4),
} as const;

// ---------------------------------------------------------------------------------------------
// Generic libc/kernel constants (asm-generic/mman-common.h, fcntl.h, eventpoll.h, mount.h).
export const Mmap = {
  PROT_READ: 1, PROT_WRITE: 2, PROT_EXEC: 4,
  MAP_SHARED: 0x01, MAP_PRIVATE: 0x02, MAP_ANONYMOUS: 0x20,
} as const;
export const O_CLOEXEC = 0o2000000;
export const Epoll = {
  CLOEXEC: O_CLOEXEC, CTL_ADD: 1, CTL_DEL: 2, CTL_MOD: 3,
  IN: 0x001, OUT: 0x004, ERR: 0x008, HUP: 0x010,
  /** struct epoll_event is packed on x86_64 (12 bytes) and naturally aligned elsewhere (16). */
} as const;

// ---------------------------------------------------------------------------------------------
// include/uapi/asm-generic/errno-base.h, errno.h; plus the kernel-internal codes (include/linux/errno.h)
// that bpf(2) is known to leak to user space (ENOTSUPP = 524).
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  8: 'ENOEXEC',
  9: 'EBADF',
  10: 'ECHILD',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  15: 'ENOTBLK',
  16: 'EBUSY',
  17: 'EEXIST',
  18: 'EXDEV',
  19: 'ENODEV',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  23: 'ENFILE',
  24: 'EMFILE',
  25: 'ENOTTY',
  26: 'ETXTBSY',
  27: 'EFBIG',
  28: 'ENOSPC',
  29: 'ESPIPE',
  30: 'EROFS',
  31: 'EMLINK',
  32: 'EPIPE',
  33: 'EDOM',
  34: 'ERANGE',
  35: 'EDEADLK',
  36: 'ENAMETOOLONG',
  37: 'ENOLCK',
  38: 'ENOSYS',
  39: 'ENOTEMPTY',
  40: 'ELOOP',
  42: 'ENOMSG',
  43: 'EIDRM',
  44: 'ECHRNG',
  45: 'EL2NSYNC',
  46: 'EL3HLT',
  47: 'EL3RST',
  48: 'ELNRNG',
  49: 'EUNATCH',
  50: 'ENOCSI',
  51: 'EL2HLT',
  52: 'EBADE',
  53: 'EBADR',
  54: 'EXFULL',
  55: 'ENOANO',
  56: 'EBADRQC',
  57: 'EBADSLT',
  59: 'EBFONT',
  60: 'ENOSTR',
  61: 'ENODATA',
  62: 'ETIME',
  63: 'ENOSR',
  64: 'ENONET',
  65: 'ENOPKG',
  66: 'EREMOTE',
  67: 'ENOLINK',
  68: 'EADV',
  69: 'ESRMNT',
  70: 'ECOMM',
  71: 'EPROTO',
  72: 'EMULTIHOP',
  73: 'EDOTDOT',
  74: 'EBADMSG',
  75: 'EOVERFLOW',
  76: 'ENOTUNIQ',
  77: 'EBADFD',
  78: 'EREMCHG',
  79: 'ELIBACC',
  80: 'ELIBBAD',
  81: 'ELIBSCN',
  82: 'ELIBMAX',
  83: 'ELIBEXEC',
  84: 'EILSEQ',
  85: 'ERESTART',
  86: 'ESTRPIPE',
  87: 'EUSERS',
  88: 'ENOTSOCK',
  89: 'EDESTADDRREQ',
  90: 'EMSGSIZE',
  91: 'EPROTOTYPE',
  92: 'ENOPROTOOPT',
  93: 'EPROTONOSUPPORT',
  94: 'ESOCKTNOSUPPORT',
  95: 'EOPNOTSUPP',
  96: 'EPFNOSUPPORT',
  97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN',
  101: 'ENETUNREACH',
  102: 'ENETRESET',
  103: 'ECONNABORTED',
  104: 'ECONNRESET',
  105: 'ENOBUFS',
  106: 'EISCONN',
  107: 'ENOTCONN',
  108: 'ESHUTDOWN',
  109: 'ETOOMANYREFS',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  112: 'EHOSTDOWN',
  113: 'EHOSTUNREACH',
  114: 'EALREADY',
  115: 'EINPROGRESS',
  116: 'ESTALE',
  117: 'EUCLEAN',
  118: 'ENOTNAM',
  119: 'ENAVAIL',
  120: 'EISNAM',
  121: 'EREMOTEIO',
  122: 'EDQUOT',
  123: 'ENOMEDIUM',
  124: 'EMEDIUMTYPE',
  125: 'ECANCELED',
  126: 'ENOKEY',
  127: 'EKEYEXPIRED',
  128: 'EKEYREVOKED',
  129: 'EKEYREJECTED',
  130: 'EOWNERDEAD',
  131: 'ENOTRECOVERABLE',
  132: 'ERFKILL',
  512: 'ERESTARTSYS',
  513: 'ERESTARTNOINTR',
  514: 'ERESTARTNOHAND',
  515: 'ENOIOCTLCMD',
  516: 'ERESTART_RESTARTBLOCK',
  517: 'EPROBE_DEFER',
  518: 'EOPENSTALE',
  519: 'ENOPARAM',
  521: 'EBADHANDLE',
  522: 'ENOTSYNC',
  523: 'EBADCOOKIE',
  524: 'ENOTSUPP',
  525: 'ETOOSMALL',
  526: 'ESERVERFAULT',
  527: 'EBADTYPE',
  528: 'EJUKEBOX',
  529: 'EIOCBQUEUED',
  530: 'ERECALLCONFLICT',
};

/** Errno numbers by name, for callers that test `err.errno === Errno.ENOENT`. */
export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9, EAGAIN: 11,
  ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, ENOTDIR: 20, EINVAL: 22,
  EMFILE: 24, ENOTTY: 25, EFBIG: 27, ENOSPC: 28, ERANGE: 34, ENOSYS: 38, ELOOP: 40, EOVERFLOW: 75,
  EOPNOTSUPP: 95, ENOTSUP: 95, ENOTSUPP: 524,
} as const;

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}
