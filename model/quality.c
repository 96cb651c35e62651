#include "model/model.h"

am_quality am_quality_of(const dsp_stats *st)
{
    /* Order matters: a clip that is both short and silent is reported short, since more recording fixes
     * both; clipping is judged only on a clip long enough to have been judged at all. */
    if (st->duration < AM_QUALITY_MIN_SECONDS)
        return (am_quality){AM_QUALITY_TOO_SHORT, "too_short",
                            "The recording is shorter than 0.5 s; record at least a few seconds."};
    if (st->rms_dbfs < AM_QUALITY_SILENT_DBFS)
        return (am_quality){AM_QUALITY_SILENT, "silent",
                            "The recording is nearly silent (below -60 dBFS); check the microphone."};
    if (st->clip_fraction > AM_QUALITY_CLIP_FRACTION)
        return (am_quality){AM_QUALITY_CLIPPED, "clipped",
                            "The recording is clipped (over 1% of samples at full scale); move the "
                            "microphone away or lower the input gain."};
    return (am_quality){AM_QUALITY_OK, "ok", ""};
}
