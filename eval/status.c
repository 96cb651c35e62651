/* Error strings, stream checks and atomic saving of anything eval/ writes. */
#include <errno.h>
#include <string.h>

#include "eval/eval_internal.h"

const char *ev_strerror(int code)
{
    switch (code) {
    case EV_OK: return "ok";
    case EV_ERR_ARG: return "invalid argument";
    case EV_ERR_NOMEM: return "out of memory";
    case EV_ERR_IO: return "write failed";
    default: return "unknown error";
    }
}

int ev_stream_status(FILE *out, const char *what, aa_error *err)
{
    /* Flushing surfaces a full disk now rather than at the caller's fclose. */
    if (fflush(out) != 0 || ferror(out))
        return aa_error_set(err, EV_ERR_IO, "%s: write failed (%s)", what, strerror(errno ? errno : EIO));
    return 0;
}

int ev_save_atomic(const char *path, ev_writer writer, const void *ctx, aa_error *err)
{
    aa_afile *f = aa_afile_open(path, err);
    if (!f) {
        if (err)
            err->code = EV_ERR_IO;
        return EV_ERR_IO;
    }
    aa_error werr;
    aa_error_clear(&werr);
    int rc = writer(aa_afile_stream(f), ctx, &werr);
    if (rc) {
        aa_afile_abort(f);
        /* The writer's message names what it was writing, not the file: name the file too. */
        return aa_error_set(err, rc, "%s: %s", path, werr.msg[0] ? werr.msg : ev_strerror(rc));
    }
    if (aa_afile_commit(f, err)) {
        if (err)
            err->code = EV_ERR_IO;
        return EV_ERR_IO;
    }
    return 0;
}
