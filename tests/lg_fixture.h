/*
 * tests/lg_fixture.h: fixtures the log module's Check suites share (a
 * fresh folder per test, opening and syncing a partition with the checks
 * after each, small segments and a dense index).  Header-only, static
 * inline, so a suite that leaves one unused still builds with -Werror.
 */
#ifndef LG_FIXTURE_H
#define LG_FIXTURE_H

#include <check.h>
#include <stdlib.h>

#include "log/lg_int.h"

/* A fresh folder /tmp/check_<name>.XXXXXX; drop it with lgf_drop_dir(). */
static inline char *
lgf_make_dir(const char *name)
{
	char *tmpl = sl_asprintf("/tmp/check_%s.XXXXXX", name);

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	return tmpl;
}

static inline void
lgf_drop_dir(char *d)
{
	sl_rm_rf(d);
	free(d);
}

/* Open the partition in 'dir' or fail the test; invariants checked. */
static inline struct lg_partition *
lgf_open(const char *dir, const struct lg_options *o)
{
	struct lg_partition *p = NULL;
	struct sl_err err = { 0 };
	int rc = lg_partition_open(dir, o, &p, &err);

	ck_assert_msg(rc == 0, "open %s: %s", dir, sl_err_msg(&err, rc));
	lg_partition_check_(p);
	return p;
}

static inline void
lgf_sync(struct lg_partition *p)
{
	struct sl_err err = { 0 };
	int rc = lg_partition_sync(p, &err);

	ck_assert_msg(rc == 0, "sync: %s", sl_err_msg(&err, rc));
}

/* The defaults with a 256-byte index interval and no time retention. */
static inline struct lg_options
lgf_small_opts(void)
{
	struct lg_options o;

	lg_options_default(&o);
	o.index_interval_bytes = 256;
	o.retention_ms = -1;
	return o;
}

#endif /* LG_FIXTURE_H */
