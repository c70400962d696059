/*
 * The runtime's environment variables, parsed from the flag table in
 * flags.def (one definition gives the struct, the parser and the help).
 * Runs at start-up before anything is traced, so it uses neither stdio nor
 * malloc: values are parsed by hand and messages written with write(2).
 * A bad value gives one line on stderr and leaves tracing off. In secure
 * execution (AT_SECURE: setuid, setgid, file capabilities) every variable
 * is ignored, as if unset: secure_getenv reads them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

enum flag_kind { FLAG_DEPTH, FLAG_UNWIND, FLAG_BOOL, FLAG_COUNT };

struct runtime_flags flags = {
#define MEMSNAP_FLAG_FIELD(env, field, kind, dflt, help) .field = (dflt),
#include "flags.def"
#undef MEMSNAP_FLAG_FIELD
};

struct flag_spec {
    const char *env;
    long *value;
    enum flag_kind kind;
    const char *help;
};

static const struct flag_spec specs[] = {
#define MEMSNAP_FLAG_FIELD(env, field, kind, dflt, help) {env, &flags.field, kind, help},
#include "flags.def"
#undef MEMSNAP_FLAG_FIELD
};

static const char *const expected_text[] = {
    [FLAG_DEPTH] = "a depth 0..256",
    [FLAG_UNWIND] = "auto, fp or dwarf",
    [FLAG_BOOL] = "0 or 1",
    [FLAG_COUNT] = "a count >= 0",
};

/* Writes "memsnap: " + parts + "\n" with one write(2). */
static void say_parts(const char *const *parts, size_t count)
{
    char line[512];
    size_t n = 0;
    for (size_t p = 0; p < count; p++)
        for (const char *s = parts[p]; s && *s && n < sizeof line - 1; s++)
            line[n++] = (*s == '\n' || *s == '\r') ? '?' : *s;
    line[n++] = '\n';
    int saved_errno = errno; /* stderr may be closed: the program's errno stays */
    ssize_t ignored = write(2, line, n);
    (void)ignored;
    errno = saved_errno;
}

void say(const char *a, const char *b, const char *c, const char *d)
{
    const char *parts[] = {"memsnap: ", a, b, c, d};
    say_parts(parts, sizeof parts / sizeof parts[0]);
}

/* Decimal, no sign, at most 9 digits. */
static int parse_count(const char *s, long *out)
{
    long v = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 9)
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_one(const struct flag_spec *spec, const char *text)
{
    long v;
    switch (spec->kind) {
    case FLAG_DEPTH:
        if (parse_count(text, &v) != 0 || v > (long)MEMSNAP_MAX_FRAMES)
            return -EINVAL;
        break;
    case FLAG_BOOL:
        if (parse_count(text, &v) != 0 || v > 1)
            return -EINVAL;
        break;
    case FLAG_COUNT:
        if (parse_count(text, &v) != 0)
            return -EINVAL;
        break;
    case FLAG_UNWIND:
        if (strcmp(text, "auto") == 0)
            v = UNWIND_AUTO;
        else if (strcmp(text, "fp") == 0)
            v = UNWIND_FP;
        else if (strcmp(text, "dwarf") == 0)
            v = UNWIND_DWARF;
        else
            return -EINVAL;
        break;
    default:
        return -EINVAL;
    }
    *spec->value = v;
    return 0;
}

int flags_parse(void)
{
    int rc = 0;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        const char *text = secure_getenv(specs[i].env);
        if (!text || parse_one(&specs[i], text) == 0)
            continue;
        char shown[65];
        size_t n = strlen(text) < 64 ? strlen(text) : 64;
        memcpy(shown, text, n);
        shown[n] = 0;
        const char *parts[] = {"memsnap: ", specs[i].env, "=", shown, ": expected ",
                               expected_text[specs[i].kind], "; tracing off"};
        say_parts(parts, sizeof parts / sizeof parts[0]);
        rc = -EINVAL;
    }
    return rc;
}

void flags_print_help(void)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        say(specs[i].env, ": ", specs[i].help, "");
}
