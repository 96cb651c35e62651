/* libmicrohttpd through dlopen (see mhd.h). The table is filled once, under pthread_once, and only read
 * afterwards: it mirrors what the dynamic linker would otherwise have done at start-up. */
#include "infer/mhd.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "infer/serve.h"

/* The run-time name first (what the package installs); the development link second, for a library built
 * from source with another soname. */
static const char *const MHD_NAMES[] = {"libmicrohttpd.so.12", "libmicrohttpd.so"};

typedef struct {
    inf_mhd_fns fns;
    int ok;
    char why[200];
} mhd_state;

static mhd_state state; /* written once by load_once, read-only after */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The symbol's address into *slot (a function pointer's storage, which POSIX lets dlsym fill); 0 and
 * state.why set when the library lacks it. */
static int resolve(void *lib, void *slot, const char *name)
{
    void *f = dlsym(lib, name);
    if (!f) {
        snprintf(state.why, sizeof state.why, "%s missing", name);
        return 0;
    }
    memcpy(slot, &f, sizeof f);
    return 1;
}

static void load_once(void)
{
    void *lib = NULL;
    for (size_t i = 0; i < sizeof MHD_NAMES / sizeof MHD_NAMES[0] && !lib; i++)
        lib = dlopen(MHD_NAMES[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(state.why, sizeof state.why, "%s", e ? e : "not found");
        return;
    }
    state.ok = resolve(lib, &state.fns.start_daemon, "MHD_start_daemon") &&
               resolve(lib, &state.fns.stop_daemon, "MHD_stop_daemon") &&
               resolve(lib, &state.fns.create_response_from_buffer, "MHD_create_response_from_buffer") &&
               resolve(lib, &state.fns.add_response_header, "MHD_add_response_header") &&
               resolve(lib, &state.fns.queue_response, "MHD_queue_response") &&
               resolve(lib, &state.fns.destroy_response, "MHD_destroy_response") &&
               resolve(lib, &state.fns.lookup_connection_value, "MHD_lookup_connection_value") &&
               resolve(lib, &state.fns.get_connection_values, "MHD_get_connection_values") &&
               resolve(lib, &state.fns.suspend_connection, "MHD_suspend_connection") &&
               resolve(lib, &state.fns.resume_connection, "MHD_resume_connection");
    /* on failure the library stays loaded: a half-resolved table is never handed out */
}

const inf_mhd_fns *inf_mhd_load(aa_error *err)
{
    pthread_once(&once, load_once);
    if (!state.ok) {
        aa_error_set(err, AA_SERVE_ERR_START, "serve: cannot load libmicrohttpd (%s)", state.why);
        return NULL;
    }
    return &state.fns;
}

const inf_mhd_fns *inf_mhd(void)
{
    return &state.fns;
}
