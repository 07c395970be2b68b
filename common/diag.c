/*
 * common/diag.c: diagnostics lines on stderr with a level and a component
 * name.  One write(2) per line so lines of supervised children interleave
 * whole.  Not for user-facing command output, which goes to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/sl.h"

static int sl_log_level = -1;
static char sl_log_component[32];

static const char *const sl_level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

int
sl_log_parse_level(const char *s, enum sl_log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(names); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum sl_log_level)i;
			return 0;
		}
	}
	return SL_EINVAL;
}

enum sl_log_level
sl_log_get_level(void)
{
	if (sl_log_level < 0) {
		const char *env = getenv("SLUICE_LOG");
		enum sl_log_level l = SL_LOG_INFO;

		if (env != NULL)
			(void)sl_log_parse_level(env, &l);
		sl_log_level = (int)l;
	}
	return (enum sl_log_level)sl_log_level;
}

void
sl_log_set_level(enum sl_log_level l)
{
	sl_log_level = (int)l;
}

void
sl_log_set_component(const char *name)
{
	snprintf(sl_log_component, sizeof(sl_log_component), "%s", name ? name : "");
}

void
sl_log(enum sl_log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int k;

	if ((int)level > (int)sl_log_get_level())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s %s%s%s", ts.tv_nsec / 1000000,
	    sl_level_names[level], sl_log_component[0] ? "[" : "", sl_log_component,
	    sl_log_component[0] ? "] " : "");
	if (k > 0 && (size_t)k < sizeof(line) - n)
		n += (size_t)k;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t)k < sizeof(line) - n - 1 ? (size_t)k : sizeof(line) - n - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
