/**
 * @fileoverview Kernel ABI constants and struct layouts, as named values and byte offsets.
 * Everything here mirrors a Linux UAPI header (named above each block) for x86_64 and arm64
 * (little endian, LP64); offsets were checked with offsetof() against the installed headers and
 * extended by hand with the fields and enum values added up to Linux 6.18. Kernel spellings
 * stay in this file; the modules above it use idiomatic names.
 */

// ---------------------------------------------------------------------------------------------
// include/uapi/linux/bpf.h: enum bpf_cmd
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
  TOKEN_CREATE: 36,
} as const;

/** `BpfCmd` value → 'BPF_MAP_CREATE' etc., for error messages. */
export function bpfCmdName(cmd: number): string {
  for (const [name, value] of Object.entries(BpfCmd)) if (value === cmd) return `BPF_${name}`;
  return `BPF_CMD_${cmd}`;
}

// include/uapi/linux/bpf.h: enum bpf_map_type
export const MapType = {
  unspec: 0,
  hash: 1,
  array: 2,
  prog_array: 3,
  perf_event_array: 4,
  percpu_hash: 5,
  percpu_array: 6,
  stack_trace: 7,
  cgroup_array: 8,
  lru_hash: 9,
  lru_percpu_hash: 10,
  lpm_trie: 11,
  array_of_maps: 12,
  hash_of_maps: 13,
  devmap: 14,
  sockmap: 15,
  cpumap: 16,
  xskmap: 17,
  sockhash: 18,
  cgroup_storage: 19,
  reuseport_sockarray: 20,
  percpu_cgroup_storage: 21,
  queue: 22,
  stack: 23,
  sk_storage: 24,
  devmap_hash: 25,
  struct_ops: 26,
  ringbuf: 27,
  inode_storage: 28,
  task_storage: 29,
  bloom_filter: 30,
  user_ringbuf: 31,
  cgrp_storage: 32,
  arena: 33,
} as const;
export type MapTypeName = Exclude<keyof typeof MapType, 'unspec'>;

// include/uapi/linux/bpf.h: enum bpf_prog_type
export const ProgType = {
  unspec: 0,
  socket_filter: 1,
  kprobe: 2,
  sched_cls: 3,
  sched_act: 4,
  tracepoint: 5,
  xdp: 6,
  perf_event: 7,
  cgroup_skb: 8,
  cgroup_sock: 9,
  lwt_in: 10,
  lwt_out: 11,
  lwt_xmit: 12,
  sock_ops: 13,
  sk_skb: 14,
  cgroup_device: 15,
  sk_msg: 16,
  raw_tracepoint: 17,
  cgroup_sock_addr: 18,
  lwt_seg6local: 19,
  lirc_mode2: 20,
  sk_reuseport: 21,
  flow_dissector: 22,
  cgroup_sysctl: 23,
  raw_tracepoint_writable: 24,
  cgroup_sockopt: 25,
  tracing: 26,
  struct_ops: 27,
  ext: 28,
  lsm: 29,
  sk_lookup: 30,
  syscall: 31,
  netfilter: 32,
} as const;
export type ProgTypeName = Exclude<keyof typeof ProgType, 'unspec'>;

// include/uapi/linux/bpf.h: enum bpf_attach_type
export const AttachType = {
  CGROUP_INET_INGRESS: 0,
  CGROUP_INET_EGRESS: 1,
  CGROUP_INET_SOCK_CREATE: 2,
  CGROUP_SOCK_OPS: 3,
  SK_SKB_STREAM_PARSER: 4,
  SK_SKB_STREAM_VERDICT: 5,
  CGROUP_DEVICE: 6,
  SK_MSG_VERDICT: 7,
  CGROUP_INET4_BIND: 8,
  CGROUP_INET6_BIND: 9,
  CGROUP_INET4_CONNECT: 10,
  CGROUP_INET6_CONNECT: 11,
  CGROUP_INET4_POST_BIND: 12,
  CGROUP_INET6_POST_BIND: 13,
  CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15,
  LIRC_MODE2: 16,
  FLOW_DISSECTOR: 17,
  CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19,
  CGROUP_UDP6_RECVMSG: 20,
  CGROUP_GETSOCKOPT: 21,
  CGROUP_SETSOCKOPT: 22,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30,
  CGROUP_INET4_GETSOCKNAME: 31,
  CGROUP_INET6_GETSOCKNAME: 32,
  XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34,
  XDP_CPUMAP: 35,
  SK_LOOKUP: 36,
  XDP: 37,
  SK_SKB_VERDICT: 38,
  SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  LSM_CGROUP: 43,
  STRUCT_OPS: 44,
  NETFILTER: 45,
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
  TRACE_UPROBE_MULTI: 48,
  CGROUP_UNIX_CONNECT: 49,
  CGROUP_UNIX_SENDMSG: 50,
  CGROUP_UNIX_RECVMSG: 51,
  CGROUP_UNIX_GETPEERNAME: 52,
  CGROUP_UNIX_GETSOCKNAME: 53,
  NETKIT_PRIMARY: 54,
  NETKIT_PEER: 55,
  TRACE_KPROBE_SESSION: 56,
  TRACE_UPROBE_SESSION: 57,
} as const;

// include/uapi/linux/bpf.h: enum bpf_link_type
export const LinkType = {
  UNSPEC: 0,
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  CGROUP: 3,
  ITER: 4,
  NETNS: 5,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  STRUCT_OPS: 9,
  NETFILTER: 10,
  TCX: 11,
  UPROBE_MULTI: 12,
  NETKIT: 13,
  SOCKMAP: 14,
} as const;

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
export const Helper = {
  unspec: 0,
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  probe_read: 4,
  ktime_get_ns: 5,
  trace_printk: 6,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
  skb_store_bytes: 9,
  l3_csum_replace: 10,
  l4_csum_replace: 11,
  tail_call: 12,
  clone_redirect: 13,
  get_current_pid_tgid: 14,
  get_current_uid_gid: 15,
  get_current_comm: 16,
  get_cgroup_classid: 17,
  skb_vlan_push: 18,
  skb_vlan_pop: 19,
  skb_get_tunnel_key: 20,
  skb_set_tunnel_key: 21,
  perf_event_read: 22,
  redirect: 23,
  get_route_realm: 24,
  perf_event_output: 25,
  skb_load_bytes: 26,
  get_stackid: 27,
  csum_diff: 28,
  skb_get_tunnel_opt: 29,
  skb_set_tunnel_opt: 30,
  skb_change_proto: 31,
  skb_change_type: 32,
  skb_under_cgroup: 33,
  get_hash_recalc: 34,
  get_current_task: 35,
  probe_write_user: 36,
  current_task_under_cgroup: 37,
  skb_change_tail: 38,
  skb_pull_data: 39,
  csum_update: 40,
  set_hash_invalid: 41,
  get_numa_node_id: 42,
  skb_change_head: 43,
  xdp_adjust_head: 44,
  probe_read_str: 45,
  get_socket_cookie: 46,
  get_socket_uid: 47,
  set_hash: 48,
  setsockopt: 49,
  skb_adjust_room: 50,
  redirect_map: 51,
  sk_redirect_map: 52,
  sock_map_update: 53,
  xdp_adjust_meta: 54,
  perf_event_read_value: 55,
  perf_prog_read_value: 56,
  getsockopt: 57,
  override_return: 58,
  sock_ops_cb_flags_set: 59,
  msg_redirect_map: 60,
  msg_apply_bytes: 61,
  msg_cork_bytes: 62,
  msg_pull_data: 63,
  bind: 64,
  xdp_adjust_tail: 65,
  skb_get_xfrm_state: 66,
  get_stack: 67,
  skb_load_bytes_relative: 68,
  fib_lookup: 69,
  sock_hash_update: 70,
  msg_redirect_hash: 71,
  sk_redirect_hash: 72,
  lwt_push_encap: 73,
  lwt_seg6_store_bytes: 74,
  lwt_seg6_adjust_srh: 75,
  lwt_seg6_action: 76,
  rc_repeat: 77,
  rc_keydown: 78,
  skb_cgroup_id: 79,
  get_current_cgroup_id: 80,
  get_local_storage: 81,
  sk_select_reuseport: 82,
  skb_ancestor_cgroup_id: 83,
  sk_lookup_tcp: 84,
  sk_lookup_udp: 85,
  sk_release: 86,
  map_push_elem: 87,
  map_pop_elem: 88,
  map_peek_elem: 89,
  msg_push_data: 90,
  msg_pop_data: 91,
  rc_pointer_rel: 92,
  spin_lock: 93,
  spin_unlock: 94,
  sk_fullsock: 95,
  tcp_sock: 96,
  skb_ecn_set_ce: 97,
  get_listener_sock: 98,
  skc_lookup_tcp: 99,
  tcp_check_syncookie: 100,
  sysctl_get_name: 101,
  sysctl_get_current_value: 102,
  sysctl_get_new_value: 103,
  sysctl_set_new_value: 104,
  strtol: 105,
  strtoul: 106,
  sk_storage_get: 107,
  sk_storage_delete: 108,
  send_signal: 109,
  tcp_gen_syncookie: 110,
  skb_output: 111,
  probe_read_user: 112,
  probe_read_kernel: 113,
  probe_read_user_str: 114,
  probe_read_kernel_str: 115,
  tcp_send_ack: 116,
  send_signal_thread: 117,
  jiffies64: 118,
  read_branch_records: 119,
  get_ns_current_pid_tgid: 120,
  xdp_output: 121,
  get_netns_cookie: 122,
  get_current_ancestor_cgroup_id: 123,
  sk_assign: 124,
  ktime_get_boot_ns: 125,
  seq_printf: 126,
  seq_write: 127,
  sk_cgroup_id: 128,
  sk_ancestor_cgroup_id: 129,
  ringbuf_output: 130,
  ringbuf_reserve: 131,
  ringbuf_submit: 132,
  ringbuf_discard: 133,
  ringbuf_query: 134,
  csum_level: 135,
  skc_to_tcp6_sock: 136,
  skc_to_tcp_sock: 137,
  skc_to_tcp_timewait_sock: 138,
  skc_to_tcp_request_sock: 139,
  skc_to_udp6_sock: 140,
  get_task_stack: 141,
  load_hdr_opt: 142,
  store_hdr_opt: 143,
  reserve_hdr_opt: 144,
  inode_storage_get: 145,
  inode_storage_delete: 146,
  d_path: 147,
  copy_from_user: 148,
  snprintf_btf: 149,
  seq_printf_btf: 150,
  skb_cgroup_classid: 151,
  redirect_neigh: 152,
  per_cpu_ptr: 153,
  this_cpu_ptr: 154,
  redirect_peer: 155,
  task_storage_get: 156,
  task_storage_delete: 157,
  get_current_task_btf: 158,
  bprm_opts_set: 159,
  ktime_get_coarse_ns: 160,
  ima_inode_hash: 161,
  sock_from_file: 162,
  check_mtu: 163,
  for_each_map_elem: 164,
  snprintf: 165,
  sys_bpf: 166,
  btf_find_by_name_kind: 167,
  sys_close: 168,
  timer_init: 169,
  timer_set_callback: 170,
  timer_start: 171,
  timer_cancel: 172,
  get_func_ip: 173,
  get_attach_cookie: 174,
  task_pt_regs: 175,
  get_branch_snapshot: 176,
  trace_vprintk: 177,
  skc_to_unix_sock: 178,
  kallsyms_lookup_name: 179,
  find_vma: 180,
  loop: 181,
  strncmp: 182,
  get_func_arg: 183,
  get_func_ret: 184,
  get_func_arg_cnt: 185,
  get_retval: 186,
  set_retval: 187,
  xdp_get_buff_len: 188,
  xdp_load_bytes: 189,
  xdp_store_bytes: 190,
  copy_from_user_task: 191,
  skb_set_tstamp: 192,
  ima_file_hash: 193,
  kptr_xchg: 194,
  map_lookup_percpu_elem: 195,
  skc_to_mptcp_sock: 196,
  dynptr_from_mem: 197,
  ringbuf_reserve_dynptr: 198,
  ringbuf_submit_dynptr: 199,
  ringbuf_discard_dynptr: 200,
  dynptr_read: 201,
  dynptr_write: 202,
  dynptr_data: 203,
  tcp_raw_gen_syncookie_ipv4: 204,
  tcp_raw_gen_syncookie_ipv6: 205,
  tcp_raw_check_syncookie_ipv4: 206,
  tcp_raw_check_syncookie_ipv6: 207,
  ktime_get_tai_ns: 208,
  user_ringbuf_drain: 209,
  cgrp_storage_get: 210,
  cgrp_storage_delete: 211,
} as const;
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
  sizeBytes: 64,
} as const;
/** BPF_LINK_DETACH / BPF_MAP_FREEZE / BPF_PROG_BIND_MAP (first field is the fd). */
export const FdAttr = { fd: 0, sizeBytes: 8 } as const;
/** BPF_OBJ_GET_INFO_BY_FD. */
export const InfoByFdAttr = { bpf_fd: 0, info_len: 4, info: 8, sizeBytes: 16 } as const;
/** Leading fields of struct bpf_prog_info. */
export const ProgInfo = { type: 0, id: 4, tag: 8, name: 64, run_time_ns: 192, run_cnt: 200, sizeBytes: 232 } as const;
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
/** ioctl requests on a perf event fd (_IO/_IOW('$', n, …)). */
export const PerfIoctl = {
  ENABLE: 0x2400,
  DISABLE: 0x2401,
  REFRESH: 0x2402,
  RESET: 0x2403,
  SET_BPF: 0x40042408,
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
