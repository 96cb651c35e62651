/* libmicrohttpd, loaded when a server starts rather than when the program does: it brings GnuTLS and
 * nine more libraries whose loading and symbol binding were a fifth of a one-clip aa-infer run, which
 * never serves. Only infer/serve.c includes this. */
#ifndef AA_INFER_MHD_H
#define AA_INFER_MHD_H

#include <microhttpd.h>

#include "util/util.h"

/* The functions serve.c calls, with the library's own types. */
typedef struct {
    __typeof__(&MHD_start_daemon) start_daemon;
    __typeof__(&MHD_stop_daemon) stop_daemon;
    __typeof__(&MHD_create_response_from_buffer) create_response_from_buffer;
    __typeof__(&MHD_add_response_header) add_response_header;
    __typeof__(&MHD_queue_response) queue_response;
    __typeof__(&MHD_destroy_response) destroy_response;
    __typeof__(&MHD_lookup_connection_value) lookup_connection_value;
    __typeof__(&MHD_get_connection_values) get_connection_values;
    __typeof__(&MHD_suspend_connection) suspend_connection;
    __typeof__(&MHD_resume_connection) resume_connection;
} inf_mhd_fns;

/* The table, loading the library on the first call (once per process, thread-safe; the library stays
 * loaded). NULL with err filled (code AA_SERVE_ERR_START) when it cannot be loaded. Not to be freed. */
const inf_mhd_fns *inf_mhd_load(aa_error *err);

/* The table once inf_mhd_load has succeeded; only valid then. */
const inf_mhd_fns *inf_mhd(void);

#endif
