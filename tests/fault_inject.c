#define _GNU_SOURCE /* copy_file_range, RTLD_NEXT */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fault_inject.h"

static atomic_long calls, target;
static atomic_int fault_errno, fired;
static atomic_bool sticky_fault, kill_fault;

void fault_arm(long k, int err, bool sticky) {
    atomic_store(&kill_fault, false);
    atomic_store(&fired, 0);
    atomic_store(&calls, 0);
    atomic_store(&fault_errno, err);
    atomic_store(&sticky_fault, sticky);
    atomic_store(&target, k);
}

void fault_arm_kill(long k) {
    fault_arm(k, 0, false);
    atomic_store(&kill_fault, true);
}

void fault_disarm(void) { atomic_store(&target, 0); }
long fault_calls(void) { return atomic_load(&calls); }
bool fault_fired(void) { return atomic_load(&fired) != 0; }

static bool regular(int fd) {
    struct stat sb;
    return fd > 2 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* 0: pass; 1: fail this call; 2: cut this call short (the first call of a sticky fault);
 * 3: cut it short, then die (a kill). */
static int decide(bool counted) {
    if (!counted)
        return 0;
    long n = atomic_fetch_add(&calls, 1) + 1, k = atomic_load(&target);
    if (k <= 0 || n < k || (n > k && !atomic_load(&sticky_fault)))
        return 0;
    atomic_store(&fired, 1);
    if (atomic_load(&kill_fault))
        return 3;
    return n == k && atomic_load(&sticky_fault) ? 2 : 1;
}

static void die(void) { raise(SIGKILL); }

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    int d = decide(regular(fd));
    if (d == 3) {
        REAL(pwrite)(fd, buf, n / 2, off);
        die();
    }
    if (d == 2 && n > 1) /* a full disk takes part of the write */
        return REAL(pwrite)(fd, buf, n / 2, off);
    if (d) {
        errno = atomic_load(&fault_errno);
        return -1;
    }
    return REAL(pwrite)(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n) {
    int d = decide(regular(fd));
    if (d == 3) {
        REAL(write)(fd, buf, n / 2);
        die();
    }
    if (d == 2 && n > 1)
        return REAL(write)(fd, buf, n / 2);
    if (d) {
        errno = atomic_load(&fault_errno);
        return -1;
    }
    return REAL(write)(fd, buf, n);
}

#define FAILABLE(ret, name, params, args, fdexpr)      \
    ret name params {                                 \
        int d = decide(fdexpr);                        \
        if (d == 3)                                    \
            die();                                     \
        if (d) {                                       \
            errno = atomic_load(&fault_errno);         \
            return -1;                                 \
        }                                             \
        return REAL(name) args;                        \
    }

FAILABLE(int, ftruncate, (int fd, off_t len), (fd, len), regular(fd))
FAILABLE(int, fsync, (int fd), (fd), regular(fd))
FAILABLE(int, fdatasync, (int fd), (fd), regular(fd))
FAILABLE(int, rename, (const char *a, const char *b), (a, b), true)
FAILABLE(ssize_t, copy_file_range, (int in, off_t *ino, int out, off_t *outo, size_t n, unsigned f),
         (in, ino, out, outo, n, f), regular(out))
