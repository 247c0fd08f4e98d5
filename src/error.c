/* Status codes and the per-thread detailed message. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* One buffer per thread: concurrent callers never read each other's messages. */
static _Thread_local char tls_message[1024];

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

void iti_error_save(char *buf, size_t size) {
    if (size == 0)
        return;
    snprintf(buf, size, "%s", tls_message);
}

int iti_error_prefix(int code, const char *prefix) {
    char copy[sizeof tls_message];
    memcpy(copy, tls_message, sizeof copy);
    snprintf(tls_message, sizeof tls_message, "%s%s", prefix, copy);
    one_line(tls_message, sizeof tls_message);
    return code;
}
