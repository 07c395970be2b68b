/*
 * common/err.c: the error space (0, -errno, SL_E*) and struct sl_err.
 * Not a logging facility: libraries fill errors, the command logs once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/sl.h"

static const char *const sl_err_names[] = {
	[0] = "data is corrupt",
	[1] = "invalid argument",
	[2] = "too large",
	[3] = "not found",
	[4] = "not supported",
	[5] = "configuration error",
	[6] = "protocol error",
	[7] = "out of range",
	[8] = "already exists",
	[9] = "wrong state",
	[10] = "truncated input",
	[11] = "duplicate sequence number",
	[12] = "out of order sequence number",
	[13] = "producer fenced by a newer epoch",
};

const char *
sl_strerror(int code)
{
	if (code == 0)
		return "success";
	if (code <= SL_ECORRUPT)
		return code > SL_ELAST ? sl_err_names[SL_ECORRUPT - code] : "unknown error";
	if (code < 0)
		return strerror(-code);
	return "unknown error";
}

int
sl_verrf(struct sl_err *err, int code, const char *fmt, va_list ap)
{
	if (err != NULL) {
		/*
		 * Through a copy: callers add context to the error they hold
		 * (sl_errf(err, rc, "at %s: %s", where, err->msg)), and
		 * vsnprintf into the buffer it reads from would overwrite the
		 * message before reading it.
		 */
		char msg[sizeof(err->msg)];

		vsnprintf(msg, sizeof(msg), fmt, ap);
		err->code = code;
		err->file = NULL;
		err->line = 0;
		memcpy(err->msg, msg, sizeof(msg));
	}
	return code;
}

int
sl_errf(struct sl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_verrf(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int
sl_corrupt_at(struct sl_err *err, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_verrf(err, SL_ECORRUPT, fmt, ap);
	va_end(ap);
	if (err != NULL) {
		err->file = file;
		err->line = line;
	}
	return SL_ECORRUPT;
}

const char *
sl_err_msg(const struct sl_err *err, int code)
{
	if (err != NULL && err->code != 0 && err->msg[0] != '\0')
		return err->msg;
	return sl_strerror(code);
}
