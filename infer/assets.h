#ifndef AA_INFER_ASSETS_H
#define AA_INFER_ASSETS_H

#include <stddef.h>

/* A static file of the web page, embedded at build time by scripts/embed.sh from infer/web/. */
typedef struct {
    const char *path;          /* "/index.html" */
    const char *content_type;
    const unsigned char *data; /* followed by a NUL byte not counted in size */
    size_t size;
} aa_asset;

/* Ends with an entry whose path is NULL. */
extern const aa_asset aa_assets[];

#endif
