/* What differs between the HDF5 releases the library builds against, in one place.
 *
 * Supported: 1.10 (from 1.10.3, the first with direct chunk I/O in the main library), 1.12,
 * 1.14 and 2.x; tested on 1.10.8 (Debian 12), 1.14.5 (Debian 13) and 2.2.0 (Debian unstable).
 * io/ calls the numbered HDF5 functions through the helpers below, never the unnumbered names,
 * whose meaning depends on the release and on API-mapping macros (H5_USE_110_API, ...): the
 * library needs no such macro and is not changed by one.
 *
 *   what                        1.10                     1.12, 1.14               2.x
 *   object type by name         H5Oget_info_by_name2     H5Oget_info_by_name3     as 1.14
 *                               (H5O_info_t)             (H5O_info2_t)
 *   link iteration              H5Literate, H5L_info_t   H5Literate2, H5L_info2_t as 1.14
 *   direct chunk read           H5Dread_chunk: no size,  as 1.10                  H5Dread_chunk2:
 *                               the driver bounds it                              bounded by HDF5
 *   file driver class           no version field         version 1, value, ctl,   as 1.14, bool
 *   (H5FD_class_t)                                       del, vector, selection   for hbool_t
 *   default format bounds       earliest..latest         earliest..latest         1.8..latest
 *
 * The format bounds are pinned (iti_h5_pin_format): every release writes what 1.10 reads. */
#ifndef ITI_HDF5_COMPAT_H
#define ITI_HDF5_COMPAT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* CMake refuses other releases at configure time (CMakeLists.txt); this is the same check for a
 * build that does not go through it. */
#if !H5_VERSION_GE(1, 10, 3) || H5_VERS_MAJOR > 2
#error "infinite-tensor builds against HDF5 1.10.3 to 2.x (tested: 1.10.8, 1.14.5, 2.2.0)"
#endif
/* The driver's class table (hdf5_vfd.c) is laid out for class version 1 (1.13.2 to 2.x) and for
 * the releases before the field existed. */
#if defined(H5FD_CLASS_VERSION) && H5FD_CLASS_VERSION != 0x01
#error "this HDF5's file driver class (H5FD_CLASS_VERSION) is newer than io/hdf5/driver/hdf5_vfd.c knows"
#endif

/* The file driver's class value (1.13.2 and later): a number from the range HDF5 leaves to
 * drivers outside its own list (256 to 511); it names the driver only inside this process. */
#define ITI_H5_DRIVER_VALUE 0x1a7

/* The type of the object `name` names relative to loc ("." for loc itself), reading no more of
 * its header than the type; H5O_TYPE_UNKNOWN when it cannot be read. */
static inline H5O_type_t iti_h5_object_type(hid_t loc, const char *name) {
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t oi;
    return H5Oget_info_by_name3(loc, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ? H5O_TYPE_UNKNOWN
                                                                                 : oi.type;
#else
    H5O_info_t oi;
    return H5Oget_info_by_name2(loc, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ? H5O_TYPE_UNKNOWN
                                                                                 : oi.type;
#endif
}

/* Link information passed to a link iteration's callback. */
#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t iti_h5_link_info;
#else
typedef H5L_info_t iti_h5_link_info;
#endif
typedef herr_t (*iti_h5_link_fn)(hid_t group, const char *name, const iti_h5_link_info *info,
                                 void *arg);

/* Calls fn for every link of group in name order (H5Literate's contract: a positive return
 * stops with that value, a negative one fails). */
static inline herr_t iti_h5_iterate_links(hid_t group, iti_h5_link_fn fn, void *arg) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Literate2(group, H5_INDEX_NAME, H5_ITER_INC, NULL, fn, arg);
#else
    return H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, NULL, fn, arg);
#endif
}

/* Reads stored chunk `off` of dset, skipping filters, into buf of *size bytes. On 2.x HDF5
 * bounds the read by *size and sets *size to the chunk's stored size (a chunk longer than buf
 * is not read: the caller checks *size); earlier releases read whatever size the file's chunk
 * record gives and leave *size, so a driver must refuse a longer read (hdf5_vfd.c does). */
static inline herr_t iti_h5_read_chunk(hid_t dset, const hsize_t *off, uint32_t *mask, void *buf,
                                       size_t *size) {
#if H5_VERSION_GE(2, 0, 0)
    return H5Dread_chunk2(dset, H5P_DEFAULT, off, mask, buf, size);
#else
    (void)size;
    return H5Dread_chunk(dset, H5P_DEFAULT, off, mask, buf);
#endif
}

/* Pins the format versions of the objects a file access list creates to those HDF5 1.10 reads
 * (the earliest that can express each object, as 1.10 and 1.14 choose by default; 2.x would
 * otherwise start at 1.8's), so a store or an export made with any release opens with every
 * other. The earliest superblock also carries no status flag that a killed writer would leave
 * set (HDF5-NOTES). */
static inline herr_t iti_h5_pin_format(hid_t fapl) {
    return H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V110);
}

#endif
