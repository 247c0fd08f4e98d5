/* The HDF5 file under a store: opened through the library's driver, checked for the store's
 * format, closed, and opened again at the commit now in the file (a live reader's refresh,
 * hdf5_live.h). hdf5_file.c builds opening, creating and converting a store on these. */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "hdf5/driver/hdf5_guard.h"
#include "hdf5/driver/hdf5_header.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_compat.h"
#include "hdf5/hdf5_state.h"

/* Opens (create: creates, failing if it exists) name through the library's driver; with
 * clear_status, clears the status flag a dead writer leaves on newer-format files. */
hid_t iti_h5f_open_driver(h5_store *h, const char *name, unsigned flags, bool create,
                          bool clear_status) {
    hid_t fapl = iti_vfd_fapl(&h->vfd);
    if (fapl < 0)
        return -1;
    if (clear_status && H5Pexist(fapl, "clear_status_flags") > 0) {
        hbool_t yes = 1;
        H5Pset(fapl, "clear_status_flags", &yes);
    }
    hid_t fcpl = create ? H5Pcreate(H5P_FILE_CREATE) : H5P_DEFAULT;
    hid_t f = -1;
    if (!create)
        f = H5Fopen(name, flags, fapl);
    else if (fcpl >= 0 && H5Pset_userblock(fcpl, ITI_HEADER_SIZE) >= 0)
        f = H5Fcreate(name, flags, fcpl, fapl);
    if (create && fcpl >= 0)
        H5Pclose(fcpl);
    H5Pclose(fapl);
    return f;
}

void iti_h5f_forget_errors(h5_store *h) {
    iti_vfd_state fresh = {.sync = h->vfd.sync, .journaled = true, .keep_lock = h->vfd.keep_lock,
                           .legacy_journal = {h->legacy_journal[0], h->legacy_journal[1]}};
    h->vfd = fresh;
}

void iti_h5f_close(h5_store *h) {
    if (h->tensors >= 0)
        H5Gclose(h->tensors);
    if (h->file >= 0 && H5Fclose(h->file) < 0)
        H5Eclear2(H5E_DEFAULT);
    h->tensors = h->file = -1;
}

/* The format attributes of the root group: version first (a number), since it says whether
 * strings may be variable-length, which are read only from trusted files (HDF5 1.10 copies
 * global-heap objects by sizes and indices it takes from the file without checking them). */
static int check_format(h5_store *h, const char *path) {
    char name[64];
    int64_t version = 0;
    if (iti_h5_read_i64(h->file, "format_version", &version, 1))
        return iti_error(IT_EFORMAT,
                        "it_store_open_hdf5: %s is an HDF5 file but not an infinite-tensor store",
                        path);
    if (version == 1 && !h->trusted)
        return iti_error(IT_EFORMAT,
                        "it_store_open_hdf5: %s is a format-1 store (infinite-tensor 0.1), whose "
                        "variable-length strings HDF5 cannot read safely from an untrusted file; "
                        "if you trust it, open it with trusted = 1 (itensor upgrade FILE converts "
                        "it to format %d)", path, ITI_H5_FORMAT_VERSION);
    if (iti_h5_read_str(h->file, "format", version == 1, name, sizeof name) ||
        strcmp(name, ITI_H5_FORMAT_NAME) != 0)
        return iti_error(IT_EFORMAT,
                        "it_store_open_hdf5: %s is an HDF5 file but not an infinite-tensor store",
                        path);
    if (version < 1 || version > ITI_H5_FORMAT_VERSION || (version >= 3 && h->vfd.legacy))
        return iti_error(IT_EFORMAT,
                        "it_store_open_hdf5: store format version %lld %s (this library reads "
                        "versions 1 to %d; from 3 on, a store begins with a store header)",
                        (long long)version, h->vfd.legacy && version == 3 ?
                        "without a store header" : "is not supported", ITI_H5_FORMAT_VERSION);
    h->version = (int)version;
    return 0;
}

/* Opens the HDF5 file at path through the driver and checks that it is a store. */
int iti_h5f_open(h5_store *h, const char *path, unsigned flags) {
    int is = iti_h5_file_is_hdf5(path);
    if (is < 0)
        return iti_error_prefix(is, "it_store_open_hdf5: ");
    if (is == 0)
        return iti_error(IT_EFORMAT, "it_store_open_hdf5: %s is not an HDF5 file (no HDF5 "
                        "signature: foreign or truncated)", path);
    h->file = iti_h5f_open_driver(h, path, flags, false, false);
    if (h->file < 0 && flags == H5F_ACC_RDWR && !h->vfd.open_errno && !h->vfd.read_errno) {
        /* A writer that died leaves a status flag on newer-format files: clear it. */
        H5Eclear2(H5E_DEFAULT);
        iti_h5f_forget_errors(h);
        h->file = iti_h5f_open_driver(h, path, flags, false, true);
    }
    if (h->file < 0)
        return iti_vfd_failure(&h->vfd, IT_EFORMAT, "it_store_open_hdf5: cannot open the HDF5 file");
    /* A writer killed in the middle of H5Fflush can leave chunk-index nodes on disk that point
     * past the end-of-allocation recorded in the superblock, which was not written yet. The
     * chunk bytes they point to are on disk (direct chunk data is written before its index
     * record), so extending the EOA to the physical end of the file makes every indexed chunk
     * readable again. A no-op for files closed cleanly; in memory only for read-only opens. */
    H5Fincrement_filesize(h->file, 0);
    H5Eclear2(H5E_DEFAULT);
    int rc = check_format(h, path);
    if (rc)
        return rc;
    if (H5Lexists(h->file, "tensors", H5P_DEFAULT) <= 0 ||
        iti_h5_object_type(h->file, "tensors") != H5O_TYPE_GROUP ||
        (h->tensors = H5Gopen2(h->file, "tensors", H5P_DEFAULT)) < 0)
        return iti_error(IT_EFORMAT, "it_store_open_hdf5: the store has no /tensors group");
    return 0;
}

int iti_h5f_reopen(h5_store *h) {
    for (h5_tensor *ht = h->attached; ht; ht = ht->next)
        iti_h5t_close(ht);
    iti_h5s_forget_described(h);
    iti_h5f_close(h);
    iti_h5f_forget_errors(h);
    int rc = iti_h5f_open(h, h->path, H5F_ACC_RDONLY);
    for (h5_tensor *ht = h->attached; rc == 0 && ht; ht = ht->next) {
        iti_h5_index_free(&ht->index);
        if ((rc = iti_h5_index_init(&ht->index, ht->t->rank, ht->t->id)) == 0 &&
            (rc = iti_h5t_open(h, ht)) != 0)
            iti_h5t_close(ht);
    }
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

void iti_h5s_forget_described(h5_store *h) {
    if (h->described >= 0)
        H5Gclose(h->described);
    h->described = -1;
}
