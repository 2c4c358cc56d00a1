/*
 * dtrace-ts D library: process and thread information (Oracle DTrace's psinfo.d), translated
 * from the Linux task_struct. Loaded automatically when a script names one of its types or
 * inlines; needs kernel types (BTF) for the translators.
 */

typedef struct timestruc {
	time_t	tv_sec;
	long	tv_nsec;
} timestruc_t;

typedef struct lwpsinfo {
	int		pr_flag;	/* lwp flags */
	id_t		pr_lwpid;	/* lwp (thread) id */
	uintptr_t	pr_addr;	/* internal address of the thread */
	uintptr_t	pr_wchan;	/* wait address */
	char		pr_stype;	/* synchronization event type */
	char		pr_state;	/* numeric thread state */
	char		pr_sname;	/* printable character for pr_state */
	char		pr_nice;	/* nice value */
	short		pr_syscall;	/* system call number (if in syscall) */
	int		pr_pri;		/* priority, high value is high priority */
	char		pr_clname[8];	/* scheduling policy name */
	char		pr_name[16];	/* name of the thread */
	processorid_t	pr_onpro;	/* processor which last ran this thread */
	processorid_t	pr_bindpro;	/* processor to which the thread is bound */
	psetid_t	pr_bindpset;	/* processor set to which the thread is bound */
} lwpsinfo_t;

typedef struct psinfo {
	int		pr_flag;	/* process flags */
	int		pr_nlwp;	/* number of threads */
	pid_t		pr_pid;		/* process id */
	pid_t		pr_ppid;	/* parent process id */
	pid_t		pr_pgid;	/* process group id */
	pid_t		pr_sid;		/* session id */
	uid_t		pr_uid;		/* real user id */
	uid_t		pr_euid;	/* effective user id */
	gid_t		pr_gid;		/* real group id */
	gid_t		pr_egid;	/* effective group id */
	uintptr_t	pr_addr;	/* address of the process (task_struct) */
	size_t		pr_size;	/* size of the process image in Kbytes */
	size_t		pr_rssize;	/* resident set size in Kbytes */
	uintptr_t	pr_ttydev;	/* controlling tty (struct tty_struct *), or 0 */
	timestruc_t	pr_start;	/* process start time */
	char		pr_fname[16];	/* name of the execed file */
	char		pr_psargs[80];	/* initial characters of the argument list */
	int		pr_wstat;	/* wait status of a zombie */
	int		pr_argc;	/* initial argument count */
	uintptr_t	pr_argv;	/* address of the initial argument vector */
	uintptr_t	pr_envp;	/* address of the initial environment vector */
	char		pr_dmodel;	/* data model of the process */
	taskid_t	pr_taskid;	/* task id */
	projid_t	pr_projid;	/* project id */
	zoneid_t	pr_zoneid;	/* zone id */
	lwpsinfo_t	pr_lwp;		/* information about the representative thread */
} psinfo_t;

inline char PR_MODEL_ILP32 = 1;
inline char PR_MODEL_LP64 = 2;

translator psinfo_t < struct task_struct *T > {
	pr_nlwp = 1;
	pr_pid = T->tgid;
	pr_ppid = T->real_parent->tgid;
	pr_pgid = T->signal->pids[2]->numbers[0].nr;
	pr_sid = T->signal->pids[3]->numbers[0].nr;
	pr_uid = T->cred->uid.val;
	pr_euid = T->cred->euid.val;
	pr_gid = T->cred->gid.val;
	pr_egid = T->cred->egid.val;
	pr_addr = (uintptr_t)T;
	pr_ttydev = (uintptr_t)T->signal->tty;
	pr_fname = T->comm;
	pr_psargs = T->mm == NULL ? stringof(T->comm) :
	    __psargs(T->mm->arg_start, T->mm->arg_end - T->mm->arg_start);
	pr_wstat = T->exit_code;
	pr_argv = T->mm == NULL ? 0 : T->mm->arg_start;
	pr_envp = T->mm == NULL ? 0 : T->mm->env_start;
	pr_dmodel = PR_MODEL_LP64;
	pr_taskid = 0;
	pr_projid = 0;
	pr_zoneid = 0;
};

translator lwpsinfo_t < struct task_struct *T > {
	pr_flag = T->flags;
	pr_lwpid = T->pid;
	pr_addr = (uintptr_t)T;
	pr_state = T->__state;
	pr_pri = T->prio;
	/* The scheduling class as ps(1) names it (its CLS column), from the policy. */
	pr_clname = T->policy == 0 ? "TS" : T->policy == 1 ? "FF" : T->policy == 2 ? "RR" :
	    T->policy == 3 ? "B" : T->policy == 4 ? "ISO" : T->policy == 5 ? "IDL" :
	    T->policy == 6 ? "DLN" : "?";
	pr_name = T->comm;
	pr_onpro = T->thread_info.cpu;
	pr_bindpro = -1;
	pr_bindpset = -1;
};

inline psinfo_t *curpsinfo = xlate <psinfo_t *> (curthread);
inline lwpsinfo_t *curlwpsinfo = xlate <lwpsinfo_t *> (curthread);
inline string cwd = d_path(&(curthread->fs->pwd));
inline string root = d_path(&(curthread->fs->root));
/*
 * The zone of the process, as illumos names it: Linux has no zones, so every process is in
 * the global zone (illumos' zonename there). The DTraceToolkit's -Z/-a options print it.
 */
inline string zonename = "global";
