/* Stream checks and atomic saving of anything eval/ writes. */
#include <errno.h>
#include <string.h>

#include "eval/eval_internal.h"

int ev_stream_status(FILE *out, const char *what, aa_error *err)
{
    /* Flushing surfaces a full disk now rather than at the caller's fclose. */
    if (fflush(out) != 0 || ferror(out))
        return aa_error_set(err, EV_ERR_IO, "%s: write failed (%s)", what, strerror(errno ? errno : EIO));
    return 0;
}

int ev_save_atomic(const char *path, ev_writer writer, const void *ctx, aa_error *err)
{
    aa_error e;
    aa_afile *f = aa_afile_open(path, &e);
    if (!f)
        return aa_error_set(err, e.code, "%s", e.msg);
    aa_error werr;
    aa_error_clear(&werr);
    int rc = writer(aa_afile_stream(f), ctx, &werr);
    if (rc) {
        aa_afile_abort(f);
        /* The writer's message names what it was writing, not the file: name the file too. */
        return aa_error_set(err, rc, "%s: %s", path, werr.msg[0] ? werr.msg : aa_strerror(rc));
    }
    return aa_afile_commit(f, err);
}
