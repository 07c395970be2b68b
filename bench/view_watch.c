/*
 * bench/view_watch.c: how long a committed row takes to become visible in
 * an LMDB view, seen by a reader through materialize/view.h.
 *
 *   view_watch PATH TABLE FIRST N [TIMEOUT_S [N_FILE]]
 *
 * Waits for the rows whose int8 key is FIRST, FIRST+1, ... FIRST+N-1 (the
 * load generator inserts them in that order), looking at the view with one
 * read transaction per attempt, and attempting again whenever inotify says
 * data.mdb was written (a commit's last write makes it visible), or every
 * 5 ms.  Waking on the write, not on a polling timer, keeps the reader's
 * own delay and CPU out of the figure, as PostgreSQL's side has none.  For each row it takes the wall clock when
 * the row is first seen minus the row's column `t_commit` (a timestamptz
 * the inserting transaction set with clock_timestamp(), just before its
 * commit) and prints `p50_ms p99_ms max_ms seen` on one line.  When the
 * file N_FILE appears holding a number (checked every 100 ms), that number
 * replaces N: the load generator wrote fewer rows than asked, and waiting
 * for the rest would only run into TIMEOUT_S.  Used by
 * bench/views_latency.sh; not a correctness test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "materialize/view.h"

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
main(int argc, char **argv)
{
	struct mat_view *v = NULL;
	struct sl_err err = { 0 };
	struct sl_arena a = { 0 };
	struct sl_buf key = { 0 };
	int64_t first, n, seen = 0, *lat, deadline, next_check = 0;
	char idtext[32], data[4096];
	const char *args[1] = { idtext };
	int rc, col = -1, ifd;

	if (argc < 5) {
		fprintf(stderr, "usage: view_watch PATH TABLE FIRST N [TIMEOUT_S [N_FILE]]\n");
		return 2;
	}
	first = atoll(argv[3]);
	n = atoll(argv[4]);
	deadline = now_us() + (argc > 5 ? atoll(argv[5]) : 120) * 1000000;
	lat = calloc((size_t)n + 1, sizeof(*lat));
	while ((rc = mat_view_open(argv[1], &v, &err)) != 0) {
		if (now_us() > deadline) {
			fprintf(stderr, "view_watch: %s\n", sl_err_msg(&err, rc));
			return 1;
		}
		usleep(10000);
	}
	snprintf(data, sizeof(data), "%s/data.mdb", argv[1]);
	if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(ifd, data, IN_MODIFY) < 0) {
		perror("view_watch: inotify");
		return 1;
	}
	while (seen < n && now_us() < deadline) {
		struct mat_view_txn *t;
		struct mat_row row;
		struct sch_value *vals;
		uint32_t nv, i;

		if (argc > 6 && now_us() >= next_check) {
			FILE *f = fopen(argv[6], "r");
			long long m;

			if (f != NULL) {
				if (fscanf(f, "%lld", &m) == 1 && m >= 0 && m < n)
					n = m;
				fclose(f);
			}
			next_check = now_us() + 100000;
			if (seen >= n)
				break;
		}

		if (mat_view_begin(v, &t, NULL) != 0) {
			usleep(1000);
			continue;
		}
		for (;;) {
			snprintf(idtext, sizeof(idtext), "%lld", (long long)(first + seen));
			sl_buf_reset(&key);
			if (mat_view_key_from_text(t, argv[2], NULL, args, 1, &key, NULL) != 0 ||
			    mat_view_get(t, argv[2], sl_buf_slice(&key), &row, NULL) != 0)
				break;
			if (mat_row_values(&row, &a, &vals, &nv, NULL) != 0)
				break;
			if (col < 0)
				for (i = 0; i < nv; i++)
					if (strcmp(mat_row_column(&row, i), "t_commit") == 0)
						col = (int)i;
			if (col < 0 || (uint32_t)col >= nv) {
				fprintf(stderr, "view_watch: no t_commit column\n");
				return 1;
			}
			lat[seen++] = now_us() - vals[col].u.ts_us;
			sl_arena_reset(&a);
			if (seen == n)
				break;
		}
		mat_view_end(t);
		if (seen < n) {
			struct pollfd pfd = { ifd, POLLIN, 0 };
			char evbuf[4096];

			if (poll(&pfd, 1, 5) > 0)
				while (read(ifd, evbuf, sizeof(evbuf)) > 0)
					;
		}
	}
	if (seen == 0) {
		printf("nan nan nan 0\n");
		return 1;
	}
	qsort(lat, (size_t)seen, sizeof(*lat), cmp_i64);
	printf("%.2f %.2f %.2f %lld\n", (double)lat[seen / 2] / 1000.0,
	    (double)lat[seen * 99 / 100] / 1000.0, (double)lat[seen - 1] / 1000.0,
	    (long long)seen);
	mat_view_close(v);
	sl_buf_free(&key);
	sl_arena_free(&a);
	free(lat);
	return seen == n ? 0 : 1;
}
