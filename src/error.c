/* Status codes, the per-thread detailed message, and coordinates written for messages. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* One buffer per thread: concurrent callers never read each other's messages. */
static _Thread_local char tls_message[ITI_ERROR_MAX];
/* What a user function returned, when the last error is its IT_ECALLBACK. */
static _Thread_local int tls_callback_status;

const char *it_strerror(int code) {
    switch (code) {
#define IT_ERROR_TEXT_(name, value, text) \
    case value:                           \
        return text;
        IT_ERROR_LIST(IT_ERROR_TEXT_)
#undef IT_ERROR_TEXT_
    default:
        return "unknown error";
    }
}

const char *it_error_name(int code) {
    switch (code) {
#define IT_ERROR_NAME_(name, value, text) \
    case value:                           \
        return #name;
        IT_ERROR_LIST(IT_ERROR_NAME_)
#undef IT_ERROR_NAME_
    default:
        return "IT_UNKNOWN";
    }
}

const char *it_last_error(void) { return tls_message; }

int it_last_callback_status(void) { return tls_callback_status; }

/* Messages are one line whatever they quote (user text, HDF5 details): control bytes are
 * written as \n, \t or \xNN. */
static void one_line(char *msg, size_t size) {
    char out[sizeof tls_message];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && o + 5 < sizeof out; p++) {
        if (*p >= 0x20 && *p != 0x7f)
            out[o++] = (char)*p;
        else if (*p == '\n' || *p == '\t')
            o += (size_t)snprintf(out + o, sizeof out - o, "\\%c", *p == '\n' ? 'n' : 't');
        else
            o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", *p);
    }
    out[o] = 0;
    snprintf(msg, size, "%s", out);
}

int iti_verror(int code, const char *fmt, va_list ap) {
    tls_callback_status = 0;
    vsnprintf(tls_message, sizeof tls_message, fmt, ap);
    one_line(tls_message, sizeof tls_message);
    return code;
}

int iti_error(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    iti_verror(code, fmt, ap);
    va_end(ap);
    return code;
}

int iti_callback_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    iti_verror(IT_ECALLBACK, fmt, ap);
    va_end(ap);
    tls_callback_status = status;
    return IT_ECALLBACK;
}

void iti_error_save(iti_error_state *e) {
    snprintf(e->message, sizeof e->message, "%s", tls_message);
    e->callback_status = tls_callback_status;
}

int iti_error_restore(int code, const iti_error_state *e) {
    snprintf(tls_message, sizeof tls_message, "%s", e->message);
    tls_callback_status = e->callback_status;
    return code;
}

int iti_error_prefix(int code, const char *prefix) {
    char copy[sizeof tls_message];
    memcpy(copy, tls_message, sizeof copy);
    snprintf(tls_message, sizeof tls_message, "%s%s", prefix, copy);
    one_line(tls_message, sizeof tls_message);
    return code;
}

void iti_format_coord(char *buf, size_t size, const int64_t *v, int rank) {
    size_t used = 0;
    buf[0] = 0;
    for (int d = 0; d < rank && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %lld" : "%lld", (long long)v[d]);
}
