#ifndef AA_INFER_MEL_CMD_H
#define AA_INFER_MEL_CMD_H

/* aa-infer --mel CLIP [-m MODEL] -o OUT.f32: writes the log-mel a model sees for CLIP (load, resample, crop
 * to the clip length, log-mel) with MODEL's front-end settings, or the defaults without -m, as row-major
 * little-endian float32 [n_mels][n_frames], and prints its shape.
 * Takes aa-infer's whole argument list; returns the exit status (0 ok, 1 runtime error, 2 usage error). */
int aa_cmd_mel(int argc, char **argv);

#endif
