/* The dataset listing's text inputs: the manifest (manifest.tsv: header row naming `path` and `group`,
 * tab-separated rows), the class list ("a,b,c") and the group regex, through ds_list_load on a small
 * fixed data folder; and the UTF-8 helpers that make file names printable.
 *
 * Input: line 1 the class list ("" = none given), line 2 the group regex ("" = none), the rest the
 * manifest's bytes. The folder is made once per process in a temporary directory: two classes
 * (cough, normal_breathing) of three files each, names that a manifest can refer to.
 * Properties: a failure has a message and a status of the module and returns no list; a listing has
 * every item in a listed class and a valid group, groups sorted and unique, warnings with messages;
 * ds_printable gives valid UTF-8 without control bytes, and leaves valid text alone. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/datasets.h"

#define REQUIRE(cond)                                                                                         \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "fuzz_manifest: property failed: %s (line %d)\n", #cond, __LINE__);               \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

/* glibc's regex engine backtracks: a long hostile pattern is slow there, not here. The regex comes from
 * the trainer's command line, so a short one covers the code that handles its matches. */
#define REGEX_MAX 24

static char dir_made[256]; /* the fixture folder, made once per process, removed at exit */

static const char *const FILES[] = {"cough/p01_a.wav", "cough/p01_b.wav", "cough/p02_a.flac",
                                    "normal_breathing/p01_c.wav", "normal_breathing/p03_d.mp3",
                                    "normal_breathing/sub/p04_e.ogg", "manifest.tsv",
                                    "normal_breathing/sub", "normal_breathing", "cough", ""};

static void remove_dir(void)
{
    char path[512];
    for (size_t i = 0; i < sizeof FILES / sizeof *FILES; i++) {
        snprintf(path, sizeof path, "%s/%s", dir_made, FILES[i]);
        remove(path);
    }
}

static const char *data_dir(void)
{
    char *dir = dir_made;
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir_made, "%s/fuzz-manifest-XXXXXX", base);
        REQUIRE(mkdtemp(dir) != NULL);
        atexit(remove_dir);
        char path[512];
        snprintf(path, sizeof path, "%s/cough", dir);
        REQUIRE(mkdir(path, 0700) == 0);
        snprintf(path, sizeof path, "%s/normal_breathing", dir);
        REQUIRE(mkdir(path, 0700) == 0);
        snprintf(path, sizeof path, "%s/normal_breathing/sub", dir);
        REQUIRE(mkdir(path, 0700) == 0);
        for (size_t i = 0; i < 6; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, FILES[i]);
            FILE *f = fopen(path, "wb");
            REQUIRE(f != NULL);
            fputs("not decoded by the listing", f);
            fclose(f);
        }
    }
    return dir;
}

static char *line_at(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *eol = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = eol ? (size_t)(eol - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    REQUIRE(s != NULL);
    memcpy(s, *p, n);
    s[n] = 0;
    *p = eol ? eol + 1 : end;
    return s;
}

static void check_printable(const char *s)
{
    char *p = ds_printable(s);
    REQUIRE(p != NULL && aa_utf8_valid(p));
    for (const unsigned char *q = (const unsigned char *)p; *q; q++)
        REQUIRE(*q >= 0x20 && *q != 0x7f);
    /* C0 controls, DEL and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F) are escaped by design */
    int has_control = 0;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++)
        has_control |= *q < 0x20 || *q == 0x7f || (q[0] == 0xc2 && q[1] >= 0x80 && q[1] <= 0x9f);
    if (aa_utf8_valid(s) && !has_control)
        REQUIRE(strcmp(p, s) == 0);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = data_dir();
    const uint8_t *p = data, *end = data + size;
    char *classes = line_at(&p, end);
    char *regex = line_at(&p, end);
    check_printable(classes);
    if (strlen(regex) > REGEX_MAX)
        regex[REGEX_MAX] = 0;

    char manifest[512];
    snprintf(manifest, sizeof manifest, "%s/manifest.tsv", dir);
    FILE *f = fopen(manifest, "wb");
    REQUIRE(f != NULL);
    REQUIRE(fwrite(p, 1, (size_t)(end - p), f) == (size_t)(end - p));
    REQUIRE(fclose(f) == 0);

    ds_list_opts o = {.classes = classes[0] ? classes : NULL, .group_regex = regex[0] ? regex : NULL};
    ds_list *l = NULL;
    aa_error err;
    memset(&err, 0, sizeof err);
    int rc = ds_list_load(&l, dir, &o, &err);
    if (rc != 0) {
        REQUIRE(l == NULL && err.code == rc && err.msg[0]);
        REQUIRE(rc == DS_ERR_ARG || rc == DS_ERR_LAYOUT || rc == DS_ERR_MANIFEST || rc == DS_ERR_IO);
    } else {
        REQUIRE(l != NULL && l->n_classes >= 2 && l->n_items >= 2);
        for (size_t i = 0; i < l->n_items; i++) {
            REQUIRE(l->items[i].cls >= 0 && l->items[i].cls < l->n_classes);
            REQUIRE(l->items[i].group < l->n_groups);
        }
        for (size_t g = 1; g < l->n_groups; g++)
            REQUIRE(strcmp(l->groups[g - 1], l->groups[g]) < 0);
        for (size_t w = 0; w < l->n_warnings; w++)
            REQUIRE(l->warnings[w].msg && l->warnings[w].msg[0]);
        REQUIRE(l->stats.manifest_unmatched <= l->stats.manifest_rows);
        ds_list_free(l);
    }
    free(classes);
    free(regex);
    return 0;
}
