/* vfs: the VFS and tmpfs (issue 17), checked against Linux's behaviour.
 * Run as "vfs MODE" (no argument: every mode).  Each mode works in its own
 * directory /tmp/vfs-test-<pid> and removes everything it made ("cleanup").
 * Children print their own checks (stdout is unbuffered) and the parent waits.
 *
 * files: many files and directory listing
 *   files_create      - 1,000 files created with O_CREAT|O_EXCL, 4 bytes each
 *   files_stat        - each is a regular 0644 file, st_nlink 1, size 4, uid 0
 *   files_unique_ino  - no two of them share an inode number
 *   getdents_all_<N>  - a listing with a getdents64 buffer of N bytes (32: one
 *                       entry per call; 100; 4096; 65536) sees ".", ".." and
 *                       each of the 1,000 names exactly once, nothing else;
 *                       records are 8-aligned and hold the NUL-terminated name;
 *                       d_type is DT_REG (DT_DIR for "." and ".."); the "."
 *                       entry's d_ino is the directory's inode
 *   getdents_one_per_call - with 32 bytes every call returns exactly one entry
 *   getdents_einval   - a buffer too small for the first entry (1 and 23
 *                       bytes) -> EINVAL
 *   getdents_einval_keeps_pos - after that EINVAL the next call still starts
 *                       with "."
 *   getdents_eof_again - at the end getdents64 keeps returning 0
 *   getdents_seek_doff - lseek to an entry's d_off continues with the next entry
 *   files_rename      - 1,000 renames f* -> r*: old names ENOENT, data kept
 *   files_link        - a hard link l* of each: st_nlink 2 on both, same inode
 *   files_listing_linked - the listing then holds exactly the 2,000 r* and l* names
 *   files_unlink_one  - after unlinking r*: l* has st_nlink 1 and its data
 *   files_listing_after - the listing then holds exactly the 1,000 l* names
 *   files_unlink_all  - unlinking l*: only "." and ".." remain, rmdir works
 *   files_dir_nlink   - the directory's st_nlink stays 2 throughout
 *   unlink_open_*     - a file unlinked while open: st_nlink 0, stat of the
 *                       path ENOENT, not listed, still readable and writable
 *                       (and ftruncate-able) through the fd; a new file of the
 *                       same name is a different, empty inode
 *   getdents_unlink_while_listing - rm -rf's pattern (read a batch, unlink it,
 *                       read on) over 1,000 names: each seen once, all gone
 *   race_excl_create / race_unlink / race_rename - 4 processes race on the same
 *                       200 names: each O_CREAT|O_EXCL create, each unlink and
 *                       each rename of a source succeeds exactly once
 * attrs: metadata and open flags
 *   umask_*           - umask(027): a file created 0666 is 0640, a directory
 *                       0777 is 0750, a FIFO 0666 is 0640; umask returns the old
 *   o_creat_existing  - O_CREAT without O_EXCL opens the existing file, keeping
 *                       its data and mode
 *   o_trunc / o_trunc_rdonly - O_TRUNC empties the file (also with O_RDONLY)
 *   o_cloexec_flag    - F_GETFD is FD_CLOEXEC with O_CLOEXEC, 0 without
 *   o_cloexec_exec    - after fork + execve(/bin/vfs cloexec-child) the
 *                       O_CLOEXEC fd is closed and the other is open
 *   dup_shares_offset - dup then lseek on one moves the other
 *   open_own_offset   - a second open has its own offset
 *   fork_shares_offset - a child's read moves the parent's offset
 *   o_path            - an O_PATH fd: fstat works, read -> EBADF, F_GETFL has O_PATH
 *   fstatat_empty_path - fstatat(fd, "", AT_EMPTY_PATH) is the file
 *   statx_matches_stat - statx(STATX_BASIC_STATS) agrees with stat on every
 *                       field; statx of a symlink with AT_SYMLINK_NOFOLLOW is S_IFLNK
 *   statfs_tmpfs      - statfs(/tmp dir) and fstatfs: f_type TMPFS_MAGIC
 *                       (0x01021994), f_bsize 4096, f_namelen 255, sane counts
 *   statfs_proc       - statfs("/proc") is PROC_SUPER_MAGIC (0x9fa0)
 *   fchmod / chmod_type_bits - mode changes as root; S_IFMT bits in chmod's
 *                       mode are ignored
 *   fchown / fchown_minus1 / fchown_kills_suid - ownership changes as root;
 *                       -1 keeps a field; chown of a 06755 file clears S_ISUID
 *                       and S_ISGID (even by root)
 *   lchown            - lchown changes the link, not the target
 *   utimensat_explicit / utimensat_now_omit / utimensat_null / utimensat_ctime /
 *   utimensat_nofollow / futimens - timestamps: explicit seconds+nanoseconds,
 *                       UTIME_OMIT keeps, UTIME_NOW and NULL set the current
 *                       time, ctime becomes now, AT_SYMLINK_NOFOLLOW changes
 *                       the link only
 *   write_updates_mtime - a write sets mtime to now
 *   truncate_path     - truncate() by path grows (zeros) and shrinks
 *   fallocate_size / fallocate_zeros / fallocate_keep_size - fallocate sets the
 *                       size and blocks, reads zeros; FALLOC_FL_KEEP_SIZE keeps size
 *   proc_fd_readlink / proc_fd_deleted / proc_fd_devnull - /proc/self/fd/N names
 *                       the file, "<path> (deleted)" once unlinked, /dev/null
 *   proc_fd_reopen    - open("/proc/self/fd/N") of an unlinked file reads it
 *   proc_fd_after_rename - /proc/self/fd/N names the file's new name after rename
 *   mmap_shared       - (mode "mmap") a MAP_SHARED mapping of a tmpfs file and
 *                       read/write see each other; a MAP_PRIVATE write does not
 *                       reach the file
 *   readv_writev      - writev of 3 pieces read back by readv in other pieces
 *   sendfile_file     - sendfile file -> file with an offset pointer
 *   sendfile_null     - sendfile file -> /dev/null: the count, the file position
 *                       moves (no offset pointer), at the end 0
 *   fsync             - fsync, fdatasync, syncfs return 0
 *   flock_conflict / fcntl_lock_conflict - a child cannot take a lock the
 *                       parent holds (EWOULDBLOCK / EAGAIN), F_GETLK names it
 * dirs: directories, rename, symlinks, cwd
 *   mkdirat / mkdir_trailing_slash / dir_nlink - mkdirat relative to a dirfd; a
 *                       new directory has st_nlink 2 and adds one to its parent's
 *   rmdir_nlink       - rmdir takes it away again
 *   rename_noreplace  - RENAME_NOREPLACE onto an existing name -> EEXIST, onto a
 *                       free one works
 *   rename_exchange / rename_exchange_dir / rename_exchange_missing - exchange
 *                       two files; a file and a directory; a missing target -> ENOENT
 *   rename_replace_file - rename over a file: the old target's inode has st_nlink 0
 *   rename_dir_over_empty / rename_dir_over_nonempty / rename_dir_over_file /
 *   rename_file_over_dir / rename_into_self - ENOTEMPTY, ENOTDIR, EISDIR, EINVAL
 *   rename_same / rename_hardlinks - renaming onto itself or onto another link
 *                       of the same inode does nothing and succeeds
 *   rename_dir_moves_dotdot - a moved directory's ".." is its new parent; the
 *                       parents' link counts follow
 *   symlink_readlink_rel / symlink_readlink_abs / symlink_lstat - targets read
 *                       back byte for byte (no NUL), st_size is their length
 *   symlink_follow_rel - a relative target resolves from the link's directory
 *   readlink_truncates - a small buffer gets the first bytes, returns its size
 *   symlink_dangling / symlink_creat_dangling / symlink_excl_dangling - a
 *                       dangling link: stat ENOENT, lstat works, O_CREAT through
 *                       it creates the target, O_CREAT|O_EXCL -> EEXIST
 *   symlink_dir_trailing_slash - "link/" to a directory follows the link
 *   o_nofollow_opath  - O_PATH|O_NOFOLLOW opens the link itself
 *   symlink_chain_40 / symlink_chain_41 - 40 links in a row resolve, 41 -> ELOOP
 *   chdir_getcwd / chdir_dotdot / fchdir / getcwd_raw_len / getcwd_erange -
 *                       getcwd after chdir and fchdir; the raw syscall returns
 *                       the length with the NUL; a small buffer -> ERANGE
 *   proc_self_cwd     - readlink /proc/self/cwd equals getcwd
 *   cwd_removed       - after rmdir of the cwd: getcwd -> ENOENT, creating a
 *                       file in "." -> ENOENT, "." still stats
 *   dotdot_root / dotdot_mount - "/.." is "/"; "/proc/.." is "/"
 *   path_dots_slashes - "W//sub/./../sub" is W/sub
 *   chdir_errors      - chdir to a file -> ENOTDIR, to nothing -> ENOENT; fchdir
 *                       on a file fd -> ENOTDIR
 *   chroot            - a chrooted child sees W as "/", ".." does not escape,
 *                       getcwd is "/"
 *   dotdot_after_symlink - "p2/lq/.." with lq -> ../p1/q is p1 (physical parent)
 *   symlink_middle_component - a symlink to a directory in the middle of a path
 *   getdents_d_type   - DT_DIR, DT_FIFO, DT_REG, DT_LNK
 *   dir_mtime / dir_mtime_rename_out - a directory's mtime and ctime become now
 *                       on create, unlink, rename in, mkdir, rmdir; the source
 *                       directory's on rename out
 *   link_updates_ctime - link() changes the file's ctime
 *   deep_tree         - 200 nested directories: getcwd at the bottom has the
 *                       full length; removed from the bottom up
 *   rename_cycle_race - two processes each move one of two directories into the
 *                       other and back, 3,000 times: both stay reachable exactly
 *                       once (no cycle cut off from the tree), no deadlock
 * big: a 64 MiB file and offsets
 *   big_write / big_stat / big_read - 64 MiB written in 1 MiB chunks (a fixed
 *                       pseudo-random pattern), st_size and st_blocks (131072),
 *                       read back in 1 MiB+12345-byte reads: same checksum, every
 *                       byte checked
 *   lseek_end         - SEEK_END, SEEK_END with a negative offset, SEEK_CUR
 *   pwrite_pread / pread_keeps_offset / pwrite_neighbours / pwrite_extends - 8
 *                       bytes at 5 offsets (the last past EOF): read back, file
 *                       offset untouched, bytes around unchanged, size grows
 *   pread_eof         - at EOF 0; across EOF the bytes up to it
 *   seek_data_hole_full - a file without holes: SEEK_DATA 0 -> 0, SEEK_HOLE 0 -> size
 *   ftruncate_shrink_grow / ftruncate_frees - shrink to 1000 then grow to 1 MiB:
 *                       first 1000 bytes kept, the rest zeros, st_blocks 8
 *   sparse_*          - an 8 MiB file with one page written at 4 MiB: SEEK_DATA
 *                       and SEEK_HOLE find it, ENXIO at/after the end, st_blocks 8,
 *                       holes read as zeros
 *   o_append / pwrite_o_append - O_APPEND writes at the end whatever the offset
 *                       (pwrite too, as Linux does)
 *   fsetfl_append     - O_APPEND set later with F_SETFL takes effect
 *   read_past_eof     - a read at an offset past EOF returns 0, offset kept
 *   sparse_1tib / ftruncate_1tib - one write at 1 TiB: size 1 TiB + 3, st_blocks
 *                       8, data and a zero hole read back; ftruncate to 2 TiB and
 *                       back to 4096 frees it (st_blocks 0)
 *   o_append_concurrent - two processes x 2,000 appends of 100 bytes: size
 *                       400,000 and every record whole
 * perms: credentials (children with setresuid/setresgid)
 *   tmp_sticky        - /tmp is 01777 root; perm_sticky_survived: root's file
 *                       there is still there after the user's attempts
 *   root_access_0444 / root_bypass_0000 / root_access_x_needs_bit - root writes
 *                       anything, but X_OK needs some x bit
 *   perm_* (uid/gid 1000) - create and mkdir in a 0755 root directory -> EACCES;
 *                       open a 0600 root file -> EACCES; open 0644 for writing ->
 *                       EACCES, reading works; O_CREAT of an existing file in an
 *                       unwritable directory works; chmod and chown of a root
 *                       file -> EPERM; utimensat: explicit times -> EPERM, NULL
 *                       -> EACCES; unlink/rename/rmdir in an unwritable
 *                       directory -> EACCES; in sticky /tmp unlink and rename of
 *                       root's file -> EPERM, of one's own works; access(W_OK)
 *                       on one's own 0444 file -> EACCES, R_OK works; truncate
 *                       -> EACCES; owner bits win over group/other bits; group
 *                       bits grant; no search permission -> EACCES; setresuid(0)
 *                       -> EPERM
 *   perm_euid_*       - euid 1000 with real uid 0: open -> EACCES but access()
 *                       (real ids) works and faccessat2(AT_EACCESS) -> EACCES;
 *                       euid 0 can be taken back
 * fifo: named pipes between processes
 *   fifo_stat / mknod_fifo - mkfifo and mknod(S_IFIFO) make S_IFIFO, size 0
 *   fifo_reader_blocks / fifo_writer_opens / fifo_reader_unblocked / fifo_data -
 *                       a reader's open blocks until a writer opens; 100,000
 *                       bytes pass; the reader sees EOF after the writer closes
 *   fifo_writer_blocks / fifo_eof - the same with the writer first
 *   fifo_nonblock_enxio - O_WRONLY|O_NONBLOCK without a reader -> ENXIO
 *   fifo_nonblock_reader / fifo_nonblock_writer_ok - O_RDONLY|O_NONBLOCK opens
 *                       at once and reads 0; a non-blocking writer then opens
 *   fifo_rdwr         - O_RDWR does not block
 *   fifo_espipe       - lseek -> ESPIPE
 *   fifo_data_discarded - data left when the last opener closes is gone
 * errors: Linux's errno for bad input
 *   efault_* / ebadf_* / einval_* / enoent_* / enotdir_* / eisdir_* / eloop_* /
 *   enametoolong_* / eexist_* / enotempty_* / exdev_* / eperm_* / ebusy_* -
 *                       one check per call and cause (the name says which);
 *                       also write/read of a buffer whose second page is
 *                       unmapped -> the first page's 4096 bytes (Linux's
 *                       partial count), a 4095-byte path works and a 4096-byte
 *                       one is ENAMETOOLONG, a 255-byte name works;
 *                       link_proc_enoent: link() into /proc is ENOENT on Linux
 *                       (the new name's lookup fails before the EXDEV check);
 *                       einval_o_directory_creat: O_CREAT|O_DIRECTORY -> EINVAL
 *                       (Linux 6.4 on) and creates nothing
 *   write_half_mapped / read_half_mapped - see above; openat_bad_dirfd_abs_ok -
 *                       an absolute path ignores a bad dirfd; lstat_loop_ok -
 *                       lstat of a looping link works; name_255_ok / path_4095_ok
 *   errors_tree_intact - none of the failing calls created or changed a name
 * enospc: filling tmpfs
 *   enospc_fallocate  - fallocate of more than the free space -> ENOSPC, and the
 *                       space it took on the way is given back (size 0, free as before)
 *   enospc_write      - writing 1 MiB chunks to a file in /tmp ends in ENOSPC
 *                       (within 1 GiB), not a crash
 *   enospc_filled     - it stopped after at least 90% of the free space
 *   enospc_statfs     - statfs then reports f_bavail 0
 *   enospc_other_file - a write to another file -> ENOSPC
 *   enospc_fork       - fork still works (memory is not exhausted)
 *   enospc_recovered / enospc_space_back - after unlinking the file, writing
 *                       works again and the free space is back
 * every mode: cleanup - the work directory and everything in it are gone */
#include "t.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#define TMPFS_MAGIC_ 0x01021994L
#define PROC_MAGIC_ 0x9fa0L
#define MiB (1024L * 1024L)

static char W[128];

/* W "/" name, in one of 8 rotating buffers. */
__attribute__((format(printf, 1, 2)))
static char *P(const char *fmt, ...)
{
    static char bufs[8][4300];
    static int k;
    char *b = bufs[k++ & 7];
    int n = snprintf(b, 4300, "%s/", W);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, 4300 - n, fmt, ap);
    va_end(ap);
    return b;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int put(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    ssize_t w = len ? write(fd, data, len) : 0;
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

static int puts_(const char *path, const char *s) { return put(path, s, strlen(s), 0644); }

/* Whole (small) file into buf (NUL-terminated); returns length or -1. */
static ssize_t get(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = 0;
    return n;
}

static int is_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static const char *e(void) { return strerror(errno); }

static void rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            char names[256][256];
            int more = 1;
            while (more) { /* collect a batch, then delete it (no unlink during readdir) */
                int n = 0;
                rewinddir(d);
                more = 0;
                while ((de = readdir(d))) {
                    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                    if (n == 256) {
                        more = 1;
                        break;
                    }
                    snprintf(names[n++], 256, "%s", de->d_name);
                }
                for (int i = 0; i < n; i++) {
                    char sub[4300];
                    snprintf(sub, sizeof sub, "%.4000s/%.255s", path, names[i]);
                    rmtree(sub);
                }
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int setup(void)
{
    umask(022);
    /* VFS_BASE=/dir runs the suite in another file system (ext4: scripts/test-ext4.sh). */
    const char *base = getenv("VFS_BASE");
    snprintf(W, sizeof W, "%s/vfs-test-%d", base && *base ? base : "/tmp", (int)getpid());
    if (mkdir(W, 0755) != 0) {
        fail("setup", "mkdir %s: %s", W, e());
        return -1;
    }
    return 0;
}

static void cleanup(void)
{
    if (chdir("/") != 0) {
    }
    rmtree(W);
    struct stat st;
    errno = 0;
    check(lstat(W, &st) == -1 && errno == ENOENT, "cleanup", "%s still there (%s)", W, e());
}

/* Wait for a child; its own FAIL lines are already out, so a non-zero status
 * only marks this run failed.  A child killed by a signal is a FAIL. */
static void reap(pid_t pid, const char *name)
{
    int st;
    if (pid < 0) {
        fail(name, "fork: %s", e());
        return;
    }
    if (waitpid(pid, &st, 0) != pid) {
        fail(name, "waitpid: %s", e());
        return;
    }
    if (WIFSIGNALED(st))
        fail(name, "child killed by signal %d", WTERMSIG(st));
    else if (WEXITSTATUS(st) != 0)
        t_failed = 1;
}

static int wait_status(pid_t pid)
{
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return st;
}

/* ------------------------------------------------------------------ files */

struct listing {
    int calls, one_each, entries, dots, dotdots, unknown, dups, missing, badrec, badtype, dotino;
    int err;
    char first_unknown[64];
};

/* List dfd from the start with getdents64 buffers of bufsz bytes.  Expected
 * names: pfx[k] followed by %04d, 0 <= n < count, for each letter of pfx. */
static void list_dir(int dfd, size_t bufsz, const char *pfx, int count, struct listing *L)
{
    static unsigned char seen[4 * 1000];
    static char buf[65536] __attribute__((aligned(8)));
    int np = (int)strlen(pfx);
    memset(L, 0, sizeof *L);
    memset(seen, 0, sizeof seen);
    struct stat dst;
    fstat(dfd, &dst);
    L->one_each = 1;
    lseek(dfd, 0, SEEK_SET);
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, bufsz);
        L->calls++;
        if (n < 0) {
            L->err = errno;
            break;
        }
        if (n == 0)
            break;
        int here = 0;
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            size_t nl = strnlen(d->d_name, d->d_reclen);
            if (d->d_reclen % 8 || d->d_reclen < 19 + nl + 1 || off + d->d_reclen > n) {
                L->badrec++;
                break;
            }
            here++;
            L->entries++;
            if (!strcmp(d->d_name, ".")) {
                L->dots++;
                if (d->d_type != DT_DIR)
                    L->badtype++;
                if (d->d_ino != dst.st_ino)
                    L->dotino++;
            } else if (!strcmp(d->d_name, "..")) {
                L->dotdots++;
                if (d->d_type != DT_DIR)
                    L->badtype++;
            } else {
                const char *p = strchr(pfx, d->d_name[0]);
                int v = -1;
                if (p && *p && strlen(d->d_name) == 5) {
                    char *end;
                    v = (int)strtol(d->d_name + 1, &end, 10);
                    if (*end || v < 0 || v >= count)
                        v = -1;
                }
                if (v < 0) {
                    if (!L->unknown++)
                        snprintf(L->first_unknown, sizeof L->first_unknown, "%s", d->d_name);
                } else {
                    int idx = (int)(p - pfx) * count + v;
                    if (seen[idx]++)
                        L->dups++;
                    if (d->d_type != DT_REG)
                        L->badtype++;
                }
            }
            off += d->d_reclen;
        }
        if (here != 1)
            L->one_each = 0;
    }
    for (int i = 0; i < np * count; i++)
        if (!seen[i])
            L->missing++;
}

static int listing_ok(const struct listing *L, int want)
{
    return !L->err && L->dots == 1 && L->dotdots == 1 && !L->unknown && !L->dups && !L->missing &&
           !L->badrec && !L->badtype && !L->dotino && L->entries == want + 2;
}

static void report_listing(const char *name, const struct listing *L, int want)
{
    check(listing_ok(L, want), name,
          "entries=%d (want %d) err=%s dots=%d dotdots=%d unknown=%d (first '%s') dups=%d "
          "missing=%d badrec=%d badtype=%d dot_ino_wrong=%d",
          L->entries, want + 2, L->err ? strerrorname_np(L->err) : "0", L->dots, L->dotdots,
          L->unknown, L->first_unknown, L->dups, L->missing, L->badrec, L->badtype, L->dotino);
}

static int name_listed(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *de;
    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (!strcmp(de->d_name, name))
            found++;
    closedir(d);
    return found;
}


/* K processes race on the same names in one directory (phases separated by a
 * shared-memory barrier): each O_CREAT|O_EXCL name is created by exactly one,
 * each name is unlinked by exactly one, each rename of one source succeeds once. */
static void barrier(volatile int *b, int k, int round)
{
    __atomic_add_fetch(b, 1, __ATOMIC_SEQ_CST);
    long t0 = now_ms();
    while (__atomic_load_n(b, __ATOMIC_SEQ_CST) < k * round && now_ms() - t0 < 20000)
        sched_yield();
}

static void files_races(void)
{
    enum { K = 4, NN = 200 };
    int *sh = mmap(NULL, 3 * NN * sizeof(int) + 64, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        fail("files_races", "mmap: %s", e());
        return;
    }
    int *created = sh, *unlinked = sh + NN, *renamed = sh + 2 * NN;
    volatile int *bar = sh + 3 * NN, *odd = sh + 3 * NN + 1;
    mkdir(P("race"), 0755);
    pid_t kids[K];
    for (int k = 0; k < K; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            char a[200], b[200];
            for (int j = 0; j < NN; j++) {
                int i = (j + k * 37) % NN;
                snprintf(a, sizeof a, "%s/race/x%03d", W, i);
                int fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
                if (fd >= 0) {
                    __atomic_add_fetch(&created[i], 1, __ATOMIC_SEQ_CST);
                    close(fd);
                } else if (errno != EEXIST) {
                    __atomic_add_fetch(odd, 1, __ATOMIC_SEQ_CST);
                }
            }
            barrier(bar, K, 1);
            for (int j = 0; j < NN; j++) {
                int i = (j + k * 53) % NN;
                snprintf(a, sizeof a, "%s/race/x%03d", W, i);
                if (unlink(a) == 0)
                    __atomic_add_fetch(&unlinked[i], 1, __ATOMIC_SEQ_CST);
                else if (errno != ENOENT)
                    __atomic_add_fetch(odd, 1, __ATOMIC_SEQ_CST);
                /* and the rename sources for the next phase: exactly one creator */
                snprintf(a, sizeof a, "%s/race/r%03d", W, i);
                int fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
                if (fd >= 0)
                    close(fd);
            }
            barrier(bar, K, 2);
            for (int j = 0; j < NN; j++) {
                int i = (j + k * 71) % NN;
                snprintf(a, sizeof a, "%s/race/r%03d", W, i);
                snprintf(b, sizeof b, "%s/race/s%03d-%d", W, i, k);
                if (rename(a, b) == 0)
                    __atomic_add_fetch(&renamed[i], 1, __ATOMIC_SEQ_CST);
                else if (errno != ENOENT)
                    __atomic_add_fetch(odd, 1, __ATOMIC_SEQ_CST);
            }
            _exit(0);
        }
    }
    int ok = 1;
    for (int k = 0; k < K; k++) {
        int st = wait_status(kids[k]);
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            ok = 0;
    }
    int c1 = 0, u1 = 0, r1 = 0;
    for (int i = 0; i < NN; i++) {
        c1 += created[i] == 1;
        u1 += unlinked[i] == 1;
        r1 += renamed[i] == 1;
    }
    int left = 0;
    DIR *d = opendir(P("race"));
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            left++;
    if (d)
        closedir(d);
    check(ok && c1 == NN && !*odd, "race_excl_create", "names created exactly once: %d of %d, odd errors %d",
          c1, NN, *odd);
    check(ok && u1 == NN, "race_unlink", "names unlinked exactly once: %d of %d", u1, NN);
    check(ok && r1 == NN && left == NN, "race_rename", "sources renamed exactly once: %d of %d, %d names left (want %d)",
          r1, NN, left, NN);
    munmap(sh, 3 * NN * sizeof(int) + 64);
}

/* rm -rf's pattern: read a batch of entries, unlink them, read on.  Every one
 * of the 1,000 names is seen exactly once and the directory ends empty. */
static void files_unlink_while_listing(void)
{
    enum { N = 1000 };
    static unsigned char seen[N];
    static char buf[4096] __attribute__((aligned(8)));
    char name[16];
    memset(seen, 0, sizeof seen);
    mkdir(P("many2"), 0755);
    int dfd = open(P("many2"), O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "g%04d", i);
        int fd = openat(dfd, name, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0)
            close(fd);
    }
    int dups = 0, other = 0, unl = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] == '.')
                continue;
            int v = atoi(d->d_name + 1);
            if (d->d_name[0] != 'g' || v < 0 || v >= N) {
                other++;
                continue;
            }
            if (seen[v]++)
                dups++;
            if (unlinkat(dfd, d->d_name, 0) == 0)
                unl++;
        }
    }
    int missing = 0;
    for (int i = 0; i < N; i++)
        missing += !seen[i];
    struct listing L;
    list_dir(dfd, 4096, "", 0, &L);
    check(!dups && !other && !missing && unl == N && listing_ok(&L, 0), "getdents_unlink_while_listing",
          "dups %d other %d missing %d unlinked %d, entries left %d (want 2)", dups, other, missing, unl,
          L.entries);
    close(dfd);
    rmdir(P("many2"));
}

static void mode_files(void)
{
    enum { N = 1000 };
    char name[32], name2[32];
    struct stat st, st2;
    if (mkdir(P("many"), 0755) != 0) {
        fail("files_setup", "mkdir: %s", e());
        return;
    }
    int dfd = open(P("many"), O_RDONLY | O_DIRECTORY);
    if (dfd < 0) {
        fail("files_setup", "open dir: %s", e());
        return;
    }
    int bad = 0, nlink_bad = 0;
    char why[128] = "";
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "f%04d", i);
        int fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0 || write(fd, &i, sizeof i) != sizeof i) {
            if (!bad++)
                snprintf(why, sizeof why, "%s: %s", name, e());
        }
        if (fd >= 0)
            close(fd);
    }
    check(!bad, "files_create", "%d of %d failed, first %s", bad, N, why);
    bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "f%04d", i);
        if (fstatat(dfd, name, &st, 0) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0644 ||
            st.st_nlink != 1 || st.st_size != 4 || st.st_uid != 0) {
            if (!bad++)
                snprintf(why, sizeof why, "%s: mode %o nlink %lu size %ld uid %u (%s)", name,
                         st.st_mode, (unsigned long)st.st_nlink, (long)st.st_size, st.st_uid, e());
        }
    }
    check(!bad, "files_stat", "%d bad, first %s", bad, why);
    {
        static unsigned long inos[N];
        int dup = 0;
        for (int i = 0; i < N; i++) {
            snprintf(name, sizeof name, "f%04d", i);
            inos[i] = fstatat(dfd, name, &st, 0) == 0 ? (unsigned long)st.st_ino : 0;
            for (int j = 0; j < i; j++)
                if (inos[j] == inos[i])
                    dup++;
        }
        check(!dup, "files_unique_ino", "%d duplicate inode numbers", dup);
    }
    fstat(dfd, &st);
    if (st.st_nlink != 2)
        nlink_bad = (int)st.st_nlink;

    struct listing L;
    static const size_t sizes[] = {32, 100, 4096, 65536};
    for (unsigned k = 0; k < 4; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "getdents_all_%zu", sizes[k]);
        list_dir(dfd, sizes[k], "f", N, &L);
        report_listing(nm, &L, N);
        if (sizes[k] == 32)
            check(L.one_each && L.calls == N + 3, "getdents_one_per_call",
                  "calls=%d (want %d incl. the final 0), one_each=%d", L.calls, N + 3, L.one_each);
    }

    static char buf[4096] __attribute__((aligned(8)));
    lseek(dfd, 0, SEEK_SET);
    errno = 0;
    long r1 = syscall(SYS_getdents64, dfd, buf, 1);
    int e1 = errno;
    errno = 0;
    long r23 = syscall(SYS_getdents64, dfd, buf, 23);
    int e23 = errno;
    check(r1 == -1 && e1 == EINVAL && r23 == -1 && e23 == EINVAL, "getdents_einval",
          "count 1: %ld/%s, count 23: %ld/%s (want -1/EINVAL)", r1, strerrorname_np(e1), r23,
          strerrorname_np(e23));
    long r = syscall(SYS_getdents64, dfd, buf, sizeof buf);
    struct dirent64 *d0 = (struct dirent64 *)buf;
    check(r > 0 && !strcmp(d0->d_name, "."), "getdents_einval_keeps_pos", "ret %ld first '%s'", r,
          r > 0 ? d0->d_name : "");
    while (syscall(SYS_getdents64, dfd, buf, sizeof buf) > 0) {
    }
    long a = syscall(SYS_getdents64, dfd, buf, sizeof buf);
    long b = syscall(SYS_getdents64, dfd, buf, sizeof buf);
    check(a == 0 && b == 0, "getdents_eof_again", "after the end: %ld then %ld", a, b);

    /* d_off of the 500th entry: seeking there continues with the 501st */
    lseek(dfd, 0, SEEK_SET);
    char at500[64] = "", after[64] = "", got[64] = "";
    long off500 = -1;
    for (int i = 0; i < 501; i++) {
        long n = syscall(SYS_getdents64, dfd, buf, 32);
        if (n <= 0)
            break;
        struct dirent64 *d = (struct dirent64 *)buf;
        if (i == 499) {
            snprintf(at500, sizeof at500, "%.63s", d->d_name);
            off500 = d->d_off;
        }
        if (i == 500)
            snprintf(after, sizeof after, "%.63s", d->d_name);
    }
    lseek(dfd, 0, SEEK_SET);
    syscall(SYS_getdents64, dfd, buf, sizeof buf);
    long so = lseek(dfd, off500, SEEK_SET);
    if (syscall(SYS_getdents64, dfd, buf, 32) > 0)
        snprintf(got, sizeof got, "%.63s", ((struct dirent64 *)buf)->d_name);
    check(so == off500 && after[0] && !strcmp(got, after), "getdents_seek_doff",
          "entry 500 '%s' d_off %ld: lseek -> %ld, then '%s' (want '%s')", at500, off500, so, got, after);

    /* rename all */
    bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "f%04d", i);
        snprintf(name2, sizeof name2, "r%04d", i);
        if (renameat(dfd, name, dfd, name2) != 0 && !bad++)
            snprintf(why, sizeof why, "%s -> %s: %s", name, name2, e());
    }
    for (int i = 0; i < N && !bad; i++) {
        int v = -1;
        snprintf(name, sizeof name, "f%04d", i);
        snprintf(name2, sizeof name2, "r%04d", i);
        errno = 0;
        int gone = fstatat(dfd, name, &st, 0) == -1 && errno == ENOENT;
        int fd = openat(dfd, name2, O_RDONLY);
        if (fd < 0 || read(fd, &v, 4) != 4 || v != i || !gone) {
            if (!bad++)
                snprintf(why, sizeof why, "%s: fd %d value %d, old name gone %d", name2, fd, v, gone);
        }
        if (fd >= 0)
            close(fd);
    }
    check(!bad, "files_rename", "%d bad, first %s", bad, why);

    /* hard links */
    bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "r%04d", i);
        snprintf(name2, sizeof name2, "l%04d", i);
        if (linkat(dfd, name, dfd, name2, 0) != 0) {
            if (!bad++)
                snprintf(why, sizeof why, "link %s: %s", name, e());
            continue;
        }
        if (fstatat(dfd, name, &st, 0) || fstatat(dfd, name2, &st2, 0) || st.st_nlink != 2 ||
            st2.st_nlink != 2 || st.st_ino != st2.st_ino) {
            if (!bad++)
                snprintf(why, sizeof why, "%s: nlink %lu/%lu ino %lu/%lu", name,
                         (unsigned long)st.st_nlink, (unsigned long)st2.st_nlink,
                         (unsigned long)st.st_ino, (unsigned long)st2.st_ino);
        }
    }
    check(!bad, "files_link", "%d bad, first %s", bad, why);
    list_dir(dfd, 4096, "rl", N, &L);
    report_listing("files_listing_linked", &L, 2 * N);
    fstat(dfd, &st);
    if (st.st_nlink != 2 && !nlink_bad)
        nlink_bad = (int)st.st_nlink;

    bad = 0;
    for (int i = 0; i < N; i++) {
        int v = -1;
        snprintf(name, sizeof name, "r%04d", i);
        snprintf(name2, sizeof name2, "l%04d", i);
        if (unlinkat(dfd, name, 0) != 0) {
            if (!bad++)
                snprintf(why, sizeof why, "unlink %s: %s", name, e());
            continue;
        }
        int fd = openat(dfd, name2, O_RDONLY);
        if (fd < 0 || fstat(fd, &st) || st.st_nlink != 1 || read(fd, &v, 4) != 4 || v != i) {
            if (!bad++)
                snprintf(why, sizeof why, "%s: nlink %lu value %d (%s)", name2,
                         (unsigned long)st.st_nlink, v, e());
        }
        if (fd >= 0)
            close(fd);
    }
    check(!bad, "files_unlink_one", "%d bad, first %s", bad, why);
    list_dir(dfd, 4096, "l", N, &L);
    report_listing("files_listing_after", &L, N);

    bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(name2, sizeof name2, "l%04d", i);
        if (unlinkat(dfd, name2, 0) != 0 && !bad++)
            snprintf(why, sizeof why, "unlink %s: %s", name2, e());
    }
    list_dir(dfd, 4096, "", 0, &L);
    int rm = rmdir(P("many"));
    check(!bad && listing_ok(&L, 0) && rm == 0, "files_unlink_all",
          "%d unlink errors (%s), %d entries left (want 2), rmdir %d (%s)", bad, why, L.entries, rm,
          rm ? e() : "ok");
    check(!nlink_bad, "files_dir_nlink", "directory st_nlink %d, want 2", nlink_bad);
    close(dfd);

    /* unlink of an open file */
    int fd = open(P("openunl"), O_CREAT | O_RDWR, 0644);
    if (fd < 0) {
        fail("unlink_open", "open: %s", e());
        return;
    }
    if (write(fd, "hello", 5) != 5) {
    }
    int u = unlink(P("openunl"));
    int fs = fstat(fd, &st);
    check(u == 0 && fs == 0 && st.st_nlink == 0, "unlink_open_nlink0", "unlink %d fstat %d nlink %lu",
          u, fs, (unsigned long)st.st_nlink);
    EXPECT_ERR("unlink_open_stat_enoent", stat(P("openunl"), &st2), ENOENT);
    check(name_listed(W, "openunl") == 0, "unlink_open_not_listed", "listed %d times",
          name_listed(W, "openunl"));
    char rb[32] = "";
    ssize_t w = write(fd, " world", 6);
    ssize_t rr = pread(fd, rb, sizeof rb - 1, 0);
    if (rr >= 0)
        rb[rr] = 0;
    check(w == 6 && rr == 11 && !strcmp(rb, "hello world"), "unlink_open_rw",
          "write %zd, pread %zd '%s' (want 11 'hello world')", w, rr, rb);
    int ft = ftruncate(fd, 3);
    fstat(fd, &st);
    check(ft == 0 && st.st_size == 3, "unlink_open_ftruncate", "ftruncate %d size %ld", ft,
          (long)st.st_size);
    int fd2 = open(P("openunl"), O_CREAT | O_RDWR | O_EXCL, 0644);
    fstat(fd, &st);
    int f2 = fd2 >= 0 ? fstat(fd2, &st2) : -1;
    check(fd2 >= 0 && f2 == 0 && st2.st_ino != st.st_ino && st2.st_size == 0 && st.st_size == 3,
          "unlink_open_new_same_name", "fd %d ino %lu vs %lu size %ld (%s)", fd2,
          (unsigned long)st2.st_ino, (unsigned long)st.st_ino, (long)st2.st_size, e());
    close(fd);
    if (fd2 >= 0)
        close(fd2);
    unlink(P("openunl"));
    files_unlink_while_listing();
    files_races();
}

/* ------------------------------------------------------------------ attrs */

static int ts_eq(struct timespec a, long s, long ns) { return a.tv_sec == s && a.tv_nsec == ns; }

static int ts_near_now(struct timespec a, struct timespec lo)
{
    struct timespec hi;
    clock_gettime(CLOCK_REALTIME, &hi);
    /* the file system's clock may be coarse (a tick behind) */
    long long t = a.tv_sec * 1000000000LL + a.tv_nsec;
    long long l = lo.tv_sec * 1000000000LL + lo.tv_nsec - 50000000LL;
    long long h = hi.tv_sec * 1000000000LL + hi.tv_nsec + 1000000LL;
    return t >= l && t <= h;
}

static void cloexec_child(int argc, char **argv)
{
    if (argc < 4)
        _exit(3);
    int ce = atoi(argv[2]), keep = atoi(argv[3]);
    errno = 0;
    int a = fcntl(ce, F_GETFD);
    int ea = errno;
    int b = fcntl(keep, F_GETFD);
    _exit(a == -1 && ea == EBADF ? (b == 0 ? 0 : 2) : 1);
}

static void mode_attrs(void)
{
    struct stat st, st2;
    char buf[8192];

    /* umask */
    mode_t old = umask(027);
    int fd = open(P("um_file"), O_CREAT | O_WRONLY, 0666);
    if (fd >= 0)
        close(fd);
    int s1 = stat(P("um_file"), &st);
    check(old == 022 && s1 == 0 && (st.st_mode & 07777) == 0640, "umask_file",
          "old umask %o, mode %o (want 0640)", old, st.st_mode & 07777);
    int m = mkdir(P("um_dir"), 0777);
    s1 = stat(P("um_dir"), &st);
    check(m == 0 && s1 == 0 && (st.st_mode & 07777) == 0750, "umask_dir", "mode %o (want 0750)",
          st.st_mode & 07777);
    m = mkfifo(P("um_fifo"), 0666);
    s1 = stat(P("um_fifo"), &st);
    check(m == 0 && s1 == 0 && (st.st_mode & 07777) == 0640, "umask_fifo", "mode %o (want 0640)",
          st.st_mode & 07777);
    old = umask(022);
    check(old == 027, "umask_returns_old", "umask returned %o, want 027", old);

    /* O_CREAT on an existing file */
    puts_(P("ex"), "keep me");
    chmod(P("ex"), 0600);
    fd = open(P("ex"), O_CREAT | O_RDWR, 0777);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    stat(P("ex"), &st);
    check(fd >= 0 && n == 7 && (st.st_mode & 07777) == 0600, "o_creat_existing",
          "fd %d read %zd mode %o", fd, n, st.st_mode & 07777);
    if (fd >= 0)
        close(fd);

    /* O_TRUNC */
    memset(buf, 'x', 100);
    put(P("tr"), buf, 100, 0644);
    fd = open(P("tr"), O_WRONLY | O_TRUNC);
    fstat(fd, &st);
    check(fd >= 0 && st.st_size == 0, "o_trunc", "fd %d size %ld", fd, (long)st.st_size);
    close(fd);
    put(P("tr"), buf, 10, 0644);
    fd = open(P("tr"), O_RDONLY | O_TRUNC);
    fstat(fd, &st);
    check(fd >= 0 && st.st_size == 0, "o_trunc_rdonly", "fd %d size %ld (Linux truncates)", fd,
          (long)st.st_size);
    close(fd);

    /* O_CLOEXEC */
    int ce = open(P("ex"), O_RDONLY | O_CLOEXEC);
    int nc = open(P("ex"), O_RDONLY);
    int fce = fcntl(ce, F_GETFD), fnc = fcntl(nc, F_GETFD);
    check(ce >= 0 && nc >= 0 && fce == FD_CLOEXEC && fnc == 0, "o_cloexec_flag",
          "F_GETFD %d (want %d) and %d (want 0)", fce, FD_CLOEXEC, fnc);
    pid_t pid = fork();
    if (pid == 0) {
        char a1[16], a2[16];
        snprintf(a1, sizeof a1, "%d", ce);
        snprintf(a2, sizeof a2, "%d", nc);
        char *av[] = {"vfs", "cloexec-child", a1, a2, NULL};
        execv("/bin/vfs", av);
        _exit(127);
    }
    int wst = wait_status(pid);
    check(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "o_cloexec_exec",
          "child status %#x (1: O_CLOEXEC fd still open, 2: plain fd closed, 127: exec failed)", wst);
    close(ce);
    close(nc);

    /* offsets: dup, separate open, fork */
    puts_(P("off"), "0123456789abcdef");
    fd = open(P("off"), O_RDONLY);
    int fd2 = dup(fd);
    lseek(fd, 4, SEEK_SET);
    off_t o2 = lseek(fd2, 0, SEEK_CUR);
    char two[3] = "";
    n = read(fd2, two, 2);
    off_t o1 = lseek(fd, 0, SEEK_CUR);
    check(o2 == 4 && n == 2 && !memcmp(two, "45", 2) && o1 == 6, "dup_shares_offset",
          "dup's offset %ld, read '%.2s', first fd's offset then %ld (want 4, '45', 6)", (long)o2, two,
          (long)o1);
    int fd3 = open(P("off"), O_RDONLY);
    check(lseek(fd3, 0, SEEK_CUR) == 0, "open_own_offset", "a second open starts at %ld",
          (long)lseek(fd3, 0, SEEK_CUR));
    close(fd3);
    pid = fork();
    if (pid == 0)
        _exit(read(fd, two, 2) == 2 ? 0 : 1);
    wst = wait_status(pid);
    o1 = lseek(fd, 0, SEEK_CUR);
    check(WIFEXITED(wst) && WEXITSTATUS(wst) == 0 && o1 == 8, "fork_shares_offset",
          "child %#x, parent's offset %ld (want 8)", wst, (long)o1);
    close(fd);
    close(fd2);

    /* O_PATH, AT_EMPTY_PATH */
    fd = open(P("off"), O_PATH);
    int fs = fstat(fd, &st);
    errno = 0;
    n = read(fd, buf, 1);
    int er = errno;
    int fl = fcntl(fd, F_GETFL);
    check(fd >= 0 && fs == 0 && st.st_size == 16 && n == -1 && er == EBADF && (fl & O_PATH),
          "o_path", "fd %d fstat %d size %ld read %zd/%s F_GETFL %#x", fd, fs, (long)st.st_size, n,
          strerrorname_np(er), fl);
    int fe = fstatat(fd, "", &st2, AT_EMPTY_PATH);
    check(fe == 0 && st2.st_ino == st.st_ino, "fstatat_empty_path", "ret %d (%s) ino %lu vs %lu", fe,
          e(), (unsigned long)st2.st_ino, (unsigned long)st.st_ino);
    close(fd);

    /* statx */
    struct statx sx;
    stat(P("off"), &st);
    int sr = statx(AT_FDCWD, P("off"), 0, STATX_BASIC_STATS, &sx);
    char why[256] = "";
#define SXCMP(a, b)                                                                        \
    if (!why[0] && (unsigned long long)(a) != (unsigned long long)(b))                     \
    snprintf(why, sizeof why, "%s: statx %llu, stat %llu", #a, (unsigned long long)(a), \
             (unsigned long long)(b))
    if (sr != 0)
        snprintf(why, sizeof why, "statx: %s", e());
    SXCMP(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
    SXCMP(sx.stx_mode, st.st_mode);
    SXCMP(sx.stx_nlink, st.st_nlink);
    SXCMP(sx.stx_uid, st.st_uid);
    SXCMP(sx.stx_gid, st.st_gid);
    SXCMP(sx.stx_ino, st.st_ino);
    SXCMP(sx.stx_size, st.st_size);
    SXCMP(sx.stx_blocks, st.st_blocks);
    SXCMP(sx.stx_blksize, st.st_blksize);
    SXCMP(makedev(sx.stx_dev_major, sx.stx_dev_minor), st.st_dev);
    SXCMP(makedev(sx.stx_rdev_major, sx.stx_rdev_minor), st.st_rdev);
    SXCMP(sx.stx_atime.tv_sec, st.st_atim.tv_sec);
    SXCMP(sx.stx_atime.tv_nsec, st.st_atim.tv_nsec);
    SXCMP(sx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
    SXCMP(sx.stx_mtime.tv_nsec, st.st_mtim.tv_nsec);
    SXCMP(sx.stx_ctime.tv_sec, st.st_ctim.tv_sec);
    SXCMP(sx.stx_ctime.tv_nsec, st.st_ctim.tv_nsec);
    symlink("off", P("sxlink"));
    sr = statx(AT_FDCWD, P("sxlink"), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
    if (!why[0] && (sr != 0 || !S_ISLNK(sx.stx_mode) || sx.stx_size != 3))
        snprintf(why, sizeof why, "statx(link, AT_SYMLINK_NOFOLLOW): ret %d mode %o size %llu", sr,
                 sx.stx_mode, (unsigned long long)sx.stx_size);
    check(!why[0], "statx_matches_stat", "%s", why);

    /* statfs */
    struct statfs sf, sf2;
    int a = statfs(W, &sf);
    fd = open(P("off"), O_RDONLY);
    int b = fstatfs(fd, &sf2);
    close(fd);
    /* (VFS_BASE elsewhere: the other file system's magic, ext4's.) */
    long want_magic = getenv("VFS_BASE") ? 0xef53 : TMPFS_MAGIC_;
    check(a == 0 && b == 0 && sf.f_type == want_magic && sf2.f_type == want_magic &&
              sf.f_bsize == 4096 && sf.f_namelen == 255 && sf.f_blocks > 0 &&
              sf.f_bfree <= sf.f_blocks && sf.f_bavail <= sf.f_bfree,
          "statfs_tmpfs", "ret %d/%d f_type %#lx/%#lx bsize %ld namelen %ld blocks %lu bfree %lu bavail %lu",
          a, b, (long)sf.f_type, (long)sf2.f_type, (long)sf.f_bsize, (long)sf.f_namelen,
          (unsigned long)sf.f_blocks, (unsigned long)sf.f_bfree, (unsigned long)sf.f_bavail);
    a = statfs("/proc", &sf);
    check(a == 0 && sf.f_type == PROC_MAGIC_, "statfs_proc", "ret %d f_type %#lx (want 0x9fa0)", a,
          (long)sf.f_type);

    /* chmod / chown */
    fd = open(P("own"), O_CREAT | O_RDWR, 0644);
    int c1 = fchmod(fd, 0640);
    fstat(fd, &st);
    int c2 = fchmod(fd, 07777);
    fstat(fd, &st2);
    check(c1 == 0 && c2 == 0 && (st.st_mode & 07777) == 0640 && (st2.st_mode & 07777) == 07777 &&
              S_ISREG(st2.st_mode),
          "fchmod", "modes %o and %o (want 0640, 07777)", st.st_mode, st2.st_mode);
    c1 = chmod(P("own"), S_IFDIR | 0604);
    stat(P("own"), &st);
    check(c1 == 0 && st.st_mode == (S_IFREG | 0604), "chmod_type_bits", "ret %d mode %o (want 100604)",
          c1, st.st_mode);
    c1 = fchown(fd, 1000, 1001);
    fstat(fd, &st);
    check(c1 == 0 && st.st_uid == 1000 && st.st_gid == 1001, "fchown", "ret %d uid %u gid %u", c1,
          st.st_uid, st.st_gid);
    c1 = fchown(fd, -1, 5);
    fstat(fd, &st);
    c2 = fchown(fd, -1, -1);
    fstat(fd, &st2);
    check(c1 == 0 && c2 == 0 && st.st_uid == 1000 && st.st_gid == 5 && st2.st_uid == 1000 &&
              st2.st_gid == 5,
          "fchown_minus1", "uid/gid %u/%u then %u/%u (want 1000/5 both)", st.st_uid, st.st_gid,
          st2.st_uid, st2.st_gid);
    fchmod(fd, 06755);
    c1 = fchown(fd, 0, 0);
    fstat(fd, &st);
    check(c1 == 0 && (st.st_mode & 07777) == 0755, "fchown_kills_suid", "mode after chown %o (want 0755)",
          st.st_mode & 07777);
    close(fd);
    symlink("own", P("ownlink"));
    stat(P("own"), &st2);
    c1 = lchown(P("ownlink"), 7, 8);
    lstat(P("ownlink"), &st);
    struct stat st3;
    stat(P("own"), &st3);
    check(c1 == 0 && st.st_uid == 7 && st.st_gid == 8 && st3.st_uid == st2.st_uid &&
              st3.st_gid == st2.st_gid,
          "lchown", "link %u/%u (want 7/8), target %u/%u (was %u/%u)", st.st_uid, st.st_gid,
          st3.st_uid, st3.st_gid, st2.st_uid, st2.st_gid);

    /* timestamps */
    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    struct timespec ts[2] = {{1000, 500}, {2000, 600}};
    int u = utimensat(AT_FDCWD, P("own"), ts, 0);
    stat(P("own"), &st);
    check(u == 0 && ts_eq(st.st_atim, 1000, 500) && ts_eq(st.st_mtim, 2000, 600), "utimensat_explicit",
          "ret %d atime %ld.%09ld mtime %ld.%09ld", u, (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
          (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    check(ts_near_now(st.st_ctim, t0), "utimensat_ctime", "ctime %ld.%09ld, now %ld", (long)st.st_ctim.tv_sec,
          st.st_ctim.tv_nsec, (long)t0.tv_sec);
    struct timespec ts2[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    clock_gettime(CLOCK_REALTIME, &t0);
    u = utimensat(AT_FDCWD, P("own"), ts2, 0);
    stat(P("own"), &st);
    check(u == 0 && ts_eq(st.st_atim, 1000, 500) && ts_near_now(st.st_mtim, t0), "utimensat_now_omit",
          "ret %d atime %ld.%09ld (want 1000.000000500) mtime %ld (now %ld)", u, (long)st.st_atim.tv_sec,
          st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, (long)t0.tv_sec);
    utimensat(AT_FDCWD, P("own"), ts, 0);
    clock_gettime(CLOCK_REALTIME, &t0);
    u = utimensat(AT_FDCWD, P("own"), NULL, 0);
    stat(P("own"), &st);
    check(u == 0 && ts_near_now(st.st_atim, t0) && ts_near_now(st.st_mtim, t0), "utimensat_null",
          "ret %d atime %ld mtime %ld now %ld", u, (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec,
          (long)t0.tv_sec);
    struct timespec ts3[2] = {{3000, 0}, {3000, 0}};
    stat(P("own"), &st2);
    u = utimensat(AT_FDCWD, P("ownlink"), ts3, AT_SYMLINK_NOFOLLOW);
    lstat(P("ownlink"), &st);
    stat(P("own"), &st3);
    check(u == 0 && st.st_mtim.tv_sec == 3000 && st3.st_mtim.tv_sec == st2.st_mtim.tv_sec,
          "utimensat_nofollow", "ret %d link mtime %ld target %ld (was %ld)", u, (long)st.st_mtim.tv_sec,
          (long)st3.st_mtim.tv_sec, (long)st2.st_mtim.tv_sec);
    fd = open(P("own"), O_RDWR);
    u = futimens(fd, ts);
    fstat(fd, &st);
    check(u == 0 && ts_eq(st.st_mtim, 2000, 600), "futimens", "ret %d mtime %ld.%09ld", u,
          (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    clock_gettime(CLOCK_REALTIME, &t0);
    n = write(fd, "w", 1);
    fstat(fd, &st);
    check(n == 1 && ts_near_now(st.st_mtim, t0) && ts_near_now(st.st_ctim, t0), "write_updates_mtime",
          "mtime %ld ctime %ld now %ld", (long)st.st_mtim.tv_sec, (long)st.st_ctim.tv_sec, (long)t0.tv_sec);
    close(fd);

    /* truncate, fallocate */
    puts_(P("trp"), "abc");
    int t1 = truncate(P("trp"), 12345);
    stat(P("trp"), &st);
    ssize_t g = get(P("trp"), buf, sizeof buf);
    int t2 = truncate(P("trp"), 2);
    stat(P("trp"), &st2);
    check(t1 == 0 && st.st_size == 12345 && g == 8191 && !memcmp(buf, "abc", 3) && is_zero(buf + 3, 8188) &&
              t2 == 0 && st2.st_size == 2,
          "truncate_path", "grow %d size %ld read %zd, shrink %d size %ld", t1, (long)st.st_size, g, t2,
          (long)st2.st_size);
    fd = open(P("fa"), O_CREAT | O_RDWR, 0644);
    int fa = fallocate(fd, 0, 0, MiB);
    fstat(fd, &st);
    check(fa == 0 && st.st_size == MiB && st.st_blocks >= 2048, "fallocate_size",
          "ret %d (%s) size %ld blocks %ld", fa, e(), (long)st.st_size, (long)st.st_blocks);
    char *big = malloc(MiB);
    n = pread(fd, big, MiB, 0);
    check(n == MiB && is_zero(big, MiB), "fallocate_zeros", "read %zd", n);
    free(big);
    fa = fallocate(fd, FALLOC_FL_KEEP_SIZE, MiB, MiB);
    fstat(fd, &st);
    check(fa == 0 && st.st_size == MiB && st.st_blocks >= 4096, "fallocate_keep_size",
          "ret %d (%s) size %ld blocks %ld", fa, e(), (long)st.st_size, (long)st.st_blocks);

    /* /proc/self/fd */
    char lp[64], tgt[512];
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
    n = readlink(lp, tgt, sizeof tgt - 1);
    if (n >= 0)
        tgt[n] = 0;
    check(n >= 0 && !strcmp(tgt, P("fa")), "proc_fd_readlink", "'%s' (want '%s')", n >= 0 ? tgt : e(),
          P("fa"));
    unlink(P("fa"));
    n = readlink(lp, tgt, sizeof tgt - 1);
    if (n >= 0)
        tgt[n] = 0;
    char want[300];
    snprintf(want, sizeof want, "%s (deleted)", P("fa"));
    check(n >= 0 && !strcmp(tgt, want), "proc_fd_deleted", "'%s' (want '%s')", n >= 0 ? tgt : e(), want);
    pwrite(fd, "gone but here", 13, 0);
    int rfd = open(lp, O_RDONLY);
    char rb2[16] = "";
    n = rfd >= 0 ? read(rfd, rb2, 13) : -1;
    check(rfd >= 0 && n == 13 && !memcmp(rb2, "gone but here", 13), "proc_fd_reopen",
          "open(/proc/self/fd/N) of an unlinked file: fd %d read %zd '%.13s' (%s)", rfd, n, rb2, e());
    if (rfd >= 0)
        close(rfd);
    close(fd);
    fd = open(P("ren1"), O_CREAT | O_RDWR, 0644);
    rename(P("ren1"), P("ren2"));
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
    n = readlink(lp, tgt, sizeof tgt - 1);
    if (n >= 0)
        tgt[n] = 0;
    check(n >= 0 && !strcmp(tgt, P("ren2")), "proc_fd_after_rename", "'%s' (want '%s')", n >= 0 ? tgt : e(),
          P("ren2"));
    close(fd);
    fd = open("/dev/null", O_RDONLY);
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
    n = readlink(lp, tgt, sizeof tgt - 1);
    if (n >= 0)
        tgt[n] = 0;
    check(n >= 0 && !strcmp(tgt, "/dev/null"), "proc_fd_devnull", "'%s'", n >= 0 ? tgt : e());
    close(fd);

    /* readv / writev, sendfile, fsync */
    fd = open(P("iov"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    struct iovec wv[3] = {{"abc", 3}, {"", 0}, {"defghij", 7}};
    n = writev(fd, wv, 3);
    char r1[4] = "", r2[7] = "";
    struct iovec rv[2] = {{r1, 4}, {r2, 7}};
    ssize_t n2 = preadv(fd, rv, 2, 0);
    check(n == 10 && n2 == 10 && !memcmp(r1, "abcd", 4) && !memcmp(r2, "efghij", 6), "readv_writev",
          "writev %zd preadv %zd '%.4s' '%.6s'", n, n2, r1, r2);
    int out = open(P("sf"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    off_t so = 2;
    n = sendfile(out, fd, &so, 100);
    g = get(P("sf"), buf, sizeof buf);
    check(n == 8 && so == 10 && g == 8 && !memcmp(buf, "cdefghij", 8) && lseek(fd, 0, SEEK_CUR) == 10,
          "sendfile_file", "sendfile %zd offset %ld file '%s' (%zd)", n, (long)so, g > 0 ? buf : "", g);
    int dn = open("/dev/null", O_WRONLY);
    lseek(fd, 3, SEEK_SET);
    ssize_t sn1 = sendfile(dn, fd, NULL, 100);
    off_t at = lseek(fd, 0, SEEK_CUR);
    ssize_t sn2 = sendfile(dn, fd, NULL, 100);
    check(dn >= 0 && sn1 == 7 && at == 10 && sn2 == 0, "sendfile_null", "sendfile to /dev/null %zd then %zd, position %ld",
          sn1, sn2, (long)at);
    close(dn);
    a = fsync(fd);
    b = fdatasync(fd);
    int c = syncfs(fd);
    check(!a && !b && !c, "fsync", "fsync %d fdatasync %d syncfs %d (%s)", a, b, c, e());

    /* locks */
    a = flock(fd, LOCK_EX);
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    b = fcntl(out, F_SETLK, &lk);
    pid = fork();
    if (pid == 0) {
        int cfd = open(P("iov"), O_RDWR);
        errno = 0;
        int x = flock(cfd, LOCK_EX | LOCK_NB);
        int ex = errno;
        int ofd = open(P("sf"), O_RDWR);
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
        int y = fcntl(ofd, F_GETLK, &q);
        struct flock q2 = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        errno = 0;
        int z = fcntl(ofd, F_SETLK, &q2);
        int ez = errno;
        struct flock q3 = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 5};
        int zz = fcntl(ofd, F_SETLK, &q3);
        check(x == -1 && ex == EWOULDBLOCK, "flock_conflict", "flock LOCK_NB: %d/%s", x, strerrorname_np(ex));
        check(y == 0 && q.l_type == F_WRLCK && q.l_pid == getppid() && q.l_start == 0 && q.l_len == 10 &&
                  z == -1 && (ez == EAGAIN) && zz == 0,
              "fcntl_lock_conflict",
              "F_GETLK %d type %d pid %d (want %d) start %ld len %ld; F_SETLK %d/%s (want EAGAIN); "
              "free range %d",
              y, q.l_type, q.l_pid, getppid(), (long)q.l_start, (long)q.l_len, z, strerrorname_np(ez), zz);
        _exit(t_exit());
    }
    if (a || b)
        fail("locks", "parent flock %d fcntl %d: %s", a, b, e());
    reap(pid, "locks_child");
    close(fd);
    close(out);
}

/* ------------------------------------------------------------------ dirs */

/* Two processes move two directories into each other, again and again: one
 * of each conflicting pair must fail, so both stay reachable (no cycle cut off
 * from the tree) and nothing deadlocks. */
static void rename_cycle_race(void)
{
    mkdir(P("ra"), 0755);
    mkdir(P("rb"), 0755);
    pid_t k[2];
    for (int c = 0; c < 2; c++) {
        k[c] = fork();
        if (k[c] == 0) {
            alarm(30);
            const char *x = c ? "rb" : "ra", *y = c ? "ra" : "rb";
            char from[300], to[300];
            snprintf(from, sizeof from, "%s/%s", W, x);
            snprintf(to, sizeof to, "%s/%s/%s", W, y, x);
            for (int i = 0; i < 3000; i++) {
                rename(from, to);
                rename(to, from);
            }
            _exit(0);
        }
    }
    int s0 = wait_status(k[0]), s1 = wait_status(k[1]);
    /* where did they end up? */
    struct stat st;
    const char *places[] = {"ra", "rb", "ra/rb", "rb/ra"};
    int found[4];
    for (int i = 0; i < 4; i++)
        found[i] = stat(P("%s", places[i]), &st) == 0;
    int ra = found[0] + found[3], rb = found[1] + found[2];
    check(WIFEXITED(s0) && WIFEXITED(s1) && ra == 1 && rb == 1, "rename_cycle_race",
          "children %#x %#x; reachable: ra %d, rb %d, ra/rb %d, rb/ra %d", s0, s1, found[0], found[1],
          found[2], found[3]);
    rmtree(P("ra"));
    rmtree(P("rb"));
}

static void dirs_more(void)
{
    struct stat st, st2;
    /* ".." after a symlink is the physical parent */
    mkdir(P("p1"), 0755);
    mkdir(P("p1/q"), 0755);
    mkdir(P("p2"), 0755);
    symlink("../p1/q", P("p2/lq"));
    stat(P("p1"), &st);
    int s = stat(P("p2/lq/.."), &st2);
    check(s == 0 && st2.st_ino == st.st_ino, "dotdot_after_symlink", "'p2/lq/..' ino %lu, want p1's %lu (%s)",
          (unsigned long)st2.st_ino, (unsigned long)st.st_ino, e());
    puts_(P("p1/q/f"), "Q");
    char b[8] = "";
    get(P("p2/lq/f"), b, sizeof b);
    check(!strcmp(b, "Q"), "symlink_middle_component", "read '%s'", b);

    /* d_type of each kind */
    mkfifo(P("p1/fifo"), 0644);
    symlink("f", P("p1/q/sl"));
    int types[4] = {-1, -1, -1, -1};
    static const char *nm[4] = {"q", "fifo"};
    DIR *d = opendir(P("p1"));
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, nm[0]))
            types[0] = de->d_type;
        if (!strcmp(de->d_name, nm[1]))
            types[1] = de->d_type;
    }
    if (d)
        closedir(d);
    d = opendir(P("p1/q"));
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, "f"))
            types[2] = de->d_type;
        if (!strcmp(de->d_name, "sl"))
            types[3] = de->d_type;
    }
    if (d)
        closedir(d);
    check(types[0] == DT_DIR && types[1] == DT_FIFO && types[2] == DT_REG && types[3] == DT_LNK,
          "getdents_d_type", "dir %d fifo %d reg %d lnk %d (want %d %d %d %d)", types[0], types[1], types[2],
          types[3], DT_DIR, DT_FIFO, DT_REG, DT_LNK);

    /* a directory's mtime and ctime follow its entries; link sets the file's ctime */
    struct timespec old[2] = {{1000, 0}, {1000, 0}}, t0;
    const char *what[] = {"create", "unlink", "rename-in", "mkdir", "rmdir"};
    int bad = -1;
    for (int i = 0; i < 5 && bad < 0; i++) {
        utimensat(AT_FDCWD, P("p2"), old, 0);
        clock_gettime(CLOCK_REALTIME, &t0);
        switch (i) {
        case 0: puts_(P("p2/n"), "n"); break;
        case 1: unlink(P("p2/n")); break;
        case 2: rename(P("p1/fifo"), P("p2/fifo")); break;
        case 3: mkdir(P("p2/sd"), 0755); break;
        case 4: rmdir(P("p2/sd")); break;
        }
        stat(P("p2"), &st);
        if (!ts_near_now(st.st_mtim, t0) || !ts_near_now(st.st_ctim, t0))
            bad = i;
    }
    check(bad < 0, "dir_mtime", "after %s the directory's mtime is %ld, ctime %ld (now %ld)",
          bad >= 0 ? what[bad] : "", (long)st.st_mtim.tv_sec, (long)st.st_ctim.tv_sec, (long)t0.tv_sec);
    stat(P("p1"), &st2);
    check(ts_near_now(st2.st_mtim, t0), "dir_mtime_rename_out", "source dir mtime %ld (now %ld)",
          (long)st2.st_mtim.tv_sec, (long)t0.tv_sec);
    utimensat(AT_FDCWD, P("p1/q/f"), old, 0); /* ctime becomes now; wait for the clock to move */
    stat(P("p1/q/f"), &st);
    sleep_ms(30);
    clock_gettime(CLOCK_REALTIME, &t0);
    link(P("p1/q/f"), P("p1/q/f2"));
    stat(P("p1/q/f"), &st2);
    check(ts_near_now(st2.st_ctim, t0) && (st2.st_ctim.tv_sec != st.st_ctim.tv_sec ||
                                           st2.st_ctim.tv_nsec != st.st_ctim.tv_nsec),
          "link_updates_ctime", "ctime %ld.%09ld before %ld.%09ld", (long)st2.st_ctim.tv_sec, st2.st_ctim.tv_nsec,
          (long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);

    /* 200 nested directories: getcwd at the bottom, then removed from there up */
    char cwd[4200];
    int depth = 0;
    if (chdir(W) == 0)
        for (; depth < 200; depth++)
            if (mkdir("dd", 0755) != 0 || chdir("dd") != 0)
                break;
    char *g = getcwd(cwd, sizeof cwd);
    size_t want = strlen(W) + 3 * 200;
    int rmok = 1;
    for (int i = 0; i < depth; i++)
        if (chdir("..") != 0 || rmdir("dd") != 0)
            rmok = 0;
    getcwd(cwd + 4100, 100);
    check(depth == 200 && g && strlen(g) == want && rmok && !strcmp(cwd + 4100, W), "deep_tree",
          "depth %d, getcwd length %zu (want %zu), removed %d, back at '%s'", depth, g ? strlen(g) : 0, want, rmok,
          cwd + 4100);
    rename_cycle_race();
}

static void mode_dirs(void)
{
    struct stat st, st2, pst;
    char buf[4200], cwd[4200];
    int dfd = open(W, O_RDONLY | O_DIRECTORY);
    stat(W, &pst);
    int m = mkdirat(dfd, "d1", 0755);
    int s = fstatat(dfd, "d1", &st, 0);
    stat(W, &st2);
    check(m == 0 && s == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755, "mkdirat",
          "ret %d stat %d mode %o", m, s, st.st_mode);
    check(st.st_nlink == 2 && st2.st_nlink == pst.st_nlink + 1, "dir_nlink",
          "new dir nlink %lu (want 2), parent %lu -> %lu", (unsigned long)st.st_nlink,
          (unsigned long)pst.st_nlink, (unsigned long)st2.st_nlink);
    m = mkdir(P("d2/"), 0755);
    check(m == 0 && stat(P("d2"), &st) == 0 && S_ISDIR(st.st_mode), "mkdir_trailing_slash", "ret %d (%s)",
          m, e());
    int r = rmdir(P("d2"));
    stat(W, &st2);
    check(r == 0 && st2.st_nlink == pst.st_nlink + 1, "rmdir_nlink", "rmdir %d, parent nlink %lu (want %lu)",
          r, (unsigned long)st2.st_nlink, (unsigned long)pst.st_nlink + 1);

    /* renameat2 */
    puts_(P("a"), "A");
    puts_(P("b"), "B");
    errno = 0;
    r = renameat2(dfd, "a", dfd, "b", RENAME_NOREPLACE);
    int er = errno;
    int r2 = renameat2(dfd, "a", dfd, "c", RENAME_NOREPLACE);
    check(r == -1 && er == EEXIST && r2 == 0 && access(P("c"), F_OK) == 0 && access(P("a"), F_OK) == -1,
          "rename_noreplace", "onto existing: %d/%s (want EEXIST), onto free: %d", r, strerrorname_np(er), r2);
    r = renameat2(dfd, "b", dfd, "c", RENAME_EXCHANGE);
    char x1[8] = "", x2[8] = "";
    get(P("b"), x1, sizeof x1);
    get(P("c"), x2, sizeof x2);
    check(r == 0 && !strcmp(x1, "A") && !strcmp(x2, "B"), "rename_exchange", "ret %d (%s) b='%s' c='%s'", r,
          e(), x1, x2);
    r = renameat2(dfd, "b", dfd, "d1", RENAME_EXCHANGE);
    int isdir = stat(P("b"), &st) == 0 && S_ISDIR(st.st_mode);
    int isreg = stat(P("d1"), &st2) == 0 && S_ISREG(st2.st_mode);
    check(r == 0 && isdir && isreg, "rename_exchange_dir", "ret %d (%s): b is dir %d, d1 is file %d", r, e(),
          isdir, isreg);
    renameat2(dfd, "b", dfd, "d1", RENAME_EXCHANGE); /* back: d1 dir, b file */
    EXPECT_ERR("rename_exchange_missing", renameat2(dfd, "b", dfd, "nope", RENAME_EXCHANGE), ENOENT);

    int ofd = open(P("c"), O_RDONLY);
    r = rename(P("b"), P("c"));
    fstat(ofd, &st);
    get(P("c"), x2, sizeof x2);
    check(r == 0 && st.st_nlink == 0 && !strcmp(x2, "A") && access(P("b"), F_OK) == -1, "rename_replace_file",
          "ret %d, replaced inode nlink %lu (want 0), c='%s'", r, (unsigned long)st.st_nlink, x2);
    close(ofd);

    mkdir(P("e1"), 0755);
    mkdir(P("e2"), 0755);
    mkdir(P("ne"), 0755);
    puts_(P("ne/f"), "x");
    stat(W, &pst);
    r = rename(P("e1"), P("e2"));
    stat(W, &st2);
    check(r == 0 && stat(P("e2"), &st) == 0 && access(P("e1"), F_OK) == -1 && st2.st_nlink == pst.st_nlink - 1,
          "rename_dir_over_empty", "ret %d (%s), parent nlink %lu -> %lu", r, e(), (unsigned long)pst.st_nlink,
          (unsigned long)st2.st_nlink);
    EXPECT_ERR("rename_dir_over_nonempty", rename(P("e2"), P("ne")), ENOTEMPTY);
    EXPECT_ERR("rename_dir_over_file", rename(P("e2"), P("c")), ENOTDIR);
    EXPECT_ERR("rename_file_over_dir", rename(P("c"), P("e2")), EISDIR);
    mkdir(P("e2/sub"), 0755);
    EXPECT_ERR("rename_into_self", rename(P("e2"), P("e2/sub/x")), EINVAL);
    stat(P("c"), &st);
    r = rename(P("c"), P("c"));
    check(r == 0 && stat(P("c"), &st2) == 0 && st2.st_ino == st.st_ino, "rename_same", "ret %d (%s)", r, e());
    link(P("c"), P("c2"));
    r = rename(P("c"), P("c2"));
    check(r == 0 && access(P("c"), F_OK) == 0 && access(P("c2"), F_OK) == 0, "rename_hardlinks",
          "ret %d (%s): both names must stay (POSIX)", r, e());

    /* a directory moved to another parent */
    struct stat e2a, d1a, mv, dd, e2b, d1b;
    stat(P("e2"), &e2a);
    stat(P("d1"), &d1a);
    stat(P("e2/sub"), &mv);
    r = rename(P("e2/sub"), P("d1/sub"));
    stat(P("d1/sub/.."), &dd);
    stat(P("e2"), &e2b);
    stat(P("d1"), &d1b);
    check(r == 0 && dd.st_ino == d1a.st_ino && e2b.st_nlink == e2a.st_nlink - 1 &&
              d1b.st_nlink == d1a.st_nlink + 1,
          "rename_dir_moves_dotdot", "ret %d, '..' ino %lu (want %lu), nlinks old %lu->%lu new %lu->%lu", r,
          (unsigned long)dd.st_ino, (unsigned long)d1a.st_ino, (unsigned long)e2a.st_nlink,
          (unsigned long)e2b.st_nlink, (unsigned long)d1a.st_nlink, (unsigned long)d1b.st_nlink);

    /* symlinks */
    puts_(P("d1/target"), "T");
    r = symlink("target", P("d1/rel"));
    ssize_t n = readlink(P("d1/rel"), buf, sizeof buf);
    check(r == 0 && n == 6 && !memcmp(buf, "target", 6), "symlink_readlink_rel", "symlink %d readlink %zd '%.*s'",
          r, n, n > 0 ? (int)n : 0, buf);
    r = symlink(P("d1/target"), P("abs"));
    n = readlink(P("abs"), buf, sizeof buf);
    check(r == 0 && n == (ssize_t)strlen(P("d1/target")) && !memcmp(buf, P("d1/target"), n),
          "symlink_readlink_abs", "symlink %d readlink %zd", r, n);
    s = lstat(P("abs"), &st);
    check(s == 0 && S_ISLNK(st.st_mode) && st.st_size == (off_t)strlen(P("d1/target")) &&
              (st.st_mode & 07777) == 0777,
          "symlink_lstat", "mode %o size %ld", st.st_mode, (long)st.st_size);
    symlink("../d1/target", P("e2/up"));
    x1[0] = 0;
    get(P("e2/up"), x1, sizeof x1);
    char x3[8] = "";
    get(P("d1/rel"), x3, sizeof x3);
    check(!strcmp(x1, "T") && !strcmp(x3, "T"), "symlink_follow_rel", "through ../d1/target '%s', target '%s'",
          x1, x3);
    n = readlink(P("d1/rel"), buf, 3);
    check(n == 3 && !memcmp(buf, "tar", 3), "readlink_truncates", "ret %zd", n);
    symlink("nothing-here", P("dang"));
    errno = 0;
    s = stat(P("dang"), &st);
    er = errno;
    check(s == -1 && er == ENOENT && lstat(P("dang"), &st) == 0, "symlink_dangling", "stat %d/%s lstat %s", s,
          strerrorname_np(er), e());
    EXPECT_ERR("symlink_excl_dangling", open(P("dang"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    int fd = open(P("dang"), O_CREAT | O_WRONLY, 0644);
    check(fd >= 0 && access(P("nothing-here"), F_OK) == 0, "symlink_creat_dangling",
          "open(O_CREAT) through a dangling link: fd %d, target exists %d", fd, access(P("nothing-here"), F_OK));
    if (fd >= 0)
        close(fd);
    symlink("d1", P("dlink"));
    s = stat(P("dlink/"), &st);
    check(s == 0 && S_ISDIR(st.st_mode), "symlink_dir_trailing_slash", "stat %d mode %o", s, st.st_mode);
    fd = open(P("abs"), O_PATH | O_NOFOLLOW);
    s = fd >= 0 ? fstat(fd, &st) : -1;
    check(fd >= 0 && s == 0 && S_ISLNK(st.st_mode), "o_nofollow_opath", "fd %d (%s) mode %o", fd, e(),
          st.st_mode);
    if (fd >= 0)
        close(fd);
    /* chains: l0 -> l1 -> ... -> lK -> d1/target */
    mkdir(P("ch"), 0755);
    for (int k = 0; k <= 41; k++) {
        char t[32], l[32];
        snprintf(l, sizeof l, "ch/l%d", k);
        if (k == 41)
            snprintf(t, sizeof t, "../d1/target");
        else
            snprintf(t, sizeof t, "l%d", k + 1);
        symlink(t, P("%s", l));
    }
    /* from l2 there are 40 links to follow (l2..l41), from l1 41 */
    s = stat(P("ch/l2"), &st);
    check(s == 0 && S_ISREG(st.st_mode), "symlink_chain_40", "stat through 40 links: %s", e());
    EXPECT_ERR("symlink_chain_41", stat(P("ch/l1"), &st), ELOOP);

    /* cwd */
    r = chdir(P("d1"));
    char *g = getcwd(cwd, sizeof cwd);
    check(r == 0 && g && !strcmp(cwd, P("d1")), "chdir_getcwd", "'%s' (want '%s')", g ? cwd : e(), P("d1"));
    r = chdir("..");
    g = getcwd(cwd, sizeof cwd);
    check(r == 0 && g && !strcmp(cwd, W), "chdir_dotdot", "'%s'", g ? cwd : e());
    int sfd = open(P("d1/sub"), O_RDONLY | O_DIRECTORY);
    r = fchdir(sfd);
    g = getcwd(cwd, sizeof cwd);
    check(r == 0 && g && !strcmp(cwd, P("d1/sub")), "fchdir", "'%s'", g ? cwd : e());
    long lr = syscall(SYS_getcwd, cwd, sizeof cwd);
    check(lr == (long)strlen(P("d1/sub")) + 1, "getcwd_raw_len", "raw getcwd returned %ld (want %zu)", lr,
          strlen(P("d1/sub")) + 1);
    errno = 0;
    lr = syscall(SYS_getcwd, cwd, 5);
    er = errno;
    check(lr == -1 && er == ERANGE, "getcwd_erange", "size 5: %ld/%s", lr, strerrorname_np(er));
    n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
    if (n >= 0)
        buf[n] = 0;
    g = getcwd(cwd, sizeof cwd);
    check(n > 0 && g && !strcmp(buf, cwd), "proc_self_cwd", "'%s' vs getcwd '%s'", n > 0 ? buf : e(), cwd);
    close(sfd);
    mkdir(P("gone"), 0755);
    chdir(P("gone"));
    rmdir(P("gone"));
    errno = 0;
    lr = syscall(SYS_getcwd, cwd, sizeof cwd);
    er = errno;
    int e_cr;
    errno = 0;
    fd = open("newfile", O_CREAT | O_WRONLY, 0644);
    e_cr = errno;
    s = stat(".", &st);
    check(lr == -1 && er == ENOENT && fd == -1 && e_cr == ENOENT && s == 0 && st.st_nlink == 0,
          "cwd_removed", "getcwd %ld/%s, create %d/%s, stat('.') %d nlink %lu", lr, strerrorname_np(er), fd,
          strerrorname_np(e_cr), s, (unsigned long)st.st_nlink);
    if (fd >= 0)
        close(fd);
    chdir(W);

    stat("/", &st);
    stat("/..", &st2);
    struct stat st3;
    stat("/proc/..", &st3);
    check(st.st_ino == st2.st_ino && st.st_dev == st2.st_dev, "dotdot_root", "'/..' is not '/'");
    check(st.st_ino == st3.st_ino && st.st_dev == st3.st_dev, "dotdot_mount", "'/proc/..' is ino %lu dev %lx",
          (unsigned long)st3.st_ino, (unsigned long)st3.st_dev);
    stat(P("d1/sub"), &st);
    s = stat(P("/d1//sub/./../sub/"), &st2);
    check(s == 0 && st.st_ino == st2.st_ino, "path_dots_slashes", "stat %d (%s)", s, e());
    errno = 0;
    r = chdir(P("c"));
    er = errno;
    errno = 0;
    r2 = chdir(P("missing"));
    int er2 = errno;
    fd = open(P("c"), O_RDONLY);
    errno = 0;
    int r3 = fchdir(fd);
    int er3 = errno;
    close(fd);
    check(r == -1 && er == ENOTDIR && r2 == -1 && er2 == ENOENT && r3 == -1 && er3 == ENOTDIR, "chdir_errors",
          "chdir(file) %s, chdir(missing) %s, fchdir(file) %s", strerrorname_np(er), strerrorname_np(er2),
          strerrorname_np(er3));

    /* chroot */
    puts_(P("d1/inroot"), "R");
    stat(P("d1"), &st);
    pid_t pid = fork();
    if (pid == 0) {
        int c = chroot(P("d1"));
        int cd = chdir("/");
        struct stat a, b2, c2;
        int sa = stat("/", &a), sb = stat("/..", &b2), sc = stat("/inroot", &c2);
        char cw[256] = "";
        char *gc = getcwd(cw, sizeof cw);
        check(c == 0 && cd == 0 && !sa && !sb && !sc && a.st_ino == st.st_ino && b2.st_ino == st.st_ino &&
                  gc && !strcmp(cw, "/"),
              "chroot", "chroot %d chdir %d, '/' ino %lu '/..' ino %lu (want %lu), /inroot %d, getcwd '%s'", c,
              cd, (unsigned long)a.st_ino, (unsigned long)b2.st_ino, (unsigned long)st.st_ino, sc, cw);
        _exit(t_exit());
    }
    reap(pid, "chroot");
    close(dfd);
    dirs_more();
}

/* ------------------------------------------------------------------ big */

static inline uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void fill_chunk(uint64_t *p, long off, long len)
{
    for (long i = 0; i < len / 8; i++)
        p[i] = mix((uint64_t)(off / 8 + i));
}

static uint64_t sum_chunk(const uint64_t *p, long len)
{
    uint64_t s = 0;
    for (long i = 0; i < len / 8; i++)
        s = s * 31 + p[i];
    return s;
}

static uint8_t pat_byte(long off) { return (uint8_t)(mix((uint64_t)(off / 8)) >> (8 * (off % 8))); }

static void mode_big(void)
{
    const long SZ = 64 * MiB;
    struct stat st;
    uint64_t *chunk = malloc(MiB), *expect = malloc(MiB);
    char *rbuf = malloc(3 * MiB);
    int fd = open(P("big"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0 || !chunk || !expect || !rbuf) {
        fail("big_setup", "%s", e());
        return;
    }
    long t0 = now_ms();
    uint64_t wsum = 0;
    long wrote = 0;
    for (long off = 0; off < SZ; off += MiB) {
        fill_chunk(chunk, off, MiB);
        wsum += sum_chunk(chunk, MiB);
        ssize_t w = write(fd, chunk, MiB);
        if (w != MiB) {
            fail("big_write", "write at %ld returned %zd (%s)", off, w, e());
            break;
        }
        wrote += w;
    }
    long t1 = now_ms();
    if (wrote == SZ)
        pass("big_write");
    fstat(fd, &st);
    check(st.st_size == SZ && st.st_blocks == SZ / 512, "big_stat", "size %ld blocks %ld (want %ld, %ld)",
          (long)st.st_size, (long)st.st_blocks, SZ, SZ / 512);
    /* read back with odd-sized reads, compared a MiB at a time */
    lseek(fd, 0, SEEK_SET);
    uint64_t rsum = 0;
    long have = 0, checked = 0, bad_at = -1;
    const long RD = MiB + 12345;
    for (;;) {
        ssize_t n = read(fd, rbuf + have, RD);
        if (n < 0) {
            bad_at = -2;
            break;
        }
        have += n;
        while (have >= MiB || (n == 0 && have > 0)) {
            long len = have >= MiB ? MiB : have;
            fill_chunk(expect, checked, MiB);
            if (memcmp(rbuf, expect, len) && bad_at == -1)
                for (long i = 0; i < len; i++)
                    if ((uint8_t)rbuf[i] != pat_byte(checked + i)) {
                        bad_at = checked + i;
                        break;
                    }
            rsum += sum_chunk((uint64_t *)rbuf, len);
            checked += len;
            memmove(rbuf, rbuf + len, have - len);
            have -= len;
        }
        if (n == 0)
            break;
    }
    long t2 = now_ms();
    check(checked == SZ && bad_at == -1 && rsum == wsum, "big_read",
          "read %ld bytes, first bad byte at %ld, checksum %016llx (want %016llx)", checked, bad_at,
          (unsigned long long)rsum, (unsigned long long)wsum);
    printf("INFO big: write %ld ms, read %ld ms\n", t1 - t0, t2 - t1);

    off_t e1 = lseek(fd, 0, SEEK_END);
    off_t e2 = lseek(fd, -100, SEEK_END);
    off_t e3 = lseek(fd, 50, SEEK_CUR);
    check(e1 == SZ && e2 == SZ - 100 && e3 == SZ - 50, "lseek_end", "SEEK_END %ld, -100 %ld, CUR+50 %ld",
          (long)e1, (long)e2, (long)e3);
    off_t dz = lseek(fd, 0, SEEK_DATA), hz = lseek(fd, 0, SEEK_HOLE);
    check(dz == 0 && hz == SZ, "seek_data_hole_full", "SEEK_DATA 0 -> %ld, SEEK_HOLE 0 -> %ld (want 0, %ld)",
          (long)dz, (long)hz, SZ);

    static const long offs[] = {0, 4090, 8192, 12345678, 64 * MiB - 3};
    lseek(fd, 777, SEEK_SET);
    int bad = 0;
    char why[160] = "";
    for (int i = 0; i < 5; i++)
        if (pwrite(fd, "ABCDEFGH", 8, offs[i]) != 8 && !bad++)
            snprintf(why, sizeof why, "pwrite at %ld: %s", offs[i], e());
    for (int i = 0; i < 5; i++) {
        char b[8];
        if ((pread(fd, b, 8, offs[i]) != 8 || memcmp(b, "ABCDEFGH", 8)) && !bad++)
            snprintf(why, sizeof why, "pread at %ld: '%.8s'", offs[i], b);
    }
    check(!bad, "pwrite_pread", "%s", why);
    check(lseek(fd, 0, SEEK_CUR) == 777, "pread_keeps_offset", "offset %ld (want 777)",
          (long)lseek(fd, 0, SEEK_CUR));
    unsigned char nb[2];
    int nbad = 0;
    for (int i = 1; i < 4; i++) {
        if (pread(fd, &nb[0], 1, offs[i] - 1) != 1 || nb[0] != pat_byte(offs[i] - 1))
            nbad++;
        if (pread(fd, &nb[1], 1, offs[i] + 8) != 1 || nb[1] != pat_byte(offs[i] + 8))
            nbad++;
    }
    check(!nbad, "pwrite_neighbours", "%d neighbouring bytes changed", nbad);
    fstat(fd, &st);
    check(st.st_size == SZ + 5, "pwrite_extends", "size %ld (want %ld)", (long)st.st_size, SZ + 5);
    char eb[16];
    ssize_t p0 = pread(fd, eb, 16, SZ + 5), p1 = pread(fd, eb, 16, SZ + 1), p2 = pread(fd, eb, 16, SZ + 100);
    check(p0 == 0 && p1 == 4 && !memcmp(eb, "EFGH", 4) && p2 == 0, "pread_eof",
          "at EOF %zd, across %zd, past %zd (want 0, 4, 0)", p0, p1, p2);

    int tr1 = ftruncate(fd, 1000);
    int tr2 = ftruncate(fd, MiB);
    ssize_t n = pread(fd, rbuf, MiB, 0);
    int first_ok = 1;
    for (int i = 0; i < 1000; i++)
        if ((uint8_t)rbuf[i] != (i >= 0 && i < 8 ? (uint8_t)"ABCDEFGH"[i] : pat_byte(i)))
            first_ok = 0;
    check(tr1 == 0 && tr2 == 0 && n == MiB && first_ok && is_zero(rbuf + 1000, MiB - 1000),
          "ftruncate_shrink_grow", "ftruncate %d %d, read %zd, first 1000 kept %d, rest zero %d", tr1, tr2, n,
          first_ok, is_zero(rbuf + 1000, MiB - 1000));
    fstat(fd, &st);
    check(st.st_blocks == 8, "ftruncate_frees", "st_blocks %ld after shrink to 1000 and grow (want 8)",
          (long)st.st_blocks);
    close(fd);
    unlink(P("big"));

    /* a sparse file */
    fd = open(P("sparse"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    ftruncate(fd, 8 * MiB);
    memset(rbuf, 'S', 4096);
    pwrite(fd, rbuf, 4096, 4 * MiB);
    off_t d0 = lseek(fd, 0, SEEK_DATA), h0 = lseek(fd, 0, SEEK_HOLE), h4 = lseek(fd, 4 * MiB, SEEK_HOLE);
    off_t d4 = lseek(fd, 4 * MiB + 100, SEEK_DATA);
    errno = 0;
    off_t dx = lseek(fd, 4 * MiB + 4096, SEEK_DATA);
    int edx = errno;
    off_t hl = lseek(fd, 8 * MiB - 1, SEEK_HOLE); /* in a hole: itself */
    errno = 0;
    off_t he = lseek(fd, 8 * MiB, SEEK_HOLE);
    int ehe = errno;
    errno = 0;
    off_t de = lseek(fd, 9 * MiB, SEEK_DATA);
    int ede = errno;
    check(d0 == 4 * MiB && h0 == 0 && h4 == 4 * MiB + 4096 && d4 == 4 * MiB + 100, "sparse_seek",
          "SEEK_DATA 0 -> %ld (want %ld), SEEK_HOLE 0 -> %ld (want 0), SEEK_HOLE 4M -> %ld (want %ld), "
          "SEEK_DATA 4M+100 -> %ld",
          (long)d0, 4 * MiB, (long)h0, (long)h4, 4 * MiB + 4096, (long)d4);
    check(dx == -1 && edx == ENXIO && hl == 8 * MiB - 1 && he == -1 && ehe == ENXIO && de == -1 && ede == ENXIO,
          "sparse_seek_end", "SEEK_DATA after the data %ld/%s, SEEK_HOLE size-1 %ld, SEEK_HOLE size %ld/%s, "
          "SEEK_DATA past %ld/%s (want ENXIO, %ld, ENXIO, ENXIO)",
          (long)dx, strerrorname_np(edx), (long)hl, (long)he, strerrorname_np(ehe), (long)de,
          strerrorname_np(ede), 8 * MiB - 1);
    fstat(fd, &st);
    check(st.st_size == 8 * MiB && st.st_blocks == 8, "sparse_blocks", "size %ld blocks %ld (want 8)",
          (long)st.st_size, (long)st.st_blocks);
    n = pread(fd, rbuf, 2 * MiB, 3 * MiB);
    int zeros = is_zero(rbuf, MiB) && rbuf[MiB] == 'S' && is_zero(rbuf + MiB + 4096, MiB - 4096);
    check(n == 2 * MiB && zeros, "sparse_zeros", "read %zd, holes zero and data in place %d", n, zeros);
    close(fd);
    unlink(P("sparse"));

    /* O_APPEND */
    puts_(P("app"), "12345");
    fd = open(P("app"), O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    ssize_t w = write(fd, "xyz", 3);
    off_t at = lseek(fd, 0, SEEK_CUR);
    char ab[32] = "";
    get(P("app"), ab, sizeof ab);
    check(w == 3 && at == 8 && !strcmp(ab, "12345xyz"), "o_append", "write %zd offset %ld file '%s'", w, (long)at,
          ab);
    w = pwrite(fd, "P", 1, 0);
    get(P("app"), ab, sizeof ab);
    check(w == 1 && !strcmp(ab, "12345xyzP"), "pwrite_o_append",
          "pwrite at 0 with O_APPEND: '%s' (Linux appends: '12345xyzP')", ab);
    close(fd);
    fd = open(P("app"), O_WRONLY);
    int sf = fcntl(fd, F_SETFL, O_APPEND);
    w = write(fd, "Q", 1);
    get(P("app"), ab, sizeof ab);
    check(sf == 0 && w == 1 && !strcmp(ab, "12345xyzPQ"), "fsetfl_append", "F_SETFL %d, file '%s'", sf, ab);
    close(fd);
    fd = open(P("app"), O_RDONLY);
    lseek(fd, 100, SEEK_SET);
    n = read(fd, ab, 4);
    check(n == 0 && lseek(fd, 0, SEEK_CUR) == 100, "read_past_eof", "read %zd", n);
    close(fd);
    unlink(P("app"));

    /* a 1 TiB sparse file: one page of memory */
    const long TiB = 1L << 40;
    fd = open(P("huge"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    w = pwrite(fd, "end", 3, TiB);
    fstat(fd, &st);
    char hb[8] = "";
    ssize_t hr = pread(fd, hb, 3, TiB);
    ssize_t hm = pread(fd, rbuf, 4096, TiB / 2);
    check(w == 3 && st.st_size == TiB + 3 && st.st_blocks == 8 && hr == 3 && !memcmp(hb, "end", 3) && hm == 4096 &&
              is_zero(rbuf, 4096),
          "sparse_1tib", "pwrite %zd (%s) size %ld blocks %ld, read back %zd, middle %zd", w, e(), (long)st.st_size,
          (long)st.st_blocks, hr, hm);
    int u1 = ftruncate(fd, 2 * TiB), u2 = ftruncate(fd, 4096);
    fstat(fd, &st);
    check(u1 == 0 && u2 == 0 && st.st_size == 4096 && st.st_blocks == 0, "ftruncate_1tib",
          "ftruncate 2 TiB %d, back to 4096 %d: size %ld blocks %ld", u1, u2, (long)st.st_size, (long)st.st_blocks);
    close(fd);
    unlink(P("huge"));

    fd = open(P("app2"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    close(fd);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            char rec[100];
            memset(rec, k ? 'b' : 'a', sizeof rec);
            int afd = open(P("app2"), O_WRONLY | O_APPEND);
            for (int i = 0; i < 2000; i++)
                if (write(afd, rec, sizeof rec) != sizeof rec)
                    _exit(1);
            _exit(0);
        }
    }
    int ok = 1;
    for (int k = 0; k < 2; k++) {
        int s = wait_status(kids[k]);
        if (!WIFEXITED(s) || WEXITSTATUS(s))
            ok = 0;
    }
    stat(P("app2"), &st);
    fd = open(P("app2"), O_RDONLY);
    n = read(fd, rbuf, 2 * MiB);
    close(fd);
    int torn = 0, ca = 0;
    for (long i = 0; i + 100 <= n; i += 100) {
        for (int j = 1; j < 100; j++)
            if (rbuf[i + j] != rbuf[i])
                torn++;
        ca += rbuf[i] == 'a';
    }
    check(ok && st.st_size == 400000 && n == 400000 && !torn && ca == 2000, "o_append_concurrent",
          "children ok %d, size %ld, torn bytes %d, 'a' records %d (want 400000, 0, 2000)", ok, (long)st.st_size,
          torn, ca);
    unlink(P("app2"));
    free(chunk);
    free(expect);
    free(rbuf);
}

/* ------------------------------------------------------------------ perms */

static char sticky[128];

static void as_user(void)
{
    struct stat st;
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
        fail("perm_setup", "setresuid: %s", e());
        _exit(1);
    }
    EXPECT_ERR("perm_create_eacces", open(P("rootdir/new"), O_CREAT | O_WRONLY, 0644), EACCES);
    EXPECT_ERR("perm_mkdir_eacces", mkdir(P("rootdir/nd"), 0755), EACCES);
    EXPECT_ERR("perm_mkfifo_eacces", mkfifo(P("rootdir/ff"), 0644), EACCES);
    EXPECT_ERR("perm_symlink_eacces", symlink("x", P("rootdir/sl")), EACCES);
    EXPECT_ERR("perm_open_0600", open(P("secret"), O_RDONLY), EACCES);
    EXPECT_ERR("perm_open_write_0644", open(P("pub"), O_WRONLY), EACCES);
    int fd = open(P("pub"), O_RDONLY);
    check(fd >= 0, "perm_open_read_0644", "%s", e());
    if (fd >= 0)
        close(fd);
    fd = open(P("pub"), O_RDONLY | O_CREAT, 0644);
    check(fd >= 0, "perm_creat_existing", "O_CREAT of an existing file in an unwritable dir: %s", e());
    if (fd >= 0)
        close(fd);
    EXPECT_ERR("perm_chmod_eperm", chmod(P("pub"), 0777), EPERM);
    EXPECT_ERR("perm_chown_eperm", chown(P("pub"), 1000, 1000), EPERM);
    EXPECT_ERR("perm_chown_own_to_other", chown(P("ro"), 0, -1), EPERM);
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    EXPECT_ERR("perm_utimens_explicit", utimensat(AT_FDCWD, P("pub"), ts, 0), EPERM);
    EXPECT_ERR("perm_utimens_now", utimensat(AT_FDCWD, P("pub"), NULL, 0), EACCES);
    EXPECT_ERR("perm_unlink_eacces", unlink(P("pub")), EACCES);
    EXPECT_ERR("perm_rename_eacces", rename(P("pub"), P("pub2")), EACCES);
    EXPECT_ERR("perm_rmdir_eacces", rmdir(P("rootdir")), EACCES);
    /* a file of one's own (protected_hardlinks would refuse root's file with EPERM first) */
    EXPECT_ERR("perm_link_eacces", link(P("ro"), P("rootdir/l")), EACCES);
    EXPECT_ERR("perm_sticky_unlink", unlink(sticky), EPERM);
    char mine[160];
    snprintf(mine, sizeof mine, "%s-user", W);
    EXPECT_ERR("perm_sticky_rename", rename(sticky, mine), EPERM);
    fd = open(mine, O_CREAT | O_WRONLY | O_EXCL, 0644);
    int u = unlink(mine);
    check(fd >= 0 && u == 0, "perm_tmp_own", "create %d, unlink %d (%s)", fd, u, e());
    if (fd >= 0)
        close(fd);
    EXPECT_ERR("perm_access_w_0444", access(P("ro"), W_OK), EACCES);
    check(access(P("ro"), R_OK) == 0, "perm_access_r_0444", "%s", e());
    EXPECT_ERR("perm_open_w_0444", open(P("ro"), O_WRONLY), EACCES);
    EXPECT_ERR("perm_truncate_0444", truncate(P("ro"), 0), EACCES);
    EXPECT_ERR("perm_owner_class", open(P("ownerdeny"), O_RDONLY), EACCES);
    fd = open(P("grp"), O_RDONLY);
    check(fd >= 0, "perm_group_class", "0040 root:1000 file: %s", e());
    if (fd >= 0)
        close(fd);
    EXPECT_ERR("perm_search", stat(P("privdir/x"), &st), EACCES);
    EXPECT_ERR("perm_opendir", open(P("privdir"), O_RDONLY | O_DIRECTORY), EACCES);
    EXPECT_ERR("perm_chdir", chdir(P("privdir")), EACCES);
    EXPECT_ERR("perm_setuid_eperm", setresuid(0, 0, 0), EPERM);
    /* what a user may do */
    fd = open(P("udir/mine"), O_CREAT | O_WRONLY, 0644);
    int c = fd >= 0 ? fchmod(fd, 0600) : -1;
    int s = fd >= 0 ? fstat(fd, &st) : -1;
    check(fd >= 0 && c == 0 && s == 0 && st.st_uid == 1000 && st.st_gid == 1000, "perm_own_file",
          "create %d fchmod %d uid %u gid %u (%s)", fd, c, st.st_uid, st.st_gid, e());
    if (fd >= 0)
        close(fd);
    _exit(t_exit());
}

static void as_euid(void)
{
    /* real uid 0, effective 1000, gid 0 */
    if (setresuid(0, 1000, 0)) {
        fail("perm_euid_setup", "setresuid: %s", e());
        _exit(1);
    }
    EXPECT_ERR("perm_euid_open", open(P("secret"), O_RDONLY), EACCES);
    check(access(P("secret"), R_OK) == 0, "perm_euid_access_real", "access() uses the real uid: %s", e());
    EXPECT_ERR("perm_euid_eaccess", syscall(SYS_faccessat2, AT_FDCWD, P("secret"), R_OK, AT_EACCESS), EACCES);
    int r = setresuid(-1, 0, -1);
    int fd = open(P("secret"), O_RDONLY);
    check(r == 0 && fd >= 0, "perm_euid_regain", "setresuid %d, open %d (%s)", r, fd, e());
    _exit(t_exit());
}

static void mode_perms(void)
{
    struct stat st;
    mkdir(P("rootdir"), 0755);
    puts_(P("secret"), "s");
    chmod(P("secret"), 0600);
    puts_(P("pub"), "p");
    puts_(P("ro"), "r");
    chmod(P("ro"), 0444);
    chown(P("ro"), 1000, 1000);
    puts_(P("ownerdeny"), "o");
    chown(P("ownerdeny"), 1000, 1000);
    chmod(P("ownerdeny"), 0066);
    puts_(P("grp"), "g");
    chown(P("grp"), 0, 1000);
    chmod(P("grp"), 0040);
    mkdir(P("privdir"), 0700);
    puts_(P("privdir/x"), "x");
    mkdir(P("udir"), 0755);
    chown(P("udir"), 1000, 1000);
    puts_(P("zero"), "z");
    chmod(P("zero"), 0);
    snprintf(sticky, sizeof sticky, "%.100s-sticky", W);
    puts_(sticky, "t");
    chmod(sticky, 0666);
    stat("/tmp", &st);
    check((st.st_mode & 07777) == 01777 && st.st_uid == 0, "tmp_sticky", "/tmp mode %o uid %u",
          st.st_mode & 07777, st.st_uid);

    check(access(P("ro"), W_OK) == 0, "root_access_0444", "%s", e());
    int fd = open(P("zero"), O_RDWR);
    check(fd >= 0, "root_bypass_0000", "%s", e());
    if (fd >= 0)
        close(fd);
    EXPECT_ERR("root_access_x_needs_bit", access(P("pub"), X_OK), EACCES);

    pid_t pid = fork();
    if (pid == 0)
        as_user();
    reap(pid, "perm_child");
    pid = fork();
    if (pid == 0)
        as_euid();
    reap(pid, "perm_euid_child");
    check(access(sticky, F_OK) == 0, "perm_sticky_survived", "%s", e());
    unlink(sticky);
}

/* ------------------------------------------------------------------ fifo */

static void mode_fifo(void)
{
    struct stat st;
    const char *F = P("fifo");
    int m = mkfifo(F, 0644);
    int s = stat(F, &st);
    check(m == 0 && s == 0 && S_ISFIFO(st.st_mode) && st.st_size == 0 && (st.st_mode & 0777) == 0644,
          "fifo_stat", "mkfifo %d stat %d mode %o size %ld", m, s, st.st_mode, (long)st.st_size);
    m = mknod(P("fifo2"), S_IFIFO | 0600, 0);
    s = stat(P("fifo2"), &st);
    check(m == 0 && s == 0 && S_ISFIFO(st.st_mode), "mknod_fifo", "mknod %d mode %o (%s)", m, st.st_mode, e());
    unlink(P("fifo2"));

    enum { TOTAL = 100000 };
    int sp[2];
    if (pipe(sp)) {
        fail("fifo_setup", "pipe: %s", e());
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(sp[0]);
        int fd = open(F, O_RDONLY);
        if (fd < 0)
            _exit(1);
        if (write(sp[1], "o", 1) != 1)
            _exit(1);
        static unsigned char b[TOTAL + 100];
        long got = 0;
        for (;;) {
            ssize_t n = read(fd, b + got, sizeof b - got);
            if (n < 0)
                _exit(4);
            if (n == 0)
                break;
            got += n;
        }
        if (got != TOTAL)
            _exit(3);
        for (long i = 0; i < TOTAL; i++)
            if (b[i] != (unsigned char)(i * 7 + 3))
                _exit(2);
        _exit(0);
    }
    close(sp[1]);
    sleep_ms(150);
    fcntl(sp[0], F_SETFL, O_NONBLOCK);
    char c;
    errno = 0;
    ssize_t n = read(sp[0], &c, 1);
    check(n == -1 && errno == EAGAIN, "fifo_reader_blocks", "the reader's open returned before a writer (%zd)", n);
    fcntl(sp[0], F_SETFL, 0);
    int w = open(F, O_WRONLY);
    check(w >= 0, "fifo_writer_opens", "%s", e());
    alarm(20);
    n = read(sp[0], &c, 1);
    check(n == 1, "fifo_reader_unblocked", "read %zd (%s)", n, e());
    static unsigned char out[TOTAL];
    for (long i = 0; i < TOTAL; i++)
        out[i] = (unsigned char)(i * 7 + 3);
    long put_ = 0;
    while (w >= 0 && put_ < TOTAL) {
        ssize_t k = write(w, out + put_, TOTAL - put_ > 7000 ? 7000 : TOTAL - put_);
        if (k <= 0)
            break;
        put_ += k;
    }
    if (w >= 0)
        close(w);
    int wst = wait_status(pid);
    alarm(0);
    check(put_ == TOTAL && WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "fifo_data",
          "wrote %ld, reader status %#x (exit 2: bad data, 3: wrong length or no EOF, 4: read error)", put_, wst);
    close(sp[0]);

    /* writer first */
    pipe(sp);
    pid = fork();
    if (pid == 0) {
        close(sp[0]);
        int fd = open(F, O_WRONLY);
        if (fd < 0)
            _exit(1);
        if (write(sp[1], "o", 1) != 1 || write(fd, "xyz", 3) != 3)
            _exit(2);
        close(fd);
        _exit(0);
    }
    close(sp[1]);
    sleep_ms(150);
    fcntl(sp[0], F_SETFL, O_NONBLOCK);
    errno = 0;
    n = read(sp[0], &c, 1);
    check(n == -1 && errno == EAGAIN, "fifo_writer_blocks", "the writer's open returned before a reader (%zd)", n);
    alarm(20);
    int r = open(F, O_RDONLY);
    char b[8] = "";
    ssize_t n1 = r >= 0 ? read(r, b, 3) : -1;
    wst = wait_status(pid);
    ssize_t n2 = r >= 0 ? read(r, b + 4, 3) : -1;
    alarm(0);
    check(r >= 0 && n1 == 3 && !memcmp(b, "xyz", 3) && WIFEXITED(wst) && WEXITSTATUS(wst) == 0 && n2 == 0,
          "fifo_eof", "open %d read %zd '%.3s', writer %#x, then %zd (want 0)", r, n1, b, wst, n2);
    if (r >= 0)
        close(r);
    close(sp[0]);

    EXPECT_ERR("fifo_nonblock_enxio", open(F, O_WRONLY | O_NONBLOCK), ENXIO);
    r = open(F, O_RDONLY | O_NONBLOCK);
    n = r >= 0 ? read(r, b, 3) : -1;
    check(r >= 0 && n == 0, "fifo_nonblock_reader", "open %d read %zd (%s)", r, n, e());
    w = open(F, O_WRONLY | O_NONBLOCK);
    ssize_t wn = w >= 0 ? write(w, "ab", 2) : -1;
    n = read(r, b, 8);
    check(w >= 0 && wn == 2 && n == 2 && !memcmp(b, "ab", 2), "fifo_nonblock_writer_ok",
          "open %d write %zd read %zd", w, wn, n);
    if (w >= 0)
        close(w);
    if (r >= 0)
        close(r);
    alarm(10);
    int rw = open(F, O_RDWR);
    alarm(0);
    check(rw >= 0, "fifo_rdwr", "%s", e());
    EXPECT_ERR("fifo_espipe", lseek(rw, 0, SEEK_SET), ESPIPE);
    ssize_t k = write(rw, "abc", 3);
    close(rw);
    rw = open(F, O_RDWR | O_NONBLOCK);
    errno = 0;
    n = read(rw, b, 3);
    check(k == 3 && n == -1 && errno == EAGAIN, "fifo_data_discarded", "write %zd, after reopen read %zd (%s)", k,
          n, e());
    close(rw);
    unlink(F);
}

/* ------------------------------------------------------------------ errors */

#define BAD ((void *)1)
#define KBAD ((void *)0xffffffc000000000UL)

static void mode_errors(void)
{
    struct stat st;
    char buf[256];
    puts_(P("f"), "0123456789");
    mkdir(P("d"), 0755);
    mkdir(P("ne"), 0755);
    puts_(P("ne/x"), "x");
    symlink("f", P("lnk"));
    symlink("loop2", P("loop1"));
    symlink("loop1", P("loop2"));
    symlink("self", P("self"));
    symlink("nowhere", P("dangle"));
    int fd = open(P("f"), O_RDONLY);
    int wfd = open(P("f"), O_WRONLY);
    int dfd = open(P("d"), O_RDONLY | O_DIRECTORY);
    int pfd = open(P("f"), O_PATH);

    /* EFAULT */
    EXPECT_ERR("efault_openat_path", syscall(SYS_openat, AT_FDCWD, BAD, O_RDONLY), EFAULT);
    EXPECT_ERR("efault_openat_kernel_path", syscall(SYS_openat, AT_FDCWD, KBAD, O_RDONLY), EFAULT);
    EXPECT_ERR("efault_newfstatat_path", syscall(SYS_newfstatat, AT_FDCWD, BAD, &st, 0), EFAULT);
    EXPECT_ERR("efault_newfstatat_buf", syscall(SYS_newfstatat, AT_FDCWD, P("f"), BAD, 0), EFAULT);
    EXPECT_ERR("efault_fstat_buf", syscall(SYS_fstat, fd, BAD), EFAULT);
    EXPECT_ERR("efault_statx_buf", syscall(SYS_statx, AT_FDCWD, P("f"), 0, STATX_BASIC_STATS, BAD), EFAULT);
    EXPECT_ERR("efault_statx_path", syscall(SYS_statx, AT_FDCWD, BAD, 0, STATX_BASIC_STATS, buf), EFAULT);
    EXPECT_ERR("efault_mkdirat", syscall(SYS_mkdirat, AT_FDCWD, BAD, 0755), EFAULT);
    EXPECT_ERR("efault_unlinkat", syscall(SYS_unlinkat, AT_FDCWD, BAD, 0), EFAULT);
    EXPECT_ERR("efault_renameat2_old", syscall(SYS_renameat2, AT_FDCWD, BAD, AT_FDCWD, P("x"), 0), EFAULT);
    EXPECT_ERR("efault_renameat2_new", syscall(SYS_renameat2, AT_FDCWD, P("f"), AT_FDCWD, BAD, 0), EFAULT);
    EXPECT_ERR("efault_linkat", syscall(SYS_linkat, AT_FDCWD, P("f"), AT_FDCWD, BAD, 0), EFAULT);
    EXPECT_ERR("efault_symlinkat_target", syscall(SYS_symlinkat, BAD, AT_FDCWD, P("sl")), EFAULT);
    EXPECT_ERR("efault_readlinkat_buf", syscall(SYS_readlinkat, AT_FDCWD, P("lnk"), BAD, 100), EFAULT);
    EXPECT_ERR("efault_read", syscall(SYS_read, fd, BAD, 10), EFAULT);
    EXPECT_ERR("efault_write", syscall(SYS_write, wfd, BAD, 10), EFAULT);
    EXPECT_ERR("efault_pread", syscall(SYS_pread64, fd, BAD, 10, 0), EFAULT);
    EXPECT_ERR("efault_readv_iov", syscall(SYS_readv, fd, BAD, 1), EFAULT);
    EXPECT_ERR("efault_getdents64", syscall(SYS_getdents64, dfd, BAD, 4096), EFAULT);
    EXPECT_ERR("efault_getcwd", syscall(SYS_getcwd, BAD, 100), EFAULT);
    EXPECT_ERR("efault_statfs", syscall(SYS_statfs, W, BAD), EFAULT);
    EXPECT_ERR("efault_fstatfs", syscall(SYS_fstatfs, fd, BAD), EFAULT);
    EXPECT_ERR("efault_utimensat_times", syscall(SYS_utimensat, AT_FDCWD, P("f"), BAD, 0), EFAULT);
    EXPECT_ERR("efault_faccessat", syscall(SYS_faccessat, AT_FDCWD, BAD, R_OK), EFAULT);
    EXPECT_ERR("efault_chdir", syscall(SYS_chdir, BAD), EFAULT);
    EXPECT_ERR("efault_fchmodat", syscall(SYS_fchmodat, AT_FDCWD, BAD, 0644), EFAULT);
    EXPECT_ERR("efault_fchownat", syscall(SYS_fchownat, AT_FDCWD, BAD, 0, 0, 0), EFAULT);
    EXPECT_ERR("efault_truncate", syscall(SYS_truncate, BAD, 0), EFAULT);
    EXPECT_ERR("efault_mknodat", syscall(SYS_mknodat, AT_FDCWD, BAD, S_IFIFO | 0644, 0), EFAULT);
    /* a path running into an unmapped page; buffers half mapped */
    char *pg = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pg + 4096, 4096);
    memset(pg, 'a', 4096);
    EXPECT_ERR("efault_path_unterminated", syscall(SYS_openat, AT_FDCWD, pg + 4096 - 100, O_RDONLY), EFAULT);
    {
        int t = open(P("half"), O_CREAT | O_RDWR | O_TRUNC, 0644);
        memset(pg, 'h', 4096);
        long w = syscall(SYS_write, t, pg, 8192);
        fstat(t, &st);
        check(w == 4096 && st.st_size == 4096, "write_half_mapped",
              "write of 8192 bytes, second page unmapped: %ld (%s), size %ld (Linux: 4096, 4096)", w,
              w < 0 ? e() : "", (long)st.st_size);
        char big[8192];
        memset(big, 'q', sizeof big);
        pwrite(t, big, sizeof big, 0);
        long r = syscall(SYS_pread64, t, pg, 8192, 0);
        check(r == 4096 && pg[0] == 'q' && pg[4095] == 'q', "read_half_mapped",
              "read of 8192 bytes into a half-mapped buffer: %ld (%s) (Linux: 4096)", r, r < 0 ? e() : "");
        close(t);
        unlink(P("half"));
    }
    munmap(pg, 4096);

    /* EBADF */
    EXPECT_ERR("ebadf_fstat", fstat(999, &st), EBADF);
    EXPECT_ERR("ebadf_getdents64", syscall(SYS_getdents64, 999, buf, sizeof buf), EBADF);
    EXPECT_ERR("ebadf_openat_dirfd", openat(999, "f", O_RDONLY), EBADF);
    int ab = openat(999, P("f"), O_RDONLY);
    check(ab >= 0, "openat_bad_dirfd_abs_ok", "an absolute path ignores dirfd: %s", e());
    if (ab >= 0)
        close(ab);
    EXPECT_ERR("ebadf_mkdirat", mkdirat(999, "x", 0755), EBADF);
    EXPECT_ERR("ebadf_unlinkat", unlinkat(999, "x", 0), EBADF);
    EXPECT_ERR("ebadf_fstatat", fstatat(-5, "x", &st, 0), EBADF);
    EXPECT_ERR("ebadf_fchmod", fchmod(999, 0644), EBADF);
    EXPECT_ERR("ebadf_fchown", fchown(999, 0, 0), EBADF);
    EXPECT_ERR("ebadf_ftruncate", ftruncate(999, 0), EBADF);
    EXPECT_ERR("ebadf_fchdir", fchdir(999), EBADF);
    EXPECT_ERR("ebadf_lseek", lseek(999, 0, SEEK_SET), EBADF);
    EXPECT_ERR("ebadf_fstatfs", fstatfs(999, (struct statfs *)buf), EBADF);
    EXPECT_ERR("ebadf_fsync", fsync(999), EBADF);
    EXPECT_ERR("ebadf_write_rdonly", write(fd, "x", 1), EBADF);
    EXPECT_ERR("ebadf_read_wronly", read(wfd, buf, 1), EBADF);
    EXPECT_ERR("ebadf_pwrite_rdonly", pwrite(fd, "x", 1, 0), EBADF);
    EXPECT_ERR("ebadf_fallocate_rdonly", fallocate(fd, 0, 0, 100), EBADF);
    EXPECT_ERR("ebadf_read_opath", read(pfd, buf, 1), EBADF);
    EXPECT_ERR("ebadf_fchmod_opath", fchmod(pfd, 0644), EBADF);
    EXPECT_ERR("ebadf_futimens", futimens(999, NULL), EBADF);

    /* EINVAL */
    EXPECT_ERR("einval_unlinkat_flags", unlinkat(AT_FDCWD, P("f"), 0x1), EINVAL);
    EXPECT_ERR("einval_unlinkat_flags2", unlinkat(AT_FDCWD, P("f"), AT_SYMLINK_NOFOLLOW), EINVAL);
    EXPECT_ERR("einval_renameat2_flags", syscall(SYS_renameat2, AT_FDCWD, P("f"), AT_FDCWD, P("g"), 0x100),
               EINVAL);
    EXPECT_ERR("einval_renameat2_both",
               syscall(SYS_renameat2, AT_FDCWD, P("f"), AT_FDCWD, P("g"), RENAME_NOREPLACE | RENAME_EXCHANGE),
               EINVAL);
    EXPECT_ERR("einval_faccessat2_flags", syscall(SYS_faccessat2, AT_FDCWD, P("f"), R_OK, 0x1), EINVAL);
    EXPECT_ERR("einval_faccessat_mode", syscall(SYS_faccessat, AT_FDCWD, P("f"), 8), EINVAL);
    EXPECT_ERR("einval_utimensat_flags", syscall(SYS_utimensat, AT_FDCWD, P("f"), NULL, 0x1), EINVAL);
    struct timespec badts[2] = {{0, 1000000000L}, {0, 0}};
    EXPECT_ERR("einval_utimensat_nsec", syscall(SYS_utimensat, AT_FDCWD, P("f"), badts, 0), EINVAL);
    struct timespec negts[2] = {{0, 0}, {0, -1}};
    EXPECT_ERR("einval_utimensat_negnsec", syscall(SYS_utimensat, AT_FDCWD, P("f"), negts, 0), EINVAL);
    EXPECT_ERR("einval_linkat_flags", linkat(AT_FDCWD, P("f"), AT_FDCWD, P("g"), 0x1), EINVAL);
    EXPECT_ERR("einval_newfstatat_flags", syscall(SYS_newfstatat, AT_FDCWD, P("f"), &st, 0x1), EINVAL);
    EXPECT_ERR("einval_statx_sync_flags",
               syscall(SYS_statx, AT_FDCWD, P("f"), AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS,
                       buf),
               EINVAL);
    EXPECT_ERR("einval_statx_reserved_mask", syscall(SYS_statx, AT_FDCWD, P("f"), 0, 0x80000000U, buf), EINVAL);
    EXPECT_ERR("einval_lseek_whence", lseek(fd, 0, 17), EINVAL);
    EXPECT_ERR("einval_lseek_negative", lseek(fd, -1, SEEK_SET), EINVAL);
    EXPECT_ERR("einval_getdents64_small", syscall(SYS_getdents64, dfd, buf, 1), EINVAL);
    EXPECT_ERR("einval_readlink_notlink", readlink(P("f"), buf, sizeof buf), EINVAL);
    EXPECT_ERR("einval_readlink_size0", syscall(SYS_readlinkat, AT_FDCWD, P("lnk"), buf, 0), EINVAL);
    EXPECT_ERR("einval_rmdir_dot", rmdir(P("d/.")), EINVAL);
    EXPECT_ERR("einval_rename_into_self", rename(P("d"), P("d/sub")), EINVAL);
    EXPECT_ERR("einval_ftruncate_negative", ftruncate(wfd, -1), EINVAL);
    EXPECT_ERR("einval_ftruncate_rdonly", ftruncate(fd, 0), EINVAL);
    EXPECT_ERR("einval_truncate_negative", truncate(P("f"), -1), EINVAL);
    EXPECT_ERR("einval_fallocate_len0", fallocate(wfd, 0, 0, 0), EINVAL);
    EXPECT_ERR("einval_pread_negative", pread(fd, buf, 1, -1), EINVAL);
    EXPECT_ERR("einval_mknod_type", mknod(P("mk"), 0150000 | 0644, 0), EINVAL);
    EXPECT_ERR("einval_o_directory_creat", open(P("odc"), O_DIRECTORY | O_CREAT | O_RDONLY, 0755), EINVAL);

    /* ENOENT */
    EXPECT_ERR("enoent_open", open(P("missing"), O_RDONLY), ENOENT);
    EXPECT_ERR("enoent_open_empty", open("", O_RDONLY), ENOENT);
    EXPECT_ERR("enoent_stat_empty", stat("", &st), ENOENT);
    EXPECT_ERR("enoent_openat_empty", openat(dfd, "", O_RDONLY), ENOENT);
    EXPECT_ERR("enoent_creat_missing_dir", open(P("missing/x"), O_CREAT | O_WRONLY, 0644), ENOENT);
    EXPECT_ERR("enoent_mkdir_missing_parent", mkdir(P("missing/x"), 0755), ENOENT);
    EXPECT_ERR("enoent_unlink", unlink(P("missing")), ENOENT);
    EXPECT_ERR("enoent_rmdir", rmdir(P("missing")), ENOENT);
    EXPECT_ERR("enoent_rename", rename(P("missing"), P("x")), ENOENT);
    EXPECT_ERR("enoent_link", link(P("missing"), P("x")), ENOENT);
    EXPECT_ERR("enoent_readlink", readlink(P("missing"), buf, sizeof buf), ENOENT);
    EXPECT_ERR("enoent_chdir", chdir(P("missing")), ENOENT);
    EXPECT_ERR("enoent_dangling", open(P("dangle"), O_RDONLY), ENOENT);
    EXPECT_ERR("enoent_truncate", truncate(P("missing"), 0), ENOENT);
    EXPECT_ERR("enoent_access", access(P("missing"), F_OK), ENOENT);
    EXPECT_ERR("enoent_symlink_empty_target", symlink("", P("emptyt")), ENOENT);

    /* ENOTDIR */
    EXPECT_ERR("enotdir_component", open(P("f/x"), O_RDONLY), ENOTDIR);
    EXPECT_ERR("enotdir_trailing_slash", stat(P("f/"), &st), ENOTDIR);
    EXPECT_ERR("enotdir_o_directory", open(P("f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_ERR("enotdir_rmdir_file", rmdir(P("f")), ENOTDIR);
    EXPECT_ERR("enotdir_unlinkat_removedir", unlinkat(AT_FDCWD, P("f"), AT_REMOVEDIR), ENOTDIR);
    EXPECT_ERR("enotdir_mkdir_under_file", mkdir(P("f/x"), 0755), ENOTDIR);
    EXPECT_ERR("enotdir_openat_file_dirfd", openat(fd, "x", O_RDONLY), ENOTDIR);
    EXPECT_ERR("enotdir_getdents_file", syscall(SYS_getdents64, fd, buf, sizeof buf), ENOTDIR);
    EXPECT_ERR("enotdir_rename_dir_over_file", rename(P("d"), P("f")), ENOTDIR);

    /* EISDIR */
    EXPECT_ERR("eisdir_open_wronly", open(P("d"), O_WRONLY), EISDIR);
    EXPECT_ERR("eisdir_open_rdwr", open(P("d"), O_RDWR), EISDIR);
    EXPECT_ERR("eisdir_creat_existing_dir", open(P("d"), O_CREAT | O_WRONLY, 0644), EISDIR);
    EXPECT_ERR("eisdir_creat_trailing_slash", open(P("newf/"), O_CREAT | O_WRONLY, 0644), EISDIR);
    EXPECT_ERR("eisdir_unlink_dir", unlink(P("d")), EISDIR);
    EXPECT_ERR("eisdir_rename_file_over_dir", rename(P("f"), P("d")), EISDIR);
    EXPECT_ERR("eisdir_read_dir", read(dfd, buf, sizeof buf), EISDIR);
    EXPECT_ERR("eisdir_truncate_dir", truncate(P("d"), 0), EISDIR);

    /* ELOOP */
    EXPECT_ERR("eloop_open_loop", open(P("loop1"), O_RDONLY), ELOOP);
    EXPECT_ERR("eloop_stat_self", stat(P("self"), &st), ELOOP);
    EXPECT_ERR("eloop_component", stat(P("loop1/x"), &st), ELOOP);
    EXPECT_ERR("eloop_o_nofollow", open(P("lnk"), O_RDONLY | O_NOFOLLOW), ELOOP);
    EXPECT_ERR("eloop_creat_loop", open(P("loop1"), O_CREAT | O_WRONLY, 0644), ELOOP);
    check(lstat(P("loop1"), &st) == 0 && S_ISLNK(st.st_mode), "lstat_loop_ok", "%s", e());

    /* ENAMETOOLONG */
    char n255[300], n256[300];
    memset(n255, 'n', 255);
    n255[255] = 0;
    memset(n256, 'n', 256);
    n256[256] = 0;
    int c255 = open(P("%s", n255), O_CREAT | O_WRONLY, 0644);
    check(c255 >= 0, "name_255_ok", "%s", e());
    if (c255 >= 0)
        close(c255);
    unlink(P("%s", n255));
    EXPECT_ERR("enametoolong_creat", open(P("%s", n256), O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
    EXPECT_ERR("enametoolong_stat", stat(P("%s", n256), &st), ENAMETOOLONG);
    EXPECT_ERR("enametoolong_mkdir", mkdir(P("%s", n256), 0755), ENAMETOOLONG);
    EXPECT_ERR("enametoolong_rename", rename(P("f"), P("%s", n256)), ENAMETOOLONG);
    static char lp[5000];
    /* W + slashes + "f": exactly 4095 bytes (fits PATH_MAX with its NUL), then 4096 */
    for (int len = 4095; len <= 4096; len++) {
        size_t wl = strlen(W);
        memcpy(lp, W, wl);
        memset(lp + wl, '/', len - wl - 1);
        lp[len - 1] = 'f';
        lp[len] = 0;
        if (len == 4095)
            check(stat(lp, &st) == 0 && st.st_size == 10, "path_4095_ok", "%s", e());
        else
            EXPECT_ERR("enametoolong_path_4096", stat(lp, &st), ENAMETOOLONG);
    }
    memset(lp, 'x', 4096);
    lp[4096] = 0;
    EXPECT_ERR("enametoolong_symlink_target", symlink(lp, P("longt")), ENAMETOOLONG);

    /* EEXIST */
    EXPECT_ERR("eexist_o_excl", open(P("f"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_ERR("eexist_o_excl_symlink", open(P("lnk"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_ERR("eexist_mkdir", mkdir(P("d"), 0755), EEXIST);
    EXPECT_ERR("eexist_mkdir_on_file", mkdir(P("f"), 0755), EEXIST);
    EXPECT_ERR("eexist_mkdir_on_dangling", mkdir(P("dangle"), 0755), EEXIST);
    EXPECT_ERR("eexist_link", link(P("f"), P("d")), EEXIST);
    EXPECT_ERR("eexist_symlink", symlink("x", P("f")), EEXIST);
    EXPECT_ERR("eexist_mkfifo", mkfifo(P("f"), 0644), EEXIST);
    EXPECT_ERR("eexist_rename_noreplace", renameat2(AT_FDCWD, P("f"), AT_FDCWD, P("lnk"), RENAME_NOREPLACE),
               EEXIST);

    /* ENOTEMPTY */
    EXPECT_ERR("enotempty_rmdir", rmdir(P("ne")), ENOTEMPTY);
    EXPECT_ERR("enotempty_rename_over", rename(P("d"), P("ne")), ENOTEMPTY);
    EXPECT_ERR("enotempty_rmdir_dotdot", rmdir(P("ne/..")), ENOTEMPTY);

    /* EXDEV */
    EXPECT_ERR("exdev_rename_proc", rename(P("f"), "/proc/vfs-x"), EXDEV);
    EXPECT_ERR("exdev_rename_dev", rename(P("f"), "/dev/vfs-x"), EXDEV);
    EXPECT_ERR("exdev_link_dev", link(P("f"), "/dev/vfs-x"), EXDEV);
    /* link's lookup of the new name comes first: proc has no "vfs-x" to create -> ENOENT */
    EXPECT_ERR("link_proc_enoent", link(P("f"), "/proc/vfs-x"), ENOENT);

    /* EPERM */
    EXPECT_ERR("eperm_link_dir", link(P("d"), P("d2")), EPERM);
    EXPECT_ERR("eperm_mknod_dir", mknod(P("mkd"), S_IFDIR | 0755, 0), EPERM);

    /* EBUSY */
    EXPECT_ERR("ebusy_rename_root", rename("/", "/vfs-test-x"), EBUSY);
    EXPECT_ERR("ebusy_rename_dot", rename(P("d/."), P("x")), EBUSY);
    EXPECT_ERR("ebusy_rmdir_root", rmdir("/"), EBUSY);
    EXPECT_ERR("ebusy_rmdir_proc", rmdir("/proc"), EBUSY);
    EXPECT_ERR("ebusy_rename_proc", rename("/proc", "/vfs-test-proc"), EBUSY);

    /* nothing above may have changed the tree */
    char changed[256] = "";
    if (stat(P("f"), &st) != 0 || st.st_size != 10)
        strcat(changed, " f");
    if (access(P("d"), F_OK) != 0)
        strcat(changed, " d");
    if (access("/proc/self", F_OK) != 0)
        strcat(changed, " /proc");
    static const char *gone[] = {"g", "x", "mk", "mkd", "odc", "newf", "sl", "emptyt", "longt", "d2", "nowhere"};
    for (unsigned i = 0; i < sizeof gone / sizeof gone[0]; i++)
        if (access(P("%s", gone[i]), F_OK) == 0 || lstat(P("%s", gone[i]), &st) == 0) {
            strcat(changed, " ");
            strcat(changed, gone[i]);
        }
    if (access("/vfs-test-x", F_OK) == 0 || access("/vfs-test-proc", F_OK) == 0)
        strcat(changed, " /vfs-test-*");
    check(!changed[0], "errors_tree_intact", "a failed call changed:%s", changed);
    close(fd);
    close(wfd);
    close(dfd);
    close(pfd);
}

/* ------------------------------------------------------------------ enospc */

static void mode_enospc(void)
{
    struct statfs sf0, sf1, sf2;
    statfs(W, &sf0);
    long free0 = (long)sf0.f_bavail * sf0.f_bsize;
    printf("INFO enospc: %ld MiB free of %ld MiB\n", free0 / MiB, (long)sf0.f_blocks * sf0.f_bsize / MiB);
    char *chunk = malloc(MiB);
    memset(chunk, 0x5a, MiB);
    int fd = open(P("fill"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || !chunk) {
        fail("enospc_setup", "%s", e());
        return;
    }
    int fa = fallocate(fd, 0, 0, free0 + 64 * MiB);
    int efa = errno;
    struct stat fst;
    fstat(fd, &fst);
    statfs(W, &sf1);
    check(fa == -1 && efa == ENOSPC && fst.st_size == 0 && (long)sf1.f_bavail * sf1.f_bsize >= free0 - MiB,
          "enospc_fallocate", "fallocate of more than the free space: %d/%s, size %ld, free %ld MiB (was %ld)", fa,
          strerrorname_np(efa), (long)fst.st_size, (long)sf1.f_bavail * sf1.f_bsize / MiB, free0 / MiB);
    long total = 0, t0 = now_ms();
    int err = 0;
    for (int i = 0; i < 1024; i++) {
        ssize_t w = write(fd, chunk, MiB);
        if (w < 0) {
            err = errno;
            break;
        }
        total += w;
    }
    long t1 = now_ms();
    printf("INFO enospc: wrote %ld MiB in %ld ms\n", total / MiB, t1 - t0);
    check(err == ENOSPC, "enospc_write", "after %ld bytes: %s (want ENOSPC)", total,
          err ? strerrorname_np(err) : "no error within 1 GiB");
    check(total >= free0 / 10 * 9, "enospc_filled", "wrote %ld bytes of %ld free", total, free0);
    fstatfs(fd, &sf1);
    check(sf1.f_bavail == 0, "enospc_statfs", "f_bavail %lu f_bfree %lu (want 0)", (unsigned long)sf1.f_bavail,
          (unsigned long)sf1.f_bfree);
    int fd2 = open(P("other"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    errno = 0;
    ssize_t w2 = fd2 >= 0 ? write(fd2, chunk, 4096) : -2;
    int e2 = errno;
    check(fd2 >= 0 && w2 == -1 && e2 == ENOSPC, "enospc_other_file", "open %d write %zd/%s", fd2, w2,
          strerrorname_np(e2));
    if (fd2 >= 0)
        close(fd2);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int st = wait_status(pid);
    check(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "enospc_fork", "fork %d status %#x (%s)", pid, st,
          e());
    close(fd);
    unlink(P("fill"));
    fd = open(P("other"), O_WRONLY | O_TRUNC);
    ssize_t w = fd >= 0 ? write(fd, chunk, MiB) : -1;
    check(w == MiB, "enospc_recovered", "write after unlink: %zd (%s)", w, e());
    if (fd >= 0)
        close(fd);
    unlink(P("other"));
    statfs(W, &sf2);
    long free2 = (long)sf2.f_bavail * sf2.f_bsize;
    check(free2 >= free0 - 4 * MiB, "enospc_space_back", "free %ld MiB, was %ld MiB", free2 / MiB, free0 / MiB);
    free(chunk);
}

/* ------------------------------------------------------------------ main */

/* mode mmap: file mappings (kept apart: the rest of the file tests do not need them) */
static void mode_mmap(void)
{
    int fd = open(P("m"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fail("mmap_shared", "open: %s", e());
        return;
    }
    /* shared file mappings and read/write see each other; a private one does not write back */
    ftruncate(fd, 8192);
    char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int mok = map != MAP_FAILED;
    if (mok) {
        memcpy(map + 4096, "mapped", 6);
        char mb[8] = "";
        pread(fd, mb, 6, 4096);
        pwrite(fd, "written", 7, 100);
        mok = !memcmp(mb, "mapped", 6) && !memcmp(map + 100, "written", 7);
        char *pm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (pm != MAP_FAILED) {
            pm[100] = 'W';
            pread(fd, mb, 1, 100);
            mok = mok && mb[0] == 'w' && map[100] == 'w';
            munmap(pm, 4096);
        } else {
            mok = 0;
        }
        munmap(map, 8192);
    }
    check(mok, "mmap_shared", "MAP_SHARED/MAP_PRIVATE of a tmpfs file: %s", map == MAP_FAILED ? e() : "data mismatch");
    close(fd);
    unlink(P("m"));
}

static const struct {
    const char *name;
    void (*fn)(void);
} modes[] = {
    {"files", mode_files}, {"attrs", mode_attrs}, {"dirs", mode_dirs}, {"big", mode_big},
    {"perms", mode_perms}, {"fifo", mode_fifo},   {"errors", mode_errors}, {"enospc", mode_enospc},
    {"mmap", mode_mmap},
};

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "cloexec-child"))
        cloexec_child(argc, argv);
    t_init();
    int ran = 0;
    for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (argc < 2 || !strcmp(argv[1], modes[i].name)) {
            if (setup() == 0) {
                modes[i].fn();
                cleanup();
            }
            ran = 1;
        }
    if (!ran) {
        fail("mode", "unknown mode %s", argv[1]);
        return 2;
    }
    return t_exit();
}
