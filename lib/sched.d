/*
 * dtrace-ts D library: CPU information (Oracle DTrace's sched.d). `curcpu` is a builtin
 * variable of type cpuinfo_t *; `cpu` is the current CPU's id.
 */

typedef struct cpuinfo {
	processorid_t	cpu_id;		/* CPU identifier */
	psetid_t	cpu_pset;	/* processor set identifier */
	chipid_t	cpu_chip;	/* chip identifier */
	lgrp_id_t	cpu_lgrp;	/* locality group identifier */
	uint32_t	cpu_info_pad;
} cpuinfo_t;

inline processorid_t cpu = curcpu->cpu_id;
inline chipid_t chip = curcpu->cpu_chip;
inline lgrp_id_t lgrp = curcpu->cpu_lgrp;
/*
 * Linux has no processor sets: every CPU is in the default one, 0 (illumos' CP_DEFAULT).
 * (cpusets restrict tasks, not CPUs: a CPU belongs to many of them at once.)
 */
inline psetid_t pset = curcpu->cpu_pset;

/*
 * The CPU of a run queue (args[2] of sched:::enqueue and dequeue, as illumos' translator from
 * cpu_t gives it). Its chip and locality group are the current CPU's when the run queue is the
 * current CPU's own, else 0: BPF cannot look another CPU's up.
 */
translator cpuinfo_t < struct rq *R > {
	cpu_id = R->cpu;
	cpu_pset = 0;
	cpu_chip = R->cpu == cpu ? chip : 0;
	cpu_lgrp = R->cpu == cpu ? lgrp : 0;
	cpu_info_pad = 0;
};
