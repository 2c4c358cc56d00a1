/*
 * dtrace-ts D library: I/O information (Oracle DTrace's io.d): bufinfo_t, devinfo_t and
 * fileinfo_t with translators from the Linux kernel's block and file structures.
 */

typedef struct bufinfo {
	int		b_flags;	/* buffer status */
	size_t		b_bcount;	/* number of bytes */
	uintptr_t	b_addr;		/* buffer address */
	uint64_t	b_lblkno;	/* block # on device */
	uint64_t	b_blkno;	/* expanded block # on device */
	size_t		b_resid;	/* # of bytes not transferred */
	size_t		b_bufsize;	/* size of allocated buffer */
	uintptr_t	b_iodone;	/* I/O completion routine */
	int		b_error;	/* expanded error field */
	dev_t		b_edev;		/* extended device */
} bufinfo_t;

inline int B_BUSY = 0x000001;
inline int B_DONE = 0x000002;
inline int B_ERROR = 0x000004;
inline int B_PAGEIO = 0x000010;
inline int B_PHYS = 0x000020;
inline int B_READ = 0x000040;
inline int B_WRITE = 0x000100;
inline int B_ASYNC = 0x000400;

typedef struct devinfo {
	int		dev_major;	/* major number */
	int		dev_minor;	/* minor number */
	int		dev_instance;	/* instance number */
	string		dev_name;	/* name of device */
	string		dev_statname;	/* name of device + instance/minor */
	string		dev_pathname;	/* pathname of device */
} devinfo_t;

typedef struct fileinfo {
	string		fi_name;	/* name (basename of fi_pathname) */
	string		fi_dirname;	/* directory (dirname of fi_pathname) */
	string		fi_pathname;	/* full pathname */
	loff_t		fi_offset;	/* offset within file */
	string		fi_fs;		/* filesystem */
	string		fi_mount;	/* mount point of file system */
	int		fi_oflags;	/* open(2) flags for file descriptor */
} fileinfo_t;

translator fileinfo_t < struct file *F > {
	fi_name = F == NULL ? "<none>" : basename(d_path(&F->f_path));
	fi_dirname = F == NULL ? "<none>" : dirname(d_path(&F->f_path));
	fi_pathname = F == NULL ? "<none>" : d_path(&F->f_path);
	fi_offset = F == NULL ? 0 : F->f_pos;
	fi_fs = F == NULL ? "<none>" : stringof(F->f_path.mnt->mnt_sb->s_type->name);
	fi_mount = F == NULL ? "<none>" : "<unknown>";
	fi_oflags = F == NULL ? 0 : F->f_flags;
};

/*
 * The io provider's args[0] and args[1] come from a struct bio (dtrace-utils io.d). The
 * operation is the low REQ_OP_BITS (8) bits of bi_opf (REQ_OP_READ 0, REQ_OP_WRITE 1, …);
 * REQ_SYNC is bit __REQ_SYNC (11). A dev_t inside the kernel is major << 20 | minor.
 */
inline int REQ_OP_MASK = 0xff;
inline int REQ_OP_WRITE = 1;
inline int REQ_SYNC = 0x800;

translator bufinfo_t < struct bio *B > {
	b_flags = ((B->bi_opf & REQ_OP_MASK) == REQ_OP_WRITE ? B_WRITE : B_READ) |
	    ((B->bi_opf & REQ_SYNC) ? 0 : B_ASYNC);
	b_bcount = B->bi_iter.bi_size;
	b_addr = 0;
	b_lblkno = B->bi_iter.bi_sector;
	b_blkno = B->bi_iter.bi_sector;
	b_resid = 0;
	b_bufsize = B->bi_iter.bi_size;
	b_iodone = (uintptr_t)B->bi_end_io;
	b_error = B->bi_status;
	b_edev = B->bi_bdev == NULL ? 0 : B->bi_bdev->bd_dev;
};

translator devinfo_t < struct bio *B > {
	dev_major = B->bi_bdev == NULL ? 0 : B->bi_bdev->bd_dev >> 20;
	dev_minor = B->bi_bdev == NULL ? 0 : B->bi_bdev->bd_dev & 0xfffff;
	dev_instance = 0;
	dev_name = B->bi_bdev == NULL ? "nfs" : stringof(B->bi_bdev->bd_disk->disk_name);
	dev_statname = B->bi_bdev == NULL ? "nfs" : stringof(B->bi_bdev->bd_disk->disk_name);
	dev_pathname = B->bi_bdev == NULL ? "<nfs>" : strjoin("/dev/", stringof(B->bi_bdev->bd_disk->disk_name));
};

/*
 * fds[]: the current process's open files as fileinfo_t (illumos' fds[] from the task's file
 * table: files->fdt->fd[fd]; a descriptor out of range or closed is the NULL file).
 */
inline fileinfo_t fds[int fd] = xlate <fileinfo_t> (fd >= 0 && fd < curthread->files->fdt->max_fds ?
    curthread->files->fdt->fd[fd] : (struct file *)NULL);
