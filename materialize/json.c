/*
 * materialize/json.c: a small strict JSON reader, and the Debezium
 * envelope (format = json) read into a change event.
 *
 * Strict RFC 8259: one value, no trailing commas, no comments, no
 * leading zeros, strings checked as UTF-8 (surrogate pairs joined, lone
 * surrogates rejected), control characters rejected.  Bounded: the input
 * is at most MAT_JSON_MAX_SIZE bytes and MAT_JSON_MAX_DEPTH deep, and every
 * allocation is at most proportional to the input.  It is not a general
 * JSON library: no writer (row.c writes the little JSON we print), no
 * numbers beyond their text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "materialize/mat_int.h"

struct jp {
	const uint8_t *p;
	size_t len, at;
	struct sl_arena *a;
	struct sl_err *err;
};

static int
jp_fail(struct jp *j, const char *why)
{
	return SL_CORRUPT(j->err, "json: %s at byte %zu", why, j->at);
}

static void
jp_ws(struct jp *j)
{
	while (j->at < j->len && (j->p[j->at] == ' ' || j->p[j->at] == '\t' ||
	    j->p[j->at] == '\n' || j->p[j->at] == '\r'))
		j->at++;
}

static int
hex4(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		int d = sl_hex_digit(p[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

static size_t
utf8_put(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t
utf8_valid(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A string at j->at (the opening quote): unescaped into the arena. */
static int
jp_string(struct jp *j, const char **out, size_t *out_len)
{
	size_t start = ++j->at, n = 0, k;
	uint8_t *o;
	uint32_t cp, lo;

	/*
	 * The closing quote: the next '"' not escaped, i.e. not preceded by an
	 * odd run of backslashes (memchr, as most strings have no escapes).
	 */
	for (;;) {
		const uint8_t *q = j->at < j->len ?
		    memchr(j->p + j->at, '"', j->len - j->at) : NULL;
		size_t pos, bs = 0;

		if (q == NULL) {
			j->at = j->len;
			return jp_fail(j, "unterminated string");
		}
		pos = (size_t)(q - j->p);
		while (pos - bs > start && j->p[pos - bs - 1] == '\\')
			bs++;
		j->at = pos;
		if (bs % 2 == 0)
			break;
		j->at++;
	}
	/* the unescaped text is never longer than the escaped */
	o = sl_arena_alloc(j->a, j->at - start + 1);
	/* plain ASCII (most text) is copied at once, the rest byte by byte */
	for (k = start; k < j->at; k++) {
		uint8_t c = j->p[k];

		if (c < 0x20 || c >= 0x80 || c == '\\')
			break;
	}
	n = k - start;
	memcpy(o, j->p + start, n);
	while (k < j->at) {
		uint8_t c = j->p[k];

		if (c < 0x20) {
			j->at = k;
			return jp_fail(j, "control character in string");
		}
		if (c != '\\') {
			size_t l = utf8_valid(j->p + k, j->at - k);

			if (l == 0) {
				j->at = k;
				return jp_fail(j, "invalid UTF-8");
			}
			memcpy(o + n, j->p + k, l);
			n += l;
			k += l;
			continue;
		}
		k++;
		switch (j->p[k]) {
		case '"': o[n++] = '"'; k++; break;
		case '\\': o[n++] = '\\'; k++; break;
		case '/': o[n++] = '/'; k++; break;
		case 'b': o[n++] = '\b'; k++; break;
		case 'f': o[n++] = '\f'; k++; break;
		case 'n': o[n++] = '\n'; k++; break;
		case 'r': o[n++] = '\r'; k++; break;
		case 't': o[n++] = '\t'; k++; break;
		case 'u':
			if (j->at - k < 5 || hex4(j->p + k + 1, &cp) != 0) {
				j->at = k;
				return jp_fail(j, "bad \\u escape");
			}
			k += 5;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				j->at = k;
				return jp_fail(j, "lone low surrogate");
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->at - k < 6 || j->p[k] != '\\' || j->p[k + 1] != 'u' ||
				    hex4(j->p + k + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
					j->at = k;
					return jp_fail(j, "lone high surrogate");
				}
				k += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			n += utf8_put(o + n, cp);	/* <= the 6 or 12 bytes read */
			break;
		default:
			j->at = k;
			return jp_fail(j, "bad escape");
		}
	}
	o[n] = '\0';
	j->at++;	/* closing quote */
	*out = (const char *)o;
	*out_len = n;
	return 0;
}

static int
jp_number(struct jp *j, struct mat_json *v)
{
	size_t start = j->at;
	char *s;

#define DIGIT(x) ((x) >= '0' && (x) <= '9')
	if (j->at < j->len && j->p[j->at] == '-')
		j->at++;
	if (j->at >= j->len || !DIGIT(j->p[j->at]))
		return jp_fail(j, "bad number");
	if (j->p[j->at] == '0')
		j->at++;
	else
		while (j->at < j->len && DIGIT(j->p[j->at]))
			j->at++;
	if (j->at < j->len && j->p[j->at] == '.') {
		j->at++;
		if (j->at >= j->len || !DIGIT(j->p[j->at]))
			return jp_fail(j, "bad fraction");
		while (j->at < j->len && DIGIT(j->p[j->at]))
			j->at++;
	}
	if (j->at < j->len && (j->p[j->at] == 'e' || j->p[j->at] == 'E')) {
		j->at++;
		if (j->at < j->len && (j->p[j->at] == '+' || j->p[j->at] == '-'))
			j->at++;
		if (j->at >= j->len || !DIGIT(j->p[j->at]))
			return jp_fail(j, "bad exponent");
		while (j->at < j->len && DIGIT(j->p[j->at]))
			j->at++;
	}
#undef DIGIT
	s = sl_arena_alloc(j->a, j->at - start + 1);
	memcpy(s, j->p + start, j->at - start);
	s[j->at - start] = '\0';
	v->type = MAT_JSON_NUMBER;
	v->s = s;
	v->len = j->at - start;
	return 0;
}

static int jp_value(struct jp *j, struct mat_json *v, int depth);

/*
 * Elements or members into arrays taken from the arena, doubled when full
 * (the outgrown ones stay in the arena until its reset: at most as much
 * again, and no malloc/free per object, which was ~15% of decoding).
 */
static int
jp_compound(struct jp *j, struct mat_json *v, int depth, int object)
{
	struct mat_json *items = NULL;
	const char **keys = NULL;
	size_t *klens = NULL, n = 0, cap = 0;
	int rc = 0;

	j->at++;	/* [ or { */
	jp_ws(j);
	if (j->at < j->len && j->p[j->at] == (object ? '}' : ']')) {
		j->at++;
		goto done;
	}
	for (;;) {
		if (n == cap) {
			struct mat_json *ni;
			const char **nk;
			size_t *nl;

			cap = cap ? cap * 2 : 16;
			ni = sl_arena_alloc(j->a, cap * sizeof(*items));
			if (n)
				memcpy(ni, items, n * sizeof(*items));
			items = ni;
			if (object) {
				nk = sl_arena_alloc(j->a, cap * sizeof(*keys));
				nl = sl_arena_alloc(j->a, cap * sizeof(*klens));
				if (n) {
					memcpy(nk, keys, n * sizeof(*keys));
					memcpy(nl, klens, n * sizeof(*klens));
				}
				keys = nk;
				klens = nl;
			}
		}
		jp_ws(j);
		if (object) {
			if (j->at >= j->len || j->p[j->at] != '"') {
				rc = jp_fail(j, "expected a member name");
				goto out;
			}
			if ((rc = jp_string(j, &keys[n], &klens[n])) != 0)
				goto out;
			jp_ws(j);
			if (j->at >= j->len || j->p[j->at] != ':') {
				rc = jp_fail(j, "expected ':'");
				goto out;
			}
			j->at++;
		}
		if ((rc = jp_value(j, &items[n], depth + 1)) != 0)
			goto out;
		n++;
		jp_ws(j);
		if (j->at < j->len && j->p[j->at] == ',') {
			j->at++;
			continue;
		}
		if (j->at < j->len && j->p[j->at] == (object ? '}' : ']')) {
			j->at++;
			break;
		}
		rc = jp_fail(j, object ? "expected ',' or '}'" : "expected ',' or ']'");
		goto out;
	}
done:
	v->type = object ? MAT_JSON_OBJECT : MAT_JSON_ARRAY;
	v->n = n;
	/* never NULL, as before: an empty compound gets a 16-byte block */
	v->items = items != NULL ? items : sl_arena_alloc(j->a, 1);
	if (object) {
		v->keys = keys != NULL ? keys : sl_arena_alloc(j->a, 1);
		v->key_lens = klens != NULL ? klens : sl_arena_alloc(j->a, 1);
	}
out:
	return rc;
}

static int
jp_value(struct jp *j, struct mat_json *v, int depth)
{
	size_t start;
	int rc;

	memset(v, 0, sizeof(*v));
	if (depth > MAT_JSON_MAX_DEPTH)
		return jp_fail(j, "nested too deep");
	jp_ws(j);
	if (j->at >= j->len)
		return jp_fail(j, "unexpected end");
	start = j->at;
	switch (j->p[j->at]) {
	case '{':
		rc = jp_compound(j, v, depth, 1);
		break;
	case '[':
		rc = jp_compound(j, v, depth, 0);
		break;
	case '"':
		v->type = MAT_JSON_STRING;
		rc = jp_string(j, &v->s, &v->len);
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = { "true", "false", "null" };
		static const enum mat_json_type ty[] = { MAT_JSON_TRUE, MAT_JSON_FALSE,
		    MAT_JSON_NULL };
		int i = j->p[j->at] == 't' ? 0 : j->p[j->at] == 'f' ? 1 : 2;
		size_t l = strlen(lit[i]);

		if (j->len - j->at < l || memcmp(j->p + j->at, lit[i], l) != 0)
			return jp_fail(j, "bad literal");
		j->at += l;
		v->type = ty[i];
		rc = 0;
		break;
	}
	default:
		rc = jp_number(j, v);
		break;
	}
	if (rc == 0)
		v->raw = sl_slice_make(j->p + start, j->at - start);
	return rc;
}

int
mat_json_parse(struct sl_slice in, struct sl_arena *a, struct mat_json *out,
    struct sl_err *err)
{
	struct jp j = { in.p, in.len, 0, a, err };
	int rc;

	if (in.len > MAT_JSON_MAX_SIZE)
		return sl_errf(err, SL_ETOOBIG, "json: %zu bytes is past the %u limit", in.len,
		    MAT_JSON_MAX_SIZE);
	if ((rc = jp_value(&j, out, 0)) != 0)
		return rc;
	jp_ws(&j);
	if (j.at != j.len)
		return jp_fail(&j, "trailing bytes");
	return 0;
}

const struct mat_json *
mat_json_get(const struct mat_json *o, const char *key)
{
	size_t i, kl = strlen(key);

	if (o == NULL || o->type != MAT_JSON_OBJECT)
		return NULL;
	for (i = 0; i < o->n; i++)
		if (o->key_lens[i] == kl && memcmp(o->keys[i], key, kl) == 0)
			return &o->items[i];
	return NULL;
}

/* ------------------------------------------------------ Debezium envelope */

#define MAT_UNAVAILABLE "__debezium_unavailable_value"

static const char *
jstr(const struct mat_json *v)
{
	return v && v->type == MAT_JSON_STRING ? v->s : NULL;
}

static int
json_to_value(const struct mat_json *j, struct sl_arena *a, struct sch_value *out)
{
	char *end, *s;

	*out = sch_value_null();
	switch (j->type) {
	case MAT_JSON_NULL:
		return 0;
	case MAT_JSON_TRUE:
	case MAT_JSON_FALSE:
		out->kind = SCH_BOOL;
		out->u.b = j->type == MAT_JSON_TRUE;
		return 0;
	case MAT_JSON_NUMBER:
		if (strpbrk(j->s, ".eE") == NULL) {
			errno = 0;
			out->u.i64 = strtoll(j->s, &end, 10);
			if (errno == 0 && *end == '\0') {
				out->kind = SCH_INT64;
				return 0;
			}
		}
		out->kind = SCH_DOUBLE;
		out->u.f64 = strtod(j->s, NULL);
		return 0;
	case MAT_JSON_STRING:
		if (j->len == strlen(MAT_UNAVAILABLE) && strcmp(j->s, MAT_UNAVAILABLE) == 0) {
			*out = sch_value_unchanged();
			return 0;
		}
		*out = sch_value_text(j->s, j->len);
		return 0;
	default:
		s = sl_arena_alloc(a, j->raw.len + 1);
		memcpy(s, j->raw.p, j->raw.len);
		s[j->raw.len] = '\0';
		out->kind = SCH_JSON;
		out->u.s.p = s;
		out->u.s.len = j->raw.len;
		return 0;
	}
}

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static int
image_values(const struct mat_json *img, const struct sch_table *t, struct sl_arena *a,
    struct sch_value **out, struct sl_err *err)
{
	struct sch_value *v;
	uint32_t i;

	if (img == NULL || img->type == MAT_JSON_NULL) {
		*out = NULL;
		return 0;
	}
	if (img->type != MAT_JSON_OBJECT)
		return SL_CORRUPT(err, "json envelope: before/after is not an object");
	v = sl_arena_alloc(a, (size_t)t->n_columns * sizeof(*v) + 1);
	for (i = 0; i < t->n_columns; i++) {
		const struct mat_json *c = mat_json_get(img, t->columns[i].name);

		if (c == NULL)
			v[i] = sch_value_null();
		else
			json_to_value(c, a, &v[i]);
	}
	*out = v;
	return 0;
}

int
mat_json_event_decode(struct sl_slice key, struct sl_slice val,
    struct sl_arena *a, struct sch_event *ev, struct sl_err *err)
{
	struct mat_json root, kroot;
	const struct mat_json *op, *src, *img, *before, *after, *lsn;
	struct sch_table *t;
	const char *s;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	uint32_t i;
	int rc, has_key = 0;

	memset(ev, 0, sizeof(*ev));
	memset(&kroot, 0, sizeof(kroot));
	if ((rc = mat_json_parse(val, a, &root, err)) != 0)
		return rc;
	if (key.len > 0 && (rc = mat_json_parse(key, a, &kroot, err)) != 0)
		return rc;
	if (root.type != MAT_JSON_OBJECT)
		return SL_CORRUPT(err, "json envelope: not an object");
	/* Kafka Connect's schemas.enable=true wraps the envelope in "payload" */
	if (mat_json_get(&root, "payload") && mat_json_get(&root, "schema"))
		root = *mat_json_get(&root, "payload");
	if (kroot.type == MAT_JSON_OBJECT && mat_json_get(&kroot, "payload") &&
	    mat_json_get(&kroot, "schema"))
		kroot = *mat_json_get(&kroot, "payload");
	op = mat_json_get(&root, "op");
	src = mat_json_get(&root, "source");
	if (jstr(op) == NULL || op->len != 1 || src == NULL || src->type != MAT_JSON_OBJECT ||
	    jstr(mat_json_get(src, "table")) == NULL)
		return SL_ENOTFOUND;	/* transaction, heartbeat, message */
	switch (op->s[0]) {
	case 'c': ev->op = SCH_OP_CREATE; break;
	case 'u': ev->op = SCH_OP_UPDATE; break;
	case 'd': ev->op = SCH_OP_DELETE; break;
	case 'r': ev->op = SCH_OP_READ; break;
	case 't': ev->op = SCH_OP_TRUNCATE; break;
	case 'm': return SL_ENOTFOUND;
	default:
		return SL_CORRUPT(err, "json envelope: unknown op '%s'", op->s);
	}
	t = sl_arena_alloc(a, sizeof(*t));
	memset(t, 0, sizeof(*t));
	t->name = jstr(mat_json_get(src, "table"));
	t->schema = jstr(mat_json_get(src, "schema"));
	t->db = jstr(mat_json_get(src, "db"));
	ev->source.connector = jstr(mat_json_get(src, "connector"));
	ev->source.db = t->db;
	ev->source.schema = t->schema;
	ev->source.table = t->name;
	if ((lsn = mat_json_get(src, "lsn")) != NULL && lsn->type == MAT_JSON_NUMBER) {
		ev->source.lsn = strtoull(lsn->s, NULL, 10);
		ev->source.has |= SCH_SRC_LSN;
	}
	before = mat_json_get(&root, "before");
	after = mat_json_get(&root, "after");
	img = after && after->type == MAT_JSON_OBJECT ? after : before;
	if (img && img->type == MAT_JSON_OBJECT) {
		t->n_columns = (uint32_t)img->n;
		t->columns = sl_arena_alloc(a, img->n * sizeof(*t->columns) + 1);
		memset(t->columns, 0, img->n * sizeof(*t->columns));
		for (i = 0; i < t->n_columns; i++) {
			struct sch_column *c = &t->columns[i];
			struct sch_value v;

			c->name = img->keys[i];
			c->typmod = -1;
			c->nullable = -1;
			c->is_key = mat_json_get(&kroot, c->name) != NULL;
			has_key |= c->is_key;
			json_to_value(&img->items[i], a, &v);
			c->type_name = sch_kind_name(v.kind == SCH_NULL || v.kind == SCH_UNCHANGED ?
			    SCH_TEXT : v.kind);
			h = fnv(h, c->name, strlen(c->name) + 1);
			h = fnv(h, &c->is_key, 1);
			if (c->is_key)
				h = fnv(h, c->type_name, strlen(c->type_name));
		}
	}
	s = t->schema ? t->schema : t->db ? t->db : "";
	h = fnv(h, s, strlen(s) + 1);
	h = fnv(h, t->name, strlen(t->name) + 1);
	t->schema_id = h | MAT_SCHEMA_ID_JSON;
	(void)has_key;
	ev->table = t;
	if (ev->op != SCH_OP_TRUNCATE) {
		if ((rc = image_values(before, t, a, &ev->before, err)) != 0 ||
		    (rc = image_values(after, t, a, &ev->after, err)) != 0)
			return rc;
		if (ev->before == NULL && ev->after == NULL)
			return SL_CORRUPT(err, "json envelope: %c event without before or after",
			    (char)ev->op);
	}
	return 0;
}
