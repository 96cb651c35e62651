/* datasets/list.c and groups.c: folder layouts, order, classes, skipped entries and their warnings, groups.
 * The listing never decodes audio, so the files here are a few bytes of text with audio names. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "tests/util/testutil.h"

/* Creates DIR/rel with its parent folders and a few bytes in it. */
static void put(const char *dir, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        ck_assert_msg(mkdir(path, 0777) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
        *p = '/';
    }
    tu_write_file(path, "data", 4);
}

static void put_dir(const char *dir, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    ck_assert_msg(mkdir(path, 0777) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
}

static void put_text(const char *dir, const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    tu_write_file(path, text, strlen(text));
}

static void put_link(const char *dir, const char *rel, const char *target)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    ck_assert_msg(symlink(target, path) == 0, "symlink %s: %s", path, strerror(errno));
}

static size_t count_warnings(const ds_list *l, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_warnings; i++)
        n += l->warnings[i].kind == kind;
    return n;
}

static const ds_item *find(const ds_list *l, const char *rel)
{
    for (size_t i = 0; i < l->n_items; i++)
        if (!strcmp(l->items[i].rel, rel))
            return &l->items[i];
    return NULL;
}

static ds_list *load_ok(const char *dir, const ds_list_opts *o)
{
    ds_list *l = NULL;
    aa_error err;
    int rc = ds_list_load(&l, dir, o, &err);
    ck_assert_msg(rc == 0, "ds_list_load: %s", err.msg);
    ck_assert_ptr_nonnull(l);
    return l;
}

static int load_err(const char *dir, const ds_list_opts *o, aa_error *err)
{
    ds_list *l = (ds_list *)1;
    int rc = ds_list_load(&l, dir, o, err);
    ck_assert_ptr_null(l);
    ck_assert_int_eq(err->code, rc);
    return rc;
}

START_TEST(list_sorted_classes_items_and_skips)
{
    char d[256];
    tu_mkdtemp(d, sizeof d);
    const char *audio[] = {"b/x.wav", "a/z.FLAC", "a/sub/y.mp3", "b/ok.OGG", "b/c.oga", "b/d.Opus", "a/a-b.wav"};
    for (size_t i = 0; i < sizeof audio / sizeof *audio; i++)
        put(d, audio[i]);
    put(d, "a/notes.txt");
    put(d, "a/k.aiff");
    put(d, "a/.hidden.wav");
    put(d, ".git/obj.wav");
    put(d, "b/wav"); /* no dot: not an audio extension */
    char path[512];
    struct timespec ts[2] = {{1600000000, 123456789}, {1600000000, 123456789}};
    ck_assert_int_eq(utimensat(AT_FDCWD, tu_path(path, sizeof path, d, "b/x.wav"), ts, 0), 0);

    ds_list *l = load_ok(d, NULL);
    ck_assert_int_eq(l->n_classes, 2);
    ck_assert_str_eq(l->classes[0], "a");
    ck_assert_str_eq(l->classes[1], "b");
    ck_assert_int_eq(l->explicit_sides, 0);
    ck_assert_uint_eq(l->n_items, 7);
    /* Bytewise order of the relative paths: '-' (0x2D) < '/' (0x2F) < letters. */
    const char *want[] = {"a/a-b.wav", "a/sub/y.mp3", "a/z.FLAC", "b/c.oga", "b/d.Opus", "b/ok.OGG", "b/x.wav"};
    for (size_t i = 0; i < 7; i++) {
        ck_assert_str_eq(l->items[i].rel, want[i]);
        ck_assert_int_eq(l->items[i].cls, want[i][0] == 'a' ? 0 : 1);
        ck_assert_int_eq(l->items[i].side, DS_SIDE_NONE);
        ck_assert_int_eq(l->items[i].size, 4);
        snprintf(path, sizeof path, "%s/%s", d, want[i]);
        ck_assert_str_eq(l->items[i].path, path);
        /* No manifest, no regex: every file is its own group, named by its path. */
        ck_assert_int_eq(l->items[i].group_source, DS_GROUP_PER_FILE);
        ck_assert_str_eq(l->groups[l->items[i].group], want[i]);
    }
    ck_assert_int_eq(find(l, "b/x.wav")->mtime_ns, 1600000000LL * 1000000000 + 123456789);
    ck_assert_uint_eq(l->n_groups, 7);
    ck_assert_uint_eq(l->stats.hidden, 2);
    ck_assert_uint_eq(l->stats.not_audio, 3);
    ck_assert_uint_eq(l->stats.group_per_file, 7);
    ck_assert_uint_eq(l->n_warnings, 0);
    ck_assert_ptr_null(l->manifest_path);
    ds_list_free(l);

    /* A trailing slash on DATA changes nothing. */
    snprintf(path, sizeof path, "%s/", d);
    l = load_ok(path, NULL);
    ck_assert_uint_eq(l->n_items, 7);
    snprintf(path, sizeof path, "%s/a/a-b.wav", d);
    ck_assert_str_eq(l->items[0].path, path);
    ds_list_free(l);
    tu_rmtree(d);
}
END_TEST

START_TEST(list_class_order_from_caller)
{
    char d[256];
    tu_mkdtemp(d, sizeof d);
    put(d, "a/1.wav");
    put(d, "b/1.wav");
    put(d, "extra/1.wav");
    ds_list_opts o = {.classes = " b , a"};
    ds_list *l = load_ok(d, &o);
    ck_assert_int_eq(l->n_classes, 2);
    ck_assert_str_eq(l->classes[0], "b");
    ck_assert_str_eq(l->classes[1], "a");
    ck_assert_int_eq(ds_list_class_index(l, "a"), 1);
    ck_assert_int_eq(ds_list_class_index(l, "extra"), -1);
    ck_assert_uint_eq(l->n_items, 2);
    ck_assert_int_eq(find(l, "a/1.wav")->cls, 1);
    ck_assert_int_eq(find(l, "b/1.wav")->cls, 0);
    /* The folder left out is reported, not silently dropped. */
    ck_assert_uint_eq(count_warnings(l, DS_WARN_UNLISTED_CLASS), 1);
    ck_assert_ptr_nonnull(strstr(l->warnings[0].msg, "extra"));
    ds_list_free(l);

    aa_error err;
    o.classes = "a,b,c";
    ck_assert_int_eq(load_err(d, &o, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "'c'") != NULL, "%s", err.msg);
    o.classes = "a,b,a";
    ck_assert_int_eq(load_err(d, &o, &err), DS_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "twice") != NULL, "%s", err.msg);
    o.classes = "a,,b";
    ck_assert_int_eq(load_err(d, &o, &err), DS_ERR_ARG);
    o.classes = "a";
    ck_assert_int_eq(load_err(d, &o, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "one class") != NULL, "%s", err.msg);
    tu_rmtree(d);
}
END_TEST

START_TEST(list_layout_errors)
{
    char d[256], path[512];
    aa_error err;
    tu_mkdtemp(d, sizeof d);

    ck_assert_int_eq(load_err(tu_path(path, sizeof path, d, "missing"), NULL, &err), DS_ERR_IO);
    ck_assert_msg(strstr(err.msg, "missing") != NULL, "%s", err.msg);
    put(d, "file.wav");
    ck_assert_int_eq(load_err(tu_path(path, sizeof path, d, "file.wav"), NULL, &err), DS_ERR_IO);
    ck_assert_msg(strstr(err.msg, "not a folder") != NULL, "%s", err.msg);
    remove(path);

    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "no class folders") != NULL, "%s", err.msg);

    put(d, "cough/1.wav");
    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "one class") != NULL, "%s", err.msg);

    /* Empty class folders are named, all of them, in one message. */
    put_dir(d, "empty");
    put(d, "textonly/readme.txt");
    put(d, "breath/1.wav");
    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "empty") && strstr(err.msg, "textonly") && strstr(err.msg, "no audio files"), "%s",
                  err.msg);
    ck_assert_msg(strstr(err.msg, "breath") == NULL, "%s", err.msg);
    tu_rmtree(d);
}
END_TEST

START_TEST(list_explicit_split_folders)
{
    char d[256];
    aa_error err;
    tu_mkdtemp(d, sizeof d);
    put(d, "train/a/1.wav");
    put(d, "train/a/2.wav");
    put(d, "train/b/1.wav");
    put(d, "test/a/3.wav");
    put(d, "test/b/2.wav");
    put(d, "val/b/3.wav");
    put(d, "val/a/4.wav");
    put(d, "train/misplaced.wav");
    ds_list *l = load_ok(d, NULL);
    ck_assert_int_eq(l->explicit_sides, 1);
    ck_assert_int_eq(l->n_classes, 2);
    ck_assert_uint_eq(l->n_items, 7);
    ck_assert_int_eq(find(l, "train/a/2.wav")->side, DS_TRAIN);
    ck_assert_int_eq(find(l, "val/b/3.wav")->side, DS_VAL);
    ck_assert_int_eq(find(l, "test/b/2.wav")->side, DS_TEST);
    ck_assert_int_eq(find(l, "test/b/2.wav")->cls, 1);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_OUTSIDE_CLASS), 1);
    ds_list_free(l);

    /* An empty class folder on one side is an error too. */
    put_dir(d, "val/c");
    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "val/c") != NULL, "%s", err.msg);
    char path[512];
    ck_assert_int_eq(rmdir(tu_path(path, sizeof path, d, "val/c")), 0);

    /* Split folders beside class folders: ambiguous, refused. */
    put(d, "cough/1.wav");
    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "cough") != NULL, "%s", err.msg);
    tu_rmtree(d);
}
END_TEST

START_TEST(list_symlink_loops_and_duplicates)
{
    char d[256];
    tu_mkdtemp(d, sizeof d);
    put(d, "a/x.wav");
    put(d, "b/y.wav");
    put_link(d, "a/up", "..");              /* loop back to DATA */
    put_link(d, "a/here", ".");             /* loop to itself */
    put_link(d, "a/self.wav", "self.wav");  /* a symlink that resolves to itself */
    put_link(d, "a/broken.wav", "nowhere.wav");
    put_link(d, "b/again", "../a");         /* a second way into class a */
    put_link(d, "a/tob", "../b");           /* class b's folder seen from class a: b's files stay b's */
    put_link(d, "b/dup.wav", "../a/x.wav"); /* a second way to a file */
    char src[512], dst[512];
    ck_assert_int_eq(link(tu_path(src, sizeof src, d, "a/x.wav"), tu_path(dst, sizeof dst, d, "b/hard.wav")), 0);

    ds_list *l = load_ok(d, NULL);
    ck_assert_uint_eq(l->n_items, 2);
    ck_assert_ptr_nonnull(find(l, "a/x.wav"));
    ck_assert_ptr_nonnull(find(l, "b/y.wav"));
    ck_assert_int_eq(find(l, "b/y.wav")->cls, 1);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_LOOP), 4);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_DUPLICATE), 2);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_UNREADABLE), 2); /* self.wav and broken.wav */
    for (size_t i = 0; i < l->n_warnings; i++)
        ck_assert_msg(strncmp(l->warnings[i].msg, d, strlen(d)) == 0, "warning does not name the path: %s",
                      l->warnings[i].msg);
    ds_list_free(l);

    /* A class folder that is a symlink is followed. */
    char real[300];
    snprintf(real, sizeof real, "%s-real", d);
    ck_assert_int_eq(mkdir(real, 0777), 0);
    put(real, "z.wav");
    put_link(d, "c", real);
    l = load_ok(d, NULL);
    ck_assert_int_eq(l->n_classes, 3);
    ck_assert_ptr_nonnull(find(l, "c/z.wav"));
    ds_list_free(l);
    /* A class folder that is only a second link to another class's folder leaves its class empty: an error. */
    put_link(d, "d", "a");
    aa_error err;
    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "class 'd'") != NULL, "%s", err.msg);
    tu_rmtree(real);
    tu_rmtree(d);
}
END_TEST

START_TEST(list_odd_names_and_entries)
{
    char d[256], path[PATH_MAX];
    tu_mkdtemp(d, sizeof d);
    put(d, "a/x.wav/inner.wav"); /* a folder named like an audio file is walked */
    put(d, "a/\xff\xfe-bad.wav"); /* not UTF-8: kept, with a warning */
    char longname[256];
    memset(longname, 'L', 251);
    strcpy(longname + 251, ".wav"); /* 255 bytes, the usual NAME_MAX */
    snprintf(path, sizeof path, "a/%s", longname);
    put(d, path);
    ck_assert_int_eq(mkfifo(tu_path(path, sizeof path, d, "a/pipe.wav"), 0644), 0);
    tu_write_file(tu_path(path, sizeof path, d, "a/empty.wav"), "", 0);
    put(d, "b/1.wav");
    put(d, "top.wav"); /* outside any class folder */
    const int levels = 21; /* 21 x 201 bytes > PATH_MAX (4096) */
    char deep_in[300];
    tu_make_deep(tu_path(deep_in, sizeof deep_in, d, "a"), levels);

    ds_list *l = load_ok(d, NULL);
    ck_assert_uint_eq(l->n_items, 4);
    ck_assert_ptr_nonnull(find(l, "a/x.wav/inner.wav"));
    ck_assert_ptr_null(find(l, "a/x.wav"));
    snprintf(path, sizeof path, "a/%s", longname);
    ck_assert_ptr_nonnull(find(l, path));
    ck_assert_ptr_nonnull(find(l, "a/\xff\xfe-bad.wav"));
    ck_assert_uint_eq(count_warnings(l, DS_WARN_NOT_UTF8), 1);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_NOT_REGULAR), 1);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_EMPTY_FILE), 1);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_OUTSIDE_CLASS), 1);
    ck_assert_uint_ge(count_warnings(l, DS_WARN_TOO_LONG), 1);
    for (size_t i = 0; i < l->n_warnings; i++) {
        /* Messages are printable: the bad bytes appear escaped, never raw. */
        ck_assert_msg(aa_utf8_valid(l->warnings[i].msg), "warning %zu not UTF-8", i);
        if (l->warnings[i].kind == DS_WARN_NOT_UTF8)
            ck_assert_msg(strstr(l->warnings[i].msg, "\\xFF\\xFE-bad.wav") != NULL, "%s", l->warnings[i].msg);
    }
    ds_list_free(l);
    tu_remove_deep(deep_in, levels);
    tu_rmtree(d);
}
END_TEST

START_TEST(list_printable_and_utf8)
{
    ck_assert(aa_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    ck_assert(!aa_utf8_valid("\xc0\xaf"));         /* overlong '/' */
    ck_assert(!aa_utf8_valid("\xed\xa0\x80"));     /* a surrogate */
    ck_assert(!aa_utf8_valid("\xe2\x82"));         /* truncated */
    char *s = ds_printable("a\tb\xff\xc3\xa9");
    ck_assert_str_eq(s, "a\\x09b\\xFF\xc3\xa9");
    free(s);
    ck_assert_str_eq(aa_strerror(DS_ERR_SPLIT), "split impossible");
    ck_assert_str_eq(ds_side_name(DS_VAL), "val");
    ck_assert_str_eq(ds_side_name(DS_SIDE_NONE), "none");
}
END_TEST

/* Root reads everything, so permission checks run as "nobody" when the test runs as root. Check forks each
 * test, so dropping privileges here ends with this test; without forking it would not, so it is skipped. */
static int drop_root(const char *dir)
{
    if (geteuid() != 0)
        return 1;
    const char *f = getenv("CK_FORK");
    if (f && !strcmp(f, "no"))
        return 0;
    ck_assert_int_eq(chown(dir, 65534, 65534), 0);
    ck_assert_int_eq(setgid(65534), 0);
    ck_assert_int_eq(setuid(65534), 0);
    /* setuid clears the dumpable flag, which LeakSanitizer needs to inspect the process at exit. */
    prctl(PR_SET_DUMPABLE, 1);
    return 1;
}

START_TEST(list_unreadable_entries_are_warned)
{
    char d[256], path[512];
    tu_mkdtemp(d, sizeof d);
    if (!drop_root(d)) {
        tu_rmtree(d);
        return;
    }
    put(d, "a/ok.wav");
    put(d, "a/locked.wav");
    put(d, "a/closed/hidden.wav");
    put(d, "b/1.wav");
    ck_assert_int_eq(chmod(tu_path(path, sizeof path, d, "a/locked.wav"), 0), 0);
    ck_assert_int_eq(chmod(tu_path(path, sizeof path, d, "a/closed"), 0), 0);
    ds_list *l = load_ok(d, NULL);
    ck_assert_uint_eq(l->n_items, 2);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_UNREADABLE), 2);
    int saw_file = 0, saw_dir = 0;
    for (size_t i = 0; i < l->n_warnings; i++) {
        saw_file |= strstr(l->warnings[i].msg, "locked.wav: unreadable") != NULL;
        saw_dir |= strstr(l->warnings[i].msg, "closed: folder unreadable") != NULL;
    }
    ck_assert(saw_file && saw_dir);
    ds_list_free(l);

    /* A class whose every file is unreadable is an empty class, and the message says why. */
    ck_assert_int_eq(chmod(tu_path(path, sizeof path, d, "b/1.wav"), 0), 0);
    aa_error err;
    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "every file skipped") != NULL, "%s", err.msg);
    /* The removal walk cannot enter a folder without permissions. */
    ck_assert_int_eq(chmod(tu_path(path, sizeof path, d, "a/closed"), 0700), 0);
    tu_rmtree(d);
}
END_TEST

START_TEST(groups_from_manifest)
{
    char d[256], path[512];
    tu_mkdtemp(d, sizeof d);
    put(d, "cough/p1_c.wav");
    put(d, "breath/p1_b.wav");
    put(d, "cough/p2_c.wav");
    put(d, "cough/norow.wav");
    put(d, "breath/p3_b.wav");
    /* Columns found by name in any order, a byte-order mark, CRLF line ends, "./" prefixes, an extra column, a
     * row for a missing file, a second row for one file, and an empty group cell. */
    put_text(d, "manifest.tsv",
             "\xEF\xBB\xBFnote\tgroup\tpath\r\n"
             "x\tP1\tcough/p1_c.wav\r\n"
             "x\tP1\t./breath/p1_b.wav\r\n"
             "x\tP2\tcough/p2_c.wav\r\n"
             "x\tP9\tcough/gone.wav\r\n"
             "x\tP8\tcough/p2_c.wav\r\n"
             "x\t\tbreath/p3_b.wav\r\n"
             "\r\n");
    ds_list *l = load_ok(d, NULL);
    ck_assert_str_eq(l->manifest_path, tu_path(path, sizeof path, d, "manifest.tsv"));
    const ds_item *a = find(l, "cough/p1_c.wav"), *b = find(l, "breath/p1_b.wav"), *c = find(l, "cough/p2_c.wav");
    ck_assert_uint_eq(a->group, b->group); /* one person across two classes */
    ck_assert_str_eq(l->groups[a->group], "P1");
    ck_assert_str_eq(l->groups[c->group], "P2"); /* the first row wins */
    ck_assert_int_eq(a->group_source, DS_GROUP_MANIFEST);
    ck_assert_int_eq(find(l, "cough/norow.wav")->group_source, DS_GROUP_PER_FILE);
    ck_assert_str_eq(l->groups[find(l, "cough/norow.wav")->group], "cough/norow.wav");
    ck_assert_int_eq(find(l, "breath/p3_b.wav")->group_source, DS_GROUP_PER_FILE);
    ck_assert_uint_eq(l->n_groups, 4);
    ck_assert_uint_eq(l->stats.manifest_rows, 6);
    ck_assert_uint_eq(l->stats.manifest_unmatched, 1);
    ck_assert_uint_eq(l->stats.group_manifest, 3);
    ck_assert_uint_eq(l->stats.group_per_file, 2);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_MANIFEST_ROW), 1);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_MANIFEST_DUP), 1);
    ck_assert_msg(strstr(l->warnings[0].msg, "gone.wav") && strstr(l->warnings[0].msg, "line 5"), "%s",
                  l->warnings[0].msg);
    ds_list_free(l);

    /* "" ignores the manifest; another file can be named; a missing one is an error. */
    ds_list_opts o = {.manifest = ""};
    l = load_ok(d, &o);
    ck_assert_uint_eq(l->n_groups, 5);
    ck_assert_ptr_null(l->manifest_path);
    ds_list_free(l);
    char other[300];
    snprintf(other, sizeof other, "%s-groups.tsv", d);
    const char *rows = "path\tgroup\ncough/norow.wav\tP2\n";
    tu_write_file(other, rows, strlen(rows));
    o.manifest = other;
    l = load_ok(d, &o);
    ck_assert_str_eq(l->groups[find(l, "cough/norow.wav")->group], "P2");
    ck_assert_uint_eq(l->stats.group_manifest, 1);
    ds_list_free(l);
    remove(other);
    aa_error err;
    o.manifest = other;
    ck_assert_int_eq(load_err(d, &o, &err), DS_ERR_IO);

    /* Without a group column the manifest is refused, not ignored. */
    put_text(d, "manifest.tsv", "path\tclass\ncough/p1_c.wav\tcough\n");
    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_MANIFEST);
    ck_assert_msg(strstr(err.msg, "no 'group'") != NULL, "%s", err.msg);
    put_text(d, "manifest.tsv", "");
    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_MANIFEST);
    tu_rmtree(d);
}
END_TEST

START_TEST(groups_from_regex)
{
    char d[256];
    tu_mkdtemp(d, sizeof d);
    put(d, "cough/alice_1.wav");
    put(d, "cough/bob_2.wav");
    put(d, "breath/alice_3.wav");
    put(d, "breath/ZZZ.wav");
    ds_list_opts o = {.group_regex = "^([a-z]+)_"};
    ds_list *l = load_ok(d, &o);
    ck_assert_uint_eq(find(l, "cough/alice_1.wav")->group, find(l, "breath/alice_3.wav")->group);
    ck_assert_str_eq(l->groups[find(l, "cough/alice_1.wav")->group], "alice");
    ck_assert_str_eq(l->groups[find(l, "cough/bob_2.wav")->group], "bob");
    ck_assert_int_eq(find(l, "breath/ZZZ.wav")->group_source, DS_GROUP_PER_FILE);
    ck_assert_uint_eq(l->stats.regex_no_match, 1);
    ck_assert_uint_eq(l->stats.group_regex, 3);
    ck_assert_uint_eq(l->n_groups, 3);
    ds_list_free(l);

    /* Without a capture group the whole match is the group; the regex sees the file name, not folders. */
    o.group_regex = "^[a-z]+";
    l = load_ok(d, &o);
    ck_assert_str_eq(l->groups[find(l, "cough/bob_2.wav")->group], "bob");
    ds_list_free(l);
    o.group_regex = "cough";
    l = load_ok(d, &o);
    ck_assert_uint_eq(l->stats.regex_no_match, 4);
    ds_list_free(l);

    /* The manifest has priority; the regex fills in files without a row. */
    put_text(d, "manifest.tsv", "path\tgroup\ncough/bob_2.wav\tP7\n");
    o.group_regex = "^([a-z]+)_";
    l = load_ok(d, &o);
    ck_assert_str_eq(l->groups[find(l, "cough/bob_2.wav")->group], "P7");
    ck_assert_str_eq(l->groups[find(l, "cough/alice_1.wav")->group], "alice");
    ck_assert_uint_eq(l->stats.group_manifest, 1);
    ck_assert_uint_eq(l->stats.group_regex, 2);
    ds_list_free(l);

    aa_error err;
    o.group_regex = "([a-z";
    ck_assert_int_eq(load_err(d, &o, &err), DS_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "([a-z") != NULL, "%s", err.msg);
    tu_rmtree(d);
}
END_TEST

/* The real corpus, when the machine has it: 255 files in 4 classes, 120 groups from its manifest. */
/* Sources: from the manifest's `source` column, else the name of DATA's folder; an empty cell falls back
 * too. A manifest that cannot be used stops the listing, unless the caller only wants what it can give. */
START_TEST(sources_from_manifest_and_folder)
{
    char d[256], data[300];
    tu_mkdtemp(d, sizeof d);
    snprintf(data, sizeof data, "%s/corpus", d);
    put_dir(d, "corpus");
    put(data, "cough/a.wav");
    put(data, "cough/b.wav");
    put(data, "breath/c.wav");
    put(data, "breath/d.wav");
    ds_list *l = load_ok(data, NULL);
    ck_assert_uint_eq(l->n_sources, 1);
    ck_assert_str_eq(l->sources[0], "corpus");
    ck_assert_uint_eq(l->stats.source_manifest, 0);
    ck_assert_int_eq(ds_list_source_index(l, "corpus"), 0);
    ck_assert_int_eq(ds_list_source_index(l, "other"), -1);
    ds_list_free(l);

    /* A trailing slash names the same folder; the caller may name the default. */
    char slashed[310];
    snprintf(slashed, sizeof slashed, "%s/", data);
    l = load_ok(slashed, NULL);
    ck_assert_str_eq(l->sources[0], "corpus");
    ds_list_free(l);
    ds_list_opts o = {.default_source = "lab"};
    l = load_ok(data, &o);
    ck_assert_str_eq(l->sources[0], "lab");
    ds_list_free(l);

    put_text(data, "manifest.tsv",
             "path\tgroup\tsource\n"
             "cough/a.wav\tp1\tphone\n"
             "breath/c.wav\tp1\tphone\n"
             "cough/b.wav\tp2\tstudio\n"
             "breath/d.wav\tp3\t\n");
    l = load_ok(data, NULL);
    ck_assert_uint_eq(l->n_sources, 3);
    ck_assert_str_eq(l->sources[0], "corpus"); /* sorted bytewise */
    ck_assert_str_eq(l->sources[1], "phone");
    ck_assert_str_eq(l->sources[2], "studio");
    ck_assert_str_eq(l->sources[find(l, "cough/a.wav")->source], "phone");
    ck_assert_str_eq(l->sources[find(l, "breath/c.wav")->source], "phone");
    ck_assert_str_eq(l->sources[find(l, "cough/b.wav")->source], "studio");
    ck_assert_str_eq(l->sources[find(l, "breath/d.wav")->source], "corpus");
    ck_assert_uint_eq(l->stats.source_manifest, 3);
    ds_list_free(l);

    /* No group column: an error, or with manifest_soft a warning and no manifest at all. */
    put_text(data, "manifest.tsv", "path\tsource\ncough/a.wav\tphone\n");
    aa_error err;
    ck_assert_int_eq(load_err(data, NULL, &err), DS_ERR_MANIFEST);
    o = (ds_list_opts){.manifest_soft = 1};
    l = load_ok(data, &o);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_MANIFEST_UNUSABLE), 1);
    ck_assert_msg(strstr(l->warnings[0].msg, "no 'group'") != NULL, "%s", l->warnings[0].msg);
    ck_assert_ptr_null(l->manifest_path);
    ck_assert_uint_eq(l->n_sources, 1);
    ck_assert_uint_eq(l->stats.group_manifest, 0);
    ds_list_free(l);
    tu_rmtree(d);
}
END_TEST

/* A folder of negatives: one folder is enough with min_classes 1, and folders named like the classes being
 * trained are skipped with a warning that says why. */
START_TEST(list_negatives_folder)
{
    char d[256];
    tu_mkdtemp(d, sizeof d);
    put(d, "clicks/a.wav");
    aa_error err;
    ck_assert_int_eq(load_err(d, NULL, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "only one class") != NULL, "%s", err.msg);
    ds_list_opts o = {.min_classes = 1};
    ds_list *l = load_ok(d, &o);
    ck_assert_int_eq(l->n_classes, 1);
    ds_list_free(l);

    put(d, "heavy_breathing/b.wav");
    put(d, "speech/c.wav");
    o.exclude = "cough, heavy_breathing";
    o.exclude_why = "a class of DATA, not a negative";
    /* The manifest's rows for the excluded folder are passed over quietly; others still warn. */
    put_text(d, "manifest.tsv", "path\tgroup\nheavy_breathing/b.wav\tg1\nspeech/c.wav\tg2\nspeech/gone.wav\tg3\n");
    l = load_ok(d, &o);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_MANIFEST_ROW), 1);
    ck_assert_uint_eq(l->stats.manifest_unmatched, 2);
    ck_assert_str_eq(l->groups[find(l, "speech/c.wav")->group], "g2");
    ck_assert_int_eq(l->n_classes, 2);
    ck_assert_str_eq(l->classes[0], "clicks");
    ck_assert_str_eq(l->classes[1], "speech");
    ck_assert_ptr_null(find(l, "heavy_breathing/b.wav"));
    ck_assert_uint_eq(count_warnings(l, DS_WARN_EXCLUDED_CLASS), 1);
    ck_assert_uint_eq(count_warnings(l, DS_WARN_UNLISTED_CLASS), 0);
    ck_assert_int_eq(l->warnings[0].kind, DS_WARN_EXCLUDED_CLASS);
    ck_assert_msg(strstr(l->warnings[0].msg, "heavy_breathing") &&
                      strstr(l->warnings[0].msg, "skipped (a class of DATA, not a negative)"),
                  "%s", l->warnings[0].msg);
    ds_list_free(l);

    /* Every folder excluded: nothing to list. */
    o.exclude = "clicks,heavy_breathing,speech";
    ck_assert_int_eq(load_err(d, &o, &err), DS_ERR_LAYOUT);
    ck_assert_msg(strstr(err.msg, "no class folders") != NULL, "%s", err.msg);
    tu_rmtree(d);
}
END_TEST

START_TEST(list_real_corpus)
{
    const char *dir = getenv("AA_REAL_DATA");
    if (!dir)
        dir = "../shared/data/respiratory";
    char m[512];
    if (!tu_exists(tu_path(m, sizeof m, dir, "manifest.tsv")))
        return;
    ds_list *l = load_ok(dir, NULL);
    ck_assert_int_eq(l->n_classes, 4);
    ck_assert_str_eq(l->classes[0], "background_noise");
    ck_assert_str_eq(l->classes[3], "normal_breathing");
    ck_assert_uint_eq(l->n_items, 255);
    ck_assert_uint_eq(l->n_groups, 120);
    ck_assert_uint_eq(l->stats.group_manifest, 255);
    ck_assert_uint_eq(l->stats.manifest_unmatched, 0);
    ck_assert_uint_eq(l->n_warnings, 0);
    /* The manifest's source column: Coswara and the packs the background and a few coughs come from. */
    ck_assert_uint_eq(l->stats.source_manifest, 255);
    int coswara = ds_list_source_index(l, "coswara");
    ck_assert_int_ge(coswara, 0);
    size_t n_coswara = 0;
    for (size_t i = 0; i < l->n_items; i++)
        n_coswara += l->items[i].source == (size_t)coswara;
    ck_assert_uint_eq(n_coswara, 185);
    ds_list_free(l);
}
END_TEST

Suite *list_suite(void)
{
    Suite *s = suite_create("list");
    TCase *tc = tcase_create("list");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, list_sorted_classes_items_and_skips);
    tcase_add_test(tc, list_class_order_from_caller);
    tcase_add_test(tc, list_layout_errors);
    tcase_add_test(tc, list_explicit_split_folders);
    tcase_add_test(tc, list_symlink_loops_and_duplicates);
    tcase_add_test(tc, list_odd_names_and_entries);
    tcase_add_test(tc, list_printable_and_utf8);
    tcase_add_test(tc, list_unreadable_entries_are_warned);
    tcase_add_test(tc, groups_from_manifest);
    tcase_add_test(tc, groups_from_regex);
    tcase_add_test(tc, sources_from_manifest_and_folder);
    tcase_add_test(tc, list_negatives_folder);
    tcase_add_test(tc, list_real_corpus);
    suite_add_tcase(s, tc);
    return s;
}
