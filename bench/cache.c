/* Feature cache build on a folder (decode every file, write the signals, compute the windows' log-mels):
 * wall time, peak memory, windows per class; then the reuse path (load of the written file, checked
 * against the listing, and the windows' log-mels computed from its signals) on the same file.
 *
 *   cache [--threads N] [--hop S] [--cap K] DATA CACHEFILE     measure (JSON line last)
 *   cache --make-corpus DIR PER_CLASS                           write the demo corpus into DIR
 *
 * One process per thread count, so that the peak resident size (getrusage) is the build's own. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "demo/demo.h"

static double peak_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0; /* Linux reports kilobytes */
}

static void progress(void *user, size_t done, size_t total)
{
    int *tty = user;
    if (*tty)
        fprintf(stderr, "\rdecoding %zu/%zu files", done, total);
    if (*tty && done == total)
        fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    aa_error err;
    if (argc == 4 && !strcmp(argv[1], "--make-corpus")) {
        demo_corpus_opts o;
        demo_corpus_opts_default(&o);
        o.per_class = atoi(argv[3]);
        if (demo_corpus_write(argv[2], &o, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        return 0;
    }
    ds_cache_opts o;
    ds_cache_opts_default(&o);
    int i = 1;
    for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
        if (!strcmp(argv[i], "--threads"))
            o.threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hop"))
            o.win.hop_seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--cap"))
            o.win.max_per_file = atoi(argv[i + 1]);
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: cache [--threads N] [--hop S] [--cap K] DATA CACHEFILE\n"
                        "       cache --make-corpus DIR PER_CLASS\n");
        return 2;
    }
    const char *data = argv[i], *path = argv[i + 1];
    int tty = isatty(2);
    o.progress = progress;
    o.progress_user = &tty;
    int threads = o.threads > 0 ? o.threads : omp_get_max_threads();

    ds_list *l = NULL;
    if (ds_list_load(&l, data, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (size_t w = 0; w < l->n_warnings; w++)
        fprintf(stderr, "warning: %s\n", l->warnings[w].msg);
    dsp_settings s = dsp_settings_default();
    remove(path);
    ds_cache *c = NULL;
    ds_cache_info info;
    double t0 = aa_now();
    if (ds_cache_open(&c, l, &s, &o, path, &info, &err) || ds_cache_compute_features(c, o.threads, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double build_s = aa_now() - t0, build_mb = peak_mb();
    if (info.write_failed)
        fprintf(stderr, "warning: %s\n", info.write_error);
    for (size_t f = 0; f < c->n_files; f++)
        if (c->files[f].status)
            fprintf(stderr, "skipped: %s\n", c->files[f].reason);

    size_t *per = calloc((size_t)c->n_classes, sizeof *per), *files = calloc((size_t)c->n_classes, sizeof *files);
    double *secs = calloc((size_t)c->n_classes, sizeof *secs);
    for (size_t w = 0; w < c->n_windows; w++)
        per[c->windows[w].cls]++;
    for (size_t f = 0; f < c->n_files; f++) {
        files[c->files[f].cls]++;
        secs[c->files[f].cls] += (double)c->files[f].n_samples / s.sample_rate;
    }
    printf("%zu files (%zu skipped), %zu windows of %zu x %zu, %d thread(s)\n", c->n_files, c->n_skipped,
           c->n_windows, c->n_mels, c->n_frames, threads);
    for (int k = 0; k < c->n_classes; k++)
        printf("  %-20s %4zu files %8.1f s  %5zu windows\n", c->classes[k], files[k], secs[k], per[k]);
    printf("build + write: %.2f s, peak RSS %.0f MB\n", build_s, build_mb);
    ds_cache_free(c);

    t0 = aa_now();
    if (ds_cache_open(&c, l, &s, &o, path, &info, &err) || !info.loaded ||
        ds_cache_compute_features(c, o.threads, NULL, &err)) {
        fprintf(stderr, "reuse failed: %s %s\n", err.msg, info.reason);
        return 1;
    }
    double load_s = aa_now() - t0;
    FILE *fp = fopen(path, "rb");
    long size = 0;
    if (fp && !fseek(fp, 0, SEEK_END))
        size = ftell(fp);
    if (fp)
        fclose(fp);
    printf("reuse (read + check + log-mels): %.2f s for %.0f MB; build/reuse %.0fx\n", load_s, size / 1e6, build_s / load_s);
    printf("{\"bench\":\"cache\",\"threads\":%d,\"files\":%zu,\"skipped\":%zu,\"windows\":%zu,\"build_s\":%.3f,"
           "\"peak_rss_mb\":%.1f,\"load_s\":%.3f,\"cache_mb\":%.1f,\"windows_per_class\":{",
           threads, c->n_files, c->n_skipped, c->n_windows, build_s, build_mb, load_s, size / 1e6);
    for (int k = 0; k < c->n_classes; k++)
        printf("%s\"%s\":%zu", k ? "," : "", c->classes[k], per[k]);
    printf("}}\n");
    free(per);
    free(files);
    free(secs);
    ds_cache_free(c);
    ds_list_free(l);
    return 0;
}
