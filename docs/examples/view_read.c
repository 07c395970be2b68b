/*
 * docs/examples/view_read.c: read an LMDB view from a C program.
 *
 *   cc -I. view_read.c build/libmat.a build/libsch.a build/libsl.a \
 *      -llmdb -lprotobuf-c -o view_read
 *   ./view_read ./views/users public.users 42
 *
 * Prints the row whose primary key is the given value, then every row of
 * the table in key order, as "column=value" lines.  It is compiled and run
 * by tests/check_mat.c, so it cannot rot.
 */
#include <stdio.h>
#include <string.h>

#include "materialize/view.h"

int view_read_main(int argc, char **argv);

/* Called for each row; 'row' and its values live until mat_view_end(). */
static int
print_row(const struct mat_row *row, void *ctx)
{
	struct sl_arena *arena = ctx;
	struct sch_value *vals;
	uint32_t i, n;

	if (mat_row_values(row, arena, &vals, &n, NULL) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		const struct sch_value *v = &vals[i];

		printf("%s%s=", i ? " " : "", mat_row_column(row, i));
		if (v->kind == SCH_INT64)
			printf("%lld", (long long)v->u.i64);
		else if (v->kind == SCH_TEXT)	/* zero-copy: points into the map */
			printf("%.*s", (int)v->u.s.len, v->u.s.p);
		else if (v->kind == SCH_NULL)
			printf("NULL");
		else
			printf("(%s)", sch_kind_name(v->kind));
	}
	printf("\n");
	sl_arena_reset(arena);		/* the decoded array, not the row bytes */
	return 0;
}

int
view_read_main(int argc, char **argv)
{
	struct mat_view *view = NULL;
	struct mat_view_txn *txn = NULL;
	struct sl_arena arena = { 0 };
	struct sl_buf key = { 0 };
	struct sl_err err = { 0 };
	struct mat_row row;
	const char *args[1];
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: view_read PATH TABLE KEY\n");
		return 2;
	}
	/* open once; a long-running reader calls mat_view_reopen_if_swapped()
	   now and then to follow a rebuild */
	if ((rc = mat_view_open(argv[1], &view, &err)) != 0 ||
	    (rc = mat_view_begin(view, &txn, &err)) != 0)
		goto out;
	args[0] = argv[3];
	if ((rc = mat_view_key_from_text(txn, argv[2], NULL, args, 1, &key, &err)) != 0)
		goto out;
	rc = mat_view_get(txn, argv[2], sl_buf_slice(&key), &row, &err);
	if (rc == 0)
		rc = print_row(&row, &arena);
	else if (rc == SL_ENOTFOUND)
		printf("no row %s\n", argv[3]);
	else
		goto out;
	rc = mat_view_scan(txn, argv[2], sl_slice_make(NULL, 0), 0, print_row, &arena, &err);
out:
	if (rc != 0)
		fprintf(stderr, "view_read: %s\n", sl_err_msg(&err, rc));
	mat_view_end(txn);		/* every row pointer dies here */
	mat_view_close(view);
	sl_buf_free(&key);
	sl_arena_free(&arena);
	return rc == 0 ? 0 : 1;
}

#ifndef VIEW_READ_NO_MAIN
int
main(int argc, char **argv)
{
	return view_read_main(argc, argv);
}
#endif
