/**
 * @fileoverview Storage of D variables: builtins, globals, clause-locals, thread-locals and associative arrays (keys, lookups, updates).
 */
import { emitChipStore } from './cpu-topology.js';
import { R0, R1, R2, R3, R4, R5, R9, R10, imm, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { MST, STATE, MAX_KEY_COMPONENTS } from '../layout.js';
import { type VType, type VarInfo, I64, I32, U32, U64 } from '../infer.js';
import { sizeOf } from '../../check/ctypes.js';
import { ASSOC_KEY_PREFIX_BYTES } from '../assoc-maps.js';
import { LowerError, unchecked, type Val } from './context.js';

/** The builtin variables lowered here (the others are inlines of the D library). */
const NATIVE_VARIABLES: ReadonlySet<string> = new Set([
  'pid', 'tid', 'ppid', 'uid', 'gid', 'cpu', 'epid', 'id', 'timestamp', 'vtimestamp', 'walltimestamp', 'errno', 'ipl',
  'execname', 'probeprov', 'probemod', 'probefunc', 'probename', ...Array.from({ length: 10 }, (_, i) => `arg${i}`),
  'curthread', 'stackdepth', 'ustackdepth', 'caller', 'ucaller', 'uregs',
]);
import { StringLowering } from './strings.js';

/** How deeply associative array lookups may nest inside one another's keys. */
const MAX_KEY_NESTING = 8;

export abstract class StorageLowering extends StringLowering {
  protected macroVar(e: A.MacroVar): Val {
    const a = this.asm;
    const o = this.env.options;
    if (e.name === 'target' || e.name === 'pid') {
      const r = this.alloc(e);
      a.movImm64(r, BigInt(e.name === 'target' ? (o.target ?? 0) : process.pid));
      return { t: 'int', reg: r, type: I32 };
    }
    const n = Number(e.name);
    const text = Number.isInteger(n) && n >= 1 ? o.macroArgs[n - 1] : undefined;
    if (text === undefined) {
      // DTrace: an unset macro argument is 0 / "" only with -x defaultargs (checked earlier).
      if (e.stringForm) return this.strLiteral('', e);
      const r = this.alloc(e); a.mov(r, imm(0)); return { t: 'int', reg: r, type: I64 };
    }
    const t = this.typeOf(e);
    if (t.t === 'str') return this.strLiteral(text, e);
    const r = this.alloc(e);
    a.movImm64(r, BigInt(text.trim()));
    return { t: 'int', reg: r, type: I64 };
  }

  /** cpu_chip of curcpu: the CPU's package from the topology table, 0 when the kernel's topology is unknown. */
  private storeChip(cpuOffset: number, chipOffset: number): void {
    const packages = this.env.cpuPackages?.();
    if (!packages?.length) { this.asm.st(4, R9, chipOffset, 0); return; }
    this.env.usesCpuTopology = true;
    emitChipStore(this.asm, cpuOffset, chipOffset, packages.length);
  }

  protected ident(e: A.Ident): Val {
    const a = this.asm;
    const name = e.name;
    const g = this.env.sym.globals.get(name);
    if (g && !NATIVE_VARIABLES.has(name)) return this.loadGlobal(g, e);
    const s = this.sym(e);
    if (s?.kind === 'xlate-input' || s?.kind === 'inline-param' || (!s && this.bindingOf(name))) return this.xlateInputValue(e);
    if (s?.kind === 'inline' && !s.info.params && !NATIVE_VARIABLES.has(name)) return this.expr(s.info.value, false)!;
    if (s?.kind === 'builtin-var' && !NATIVE_VARIABLES.has(name)) {
      const inl = this.env.checked.inlines.get(name);
      if (inl) return this.expr(inl.value, false)!;
    }
    const r = this.alloc(e);
    const int = (type: VType): Val => ({ t: 'int', reg: r, type });
    switch (name) {
      case 'pid': a.call(Helper.get_current_pid_tgid).alu64('rsh', R0, imm(32)).mov(r, R0); return int(I32);
      case 'tid': a.call(Helper.get_current_pid_tgid).mov32(r, R0); return int(I32);
      case 'uid': a.call(Helper.get_current_uid_gid).mov32(r, R0); return int(U32);
      case 'gid': a.call(Helper.get_current_uid_gid).alu64('rsh', R0, imm(32)).mov(r, R0); return int(U32);
      case 'cpu': a.call(Helper.get_smp_processor_id).mov(r, R0); return int(I32);
      case 'curthread': a.call(Helper.get_current_task).mov(r, R0); return int(U64);
      case 'curcpu': {
        // Linux has no cpu_t: fill a cpuinfo_t in the scratch value and point at it (its
        // address as a number, read like any kernel pointer).
        const ci = MST.cpuinfo;
        a.call(Helper.get_smp_processor_id).stx(4, R9, ci, R0).st(4, R9, ci + 4, 0);
        this.storeChip(ci, ci + 8);
        a.call(Helper.get_numa_node_id).stx(4, R9, ci + 12, R0).st(4, R9, ci + 16, 0);
        a.mov(r, R9).alu64('add', r, imm(ci)).stx(8, R9, MST.scratchU64, r).ldx(8, r, R9, MST.scratchU64);
        return int(U64);
      }
      case 'timestamp': case 'vtimestamp': {
        // One value per probe firing, as in DTrace: read the clock on first use, then reuse it.
        const have = a.newLabel('tsok');
        a.ldx(8, r, R9, MST.timestamp).jmp('jne', r, imm(0), have);
        a.call(Helper.ktime_get_ns).mov(r, R0).stx(8, R9, MST.timestamp, R0);
        a.label(have).mov(r, r);
        return int(U64);
      }
      case 'walltimestamp':
        a.call(Helper.ktime_get_ns).mov(r, R0).ldImm64(R1, this.env.options.walltimeOffsetNs).alu64('add', r, R1);
        return int(I64);
      case 'epid': case 'id': this.probeId(r); return int(U32);
      case 'errno': a.ldx(4, r, R9, MST.errno); return int(I32);
      case 'ppid': {
        // curthread->real_parent->tgid, with offsets from the kernel's BTF.
        const task = this.env.kernelTypes()?.structType('struct', 'task_struct');
        const parent = task && this.findMember(task, 'real_parent');
        const tgid = task && this.findMember(task, 'tgid');
        if (!parent || !tgid) { this.release(r); throw new LowerError('ppid needs struct task_struct from the kernel BTF', e); }
        a.call(Helper.get_current_task).mov(r, R0).alu64('add', r, imm(parent.bitOffset / 8));
        this.readMemory(r, 8, 'kernel');
        a.ldx(8, r, R9, MST.scratchU64).alu64('add', r, imm(tgid.bitOffset / 8));
        this.readMemory(r, 4, 'kernel');
        a.ldx(4, r, R9, MST.scratchU64).movsx(r, r, 32);
        return int(I32);
      }
      case 'execname': {
        this.release(r);
        return this.execname(e);
      }
      case 'probeprov': case 'probemod': case 'probefunc': case 'probename': {
        const field = (['probeprov', 'probemod', 'probefunc', 'probename'] as const).indexOf(name);
        const key = (['provider', 'module', 'function', 'name'] as const)[field]!;
        const members = this.probe.shared ?? [this.probe];
        if (members.every((m) => m[key] === this.probe[key])) { this.release(r); return this.strLiteral(this.probe[key], e); }
        // Shared code: the probe's own name, from the table compile.ts builds.
        let bound = 0;
        for (const m of members) {
          const off = this.env.literal(m[key]);
          bound = Math.max(bound, off);
          const row = this.env.probeNameOffsets.get(m.id) ?? [0, 0, 0, 0];
          row[field] = off;
          this.env.probeNameOffsets.set(m.id, row);
        }
        const maxId = Math.max(...members.map((m) => m.id));
        const ok = a.newLabel('pnok');
        a.ldx(4, R1, R9, MST.prid).jmp('jle', R1, imm(maxId), ok).mov(R1, imm(0)).label(ok);
        a.alu64('lsh', R1, imm(4)).ldMapValue(R2, 'probenames', field * 4).alu64('add', R2, R1).ldx(4, R2, R2, 0);
        const inb = a.newLabel('pnin');
        a.jmp('jle', R2, imm(bound), inb).mov(R2, imm(0)).label(inb);
        a.ldMapValue(r, 'strtab', 0).alu64('add', r, R2);
        return { t: 'str', reg: r };
      }
    }
    const m = /^arg([0-9])$/.exec(name);
    if (m) { a.ldx(8, r, R9, MST.argv + 8 * Number(m[1])); return int(I64); }
    this.release(r);
    unchecked(`${name}, an unknown variable`);
  }

  protected execname(e: A.Expr): Val {
    const a = this.asm;
    const off = this.tmpSlot(e);
    const r = this.alloc(e);
    a.mov(R1, R9).alu64('add', R1, imm(off)).mov(R2, imm(16)).call(Helper.get_current_comm);
    a.mov(r, R9).alu64('add', r, imm(off));
    return { t: 'str', reg: r };
  }

  // ----- variables

  protected loadGlobal(v: VarInfo, node: A.Expr): Val {
    const r = this.alloc(node);
    const off = this.env.globalOffset(v);
    if (v.type.t === 'str') { this.asm.ldMapValue(r, 'gvars', off); this.nullIfMarker(r); return { t: 'str', reg: r }; }
    if (v.type.t === 'obj') { this.asm.ldMapValue(r, 'gvars', off); return { t: 'obj', reg: r, ctype: v.type.ctype, space: 'kernel', direct: true }; }
    this.asm.ldMapValue(r, 'gvars', off).ldx(8, r, r, 0);
    return { t: 'int', reg: r, type: v.type };
  }

  protected storeGlobal(v: VarInfo, val: Val): void {
    const off = this.env.globalOffset(v);
    if (v.type.t === 'str') {
      if (val.t !== 'str') unchecked('a string variable assigned a value not a string');
      this.copyStr(() => this.asm.ldMapValue(R1, 'gvars', off), val.reg);
      return;
    }
    // A string stored in a pointer variable (`char *s = probeprov`) is its address.
    if (val.t === 'obj') unchecked('a scalar variable assigned a struct or array');
    if (val.t === 'int') this.normalize(val.reg, v.type);
    this.asm.ldMapValue(R1, 'gvars', off).stx(8, R1, 0, val.reg);
  }

  protected clauseLocalOffset(name: string, node: A.Expr): number {
    const t = this.env.sym.clauseLocals.get(name)?.type;
    const size = t?.t === 'obj' ? Math.max(8, (t.size + 7) & ~7) : t?.t === 'int' ? 8 : this.mem.strSlot;
    const off = this.env.clauseLocalOffset(name, size);
    if (off + size > this.mem.lvarsMax) throw new LowerError('too many clause-local variables', node);
    return this.mem.lvars + off;
  }

  protected loadClauseLocal(e: A.ThisVar): Val {
    const info = this.env.sym.clauseLocals.get(e.name);
    const off = this.clauseLocalOffset(e.name, e);
    const r = this.alloc(e);
    if (info?.type.t === 'str') { this.asm.mov(r, R9).alu64('add', r, imm(off)); this.nullIfMarker(r); return { t: 'str', reg: r }; }
    if (info?.type.t === 'obj') { this.asm.mov(r, R9).alu64('add', r, imm(off)); return { t: 'obj', reg: r, ctype: info.type.ctype, space: 'kernel', direct: true }; }
    this.asm.ldx(8, r, R9, off);
    return { t: 'int', reg: r, type: info?.type ?? I64 };
  }

  /** Builds the thread-local key {tid, var id} on the stack at fp-16; leaves R2 pointing at it. */
  protected override tlsKey(v: VarInfo): void {
    const a = this.asm;
    a.call(Helper.get_current_pid_tgid).stx(4, R10, -16, R0).mov(R1, imm(v.id)).stx(4, R10, -12, R1);
    a.mov(R2, R10).alu64('add', R2, imm(-16));
  }

  protected loadThread(v: VarInfo | undefined, node: A.Expr): Val {
    const a = this.asm;
    const r = this.alloc(node);
    if (!v) { a.mov(r, imm(0)); return { t: 'int', reg: r, type: I64 }; }
    this.tlsKey(v);
    return this.loadDynamic('tvars', v.type, r);
  }

  protected storeThread(v: VarInfo, val: Val): void {
    this.storeDynamic('tvars', v.type, val, () => this.tlsKey(v));
  }

  /**
   * Loads the element at key R2 of a dynamic-variable map into `r`: the value, or 0 / "" when
   * the element does not exist (thread-locals and associative arrays alike).
   */
  protected loadDynamic(map: string, type: VType, r: Reg): Val {
    const a = this.asm;
    a.ldMapFd(R1, map).call(Helper.map_lookup_elem);
    const found = a.newLabel('dyn_found'), done = a.newLabel('dyn_done');
    a.jmp('jne', R0, imm(0), found);
    // A missing string element is the NULL string; a missing struct reads as zeros.
    if (type.t === 'obj') a.ldMapValue(r, 'zeros', 0); else a.mov(r, imm(0));
    a.ja(done).label(found);
    if (type.t !== 'int') a.mov(r, R0); else a.ldx(8, r, R0, 0);
    if (type.t === 'str') this.nullIfMarker(r);
    a.label(done).mov(r, r);
    if (type.t === 'obj') return { t: 'obj', reg: r, ctype: type.ctype, space: 'kernel', direct: true };
    return type.t === 'str' ? { t: 'str', reg: r } : { t: 'int', reg: r, type };
  }

  /**
   * Stores `val` at the key `rekey` puts in R2 (helpers clobber R2, so it is re-materialised
   * each time): a non-zero value creates or updates the element, 0 deletes it (D semantics).
   */
  protected storeDynamic(map: string, type: VType, val: Val, rekey: () => void): void {
    const a = this.asm;
    const del = a.newLabel('dyn_del'), done = a.newLabel('dyn_done');
    if (val.t === 'int') { this.normalize(val.reg, type); a.jmp('jeq', val.reg, imm(0), del); }
    rekey();
    this.upsert(map, rekey);
    // R0 = value pointer
    if (val.t !== 'int' && type.t === 'int') {
      a.stx(8, R0, 0, val.reg); // a string's address into a pointer variable
      return;
    }
    if (val.t !== 'int') {
      // A string value never deletes: no delete path (the verifier rejects unreachable code).
      a.mov(R1, R0);
      this.storeStrAt(val.reg);
      return;
    }
    a.stx(8, R0, 0, val.reg);
    a.ja(done).label(del);
    rekey();
    a.ldMapFd(R1, map).call(Helper.map_delete_elem);
    a.label(done).mov(R0, R0);
  }

  /**
   * Looks up key R2 in `map`; creates the element from zeros when missing. Leaves R0 = value
   * pointer, or jumps to the clause end (counting a drop in `dropCounter`: dynamic variable
   * drops by default, aggregation drops for aggregations) when the map is full.
   * `rekey` re-materialises R2 (helpers clobber it).
   */
  protected override upsert(map: string, rekey: () => void, dropCounter: number = STATE.dynvarDrops, full: string = this.end): void {
    const a = this.asm;
    const have = a.newLabel('have');
    a.ldMapFd(R1, map).call(Helper.map_lookup_elem).jmp('jne', R0, imm(0), have);
    rekey();
    a.ldMapFd(R1, map).ldMapValue(R3, 'zeros', 0).mov(R4, imm(1 /* BPF_NOEXIST */)).call(Helper.map_update_elem);
    rekey();
    a.ldMapFd(R1, map).call(Helper.map_lookup_elem).jmp('jne', R0, imm(0), have);
    a.ldMapValue(R1, 'state', dropCounter).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2).ja(full);
    a.label(have).mov(R0, R0);
  }

  // ----- associative arrays

  /**
   * Writes the key tuple into the KEY area (zeroed first, over `extent` bytes when the key is
   * padded to a longer one); returns its size.
   */
  protected buildKey(indices: A.Expr[], keyTypes: VType[], area: number, extent = 0): number {
    const a = this.asm;
    let size = 0;
    // dtrace-utils has ten tuple registers; more components is a compile-time error there.
    if (indices.length > MAX_KEY_COMPONENTS) throw new LowerError('Insufficient tuple registers to generate code');
    const sizes = keyTypes.map((t) => this.env.slotSize(t));
    const total = sizes.reduce((x, y) => x + y, 0) || 8;
    const zeroed = Math.max(total, extent);
    if (zeroed + 8 > this.mem.keyMax) throw new LowerError('tuple too large');
    // (+8: the prefix of an associative array's key, or a shared aggregation's tag.)
    this.env.usage.keyBytes = Math.max(this.env.usage.keyBytes, zeroed + 8);
    // Zero the area: string tails and padding must be byte-exact for hashing. A short key is
    // zeroed with stores, a long one with one copy from the zeros map.
    if (zeroed <= 64) for (let o = 0; o < zeroed; o += 8) a.st(8, R9, area + o, 0);
    else a.mov(R1, R9).alu64('add', R1, imm(area)).mov(R2, imm(zeroed)).ldMapValue(R3, 'zeros', 0).call(Helper.probe_read_kernel);
    // Lookups inside the components build their keys in the next area.
    this.keyDepth++;
    try {
    indices.forEach((ix, i) => {
      const kt = keyTypes[i];
      const call = unparen(ix);
      if (kt?.t === 'obj' && kt.decode && call.kind === 'Call') {
        this.emitRecorded(call, area + size, kt);
        size += sizes[i]!;
        return;
      }
      if (kt?.t === 'str' && kt.max === 16 && call.kind === 'Ident' && call.name === 'execname' && !this.env.sym.globals.has('execname')) {
        // The task's comm straight into the key (zero-padded by the helper): no temporary.
        a.mov(R1, R9).alu64('add', R1, imm(area + size)).mov(R2, imm(16)).call(Helper.get_current_comm);
        size += sizes[i]!;
        return;
      }
      let v = this.expr(ix, false)!;
      if (kt?.t === 'str') {
        v = this.asStr(v, ix, this.spaceOf(ix, this.ct(ix)));
        const max = Math.min(this.mem.strsize + 1, kt.max ?? this.mem.strsize + 1);
        a.mov(R1, R9).alu64('add', R1, imm(area + size)).mov(R2, imm(max)).mov(R3, v.reg).call(Helper.probe_read_kernel_str);
      } else if (keyTypes[i]?.t === 'obj' && v.t === 'obj') {
        // A struct key: its bytes.
        a.mov(R1, R9).alu64('add', R1, imm(area + size)).mov(R2, imm(Math.min(sizes[i]!, sizeOf(v.ctype, this.mem.strsize)))).mov(R3, v.reg);
        a.call(v.space === 'user' ? Helper.probe_read_user : Helper.probe_read_kernel);
      } else {
        if (v.t === 'str') unchecked('a string key where the array has another key type');
        a.stx(8, R9, area + size, v.reg);
      }
      this.release(v);
      size += sizes[i]!;
    });
    } finally {
      this.keyDepth--;
    }
    return total;
  }

  protected override assocInfo(obj: A.Expr): VarInfo | undefined {
    if (obj.kind === 'Ident') return this.env.sym.assocs.get(obj.name);
    if (obj.kind === 'SelfVar') return this.env.sym.threadAssocs.get(obj.name);
    return undefined;
  }

  protected index(e: A.Index): Val {
    const a = this.asm;
    const obj = unparen(e.object);
    if (obj.kind === 'Ident' && obj.name === 'args') {
      // args[i] is the raw argument its provider maps it to (translated members read it).
      const s = this.sym(e);
      const ix = s?.kind === 'args' ? BigInt(s.mapping ?? s.index) : this.env.checked.constValue(e.indices[0]!);
      if (ix === undefined || ix < 0n || ix > 9n) throw new LowerError('args[] index must be a constant 0..9', e);
      const r = this.alloc(e);
      a.ldx(8, r, R9, MST.argv + 8 * Number(ix));
      const t = this.typeOf(e);
      if (t.t === 'int') { this.normalize(r, t); return { t: 'int', reg: r, type: t }; }
      return { t: 'int', reg: r, type: I64 };
    }
    // An inline with parameters (`inline int f[int x] = x + 1;` used as f[2]): its value
    // with the parameters bound to the index expressions.
    const os = this.sym(obj);
    if (os?.kind === 'inline' && os.info.params) {
      const params = os.info.params;
      const saved = this.xlateBindings.length;
      params.forEach((p, i) => this.xlateBindings.push({ name: p.name, expr: e.indices[i]! }));
      try { return this.expr(os.info.value, false)!; } finally { this.xlateBindings.length = saved; }
    }
    const place = this.elementPlace(e);
    if (place) return this.loadPlace(place, e);
    const info = this.assocInfo(obj);
    if (!info) { const z = this.alloc(e); a.mov(z, imm(0)); return { t: 'int', reg: z, type: I64 }; }
    this.assocKey(info, e.indices, obj.kind === 'SelfVar');
    // The result's register is taken once the key is built: a lookup nested in the key then
    // holds no register of this level while it runs.
    const r = this.alloc(e);
    return this.loadDynamic(this.env.assocMap(info), info.type, r);
  }

  /**
   * The key area for a key built now: one per nesting level (`a[1, a[3, a[3, 2, 1], 1], 3]`
   * builds three keys at once); the layout holds as many areas as the deepest nesting used.
   */
  protected keyArea(node?: A.Expr): number {
    if (this.keyDepth >= MAX_KEY_NESTING) throw new LowerError('associative array keys nested too deeply', node);
    this.env.usage.keyAreas = Math.max(this.env.usage.keyAreas, this.keyDepth + 1);
    return this.mem.key + this.keyDepth * this.mem.keyMax;
  }

  /**
   * Key of an associative array element in a key area: the array's id and the thread id (0 for
   * a global array) before the key tuple, as the arrays share maps (codegen/assoc-maps.ts);
   * leaves R2 = key and returns the area's offset.
   */
  protected override assocKey(info: VarInfo, indices: A.Expr[], thread: boolean): number {
    const keys = [...(info.keys ?? indices.map((i) => this.typeOf(i)))];
    const area = this.keyArea(indices[0]);
    // (buildKey leaves room for the prefix: a key area holds the key and 8 bytes more.)
    this.buildKey(indices, keys, area + ASSOC_KEY_PREFIX_BYTES, this.env.assocTupleBytes(info));
    const name = thread ? `self->${info.name}` : info.name;
    if (thread) {
      // The tid half of pid_tgid, as the tvars map keys a thread.
      this.asm.call(Helper.get_current_pid_tgid).stx(4, R9, area + 4, R0);
      this.asm.st(4, R9, area, info.id).comment(`${name}[]: id ${info.id}, thread`);
    } else {
      this.asm.st(8, R9, area, info.id).comment(`${name}[]: id ${info.id}`);
    }
    this.asm.mov(R2, R9).alu64('add', R2, imm(area));
    return area;
  }

  /** Stores `val` in an associative array element; returns it, live (see `store`). */
  protected storeAssoc(e: A.Index, val: Val): Val {
    const a = this.asm;
    const obj = unparen(e.object);
    const info = this.assocInfo(obj);
    if (!info) unchecked('an associative array the checker does not know');
    // The key is built once into a key area (it lives there; helpers only clobber R1–R5).
    const [v, area] = this.keeping(val, () => this.assocKey(info, e.indices, obj.kind === 'SelfVar'), e);
    this.storeDynamic(this.env.assocMap(info), info.type, v, () => a.mov(R2, R9).alu64('add', R2, imm(area)));
    return v;
  }

  // ----- operators
}
