#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "open_files.h"

struct iti_open_file {
    dev_t dev;
    ino_t ino;
    bool writable;
    iti_open_file *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static iti_open_file *claims;

static const iti_open_file *find(dev_t dev, ino_t ino, bool writable) {
    for (const iti_open_file *o = claims; o; o = o->next)
        if (o->dev == dev && o->ino == ino && (o->writable || writable))
            return o;
    return NULL;
}

int iti_open_file_claim(const char *path, bool writable, int (*then)(void *), void *arg,
                       iti_open_file **out) {
    *out = NULL;
    iti_open_file *f = calloc(1, sizeof *f);
    if (!f)
        return iti_error(IT_ENOMEM, "out of memory");
    f->writable = writable;
    int rc = 0;
    struct stat sb;
    pthread_mutex_lock(&lock);
    const iti_open_file *o = stat(path, &sb) == 0 ? find(sb.st_dev, sb.st_ino, writable) : NULL;
    if (o)
        rc = iti_error(IT_ELOCKED, "%s is already open %sin this process (one writer, or any "
                      "number of readers, per file)", path, o->writable ? "for writing " : "");
    if (rc == 0 && then)
        rc = then(arg);
    if (rc == 0 && stat(path, &sb) != 0) /* the file now there (then may have created it) */
        rc = iti_error(IT_EIO, "%s: %s", path, strerror(errno));
    if (rc == 0) {
        f->dev = sb.st_dev;
        f->ino = sb.st_ino;
        f->next = claims;
        claims = f;
        *out = f;
    }
    pthread_mutex_unlock(&lock);
    if (rc)
        free(f);
    return rc;
}

bool iti_open_file_is_written(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return false;
    pthread_mutex_lock(&lock);
    const iti_open_file *o = find(sb.st_dev, sb.st_ino, false);
    pthread_mutex_unlock(&lock);
    return o != NULL;
}

void iti_open_file_release(iti_open_file *f) {
    if (!f)
        return;
    pthread_mutex_lock(&lock);
    for (iti_open_file **p = &claims; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    free(f);
}
