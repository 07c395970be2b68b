/*
 * common/config.c: the INI configuration file, read with libinih.
 *
 * inih does the lexing; this file tracks line numbers itself (through the
 * line reader it hands to ini_parse_stream), parses section headers of the
 * form [type] and [type "name"], expands ${VAR} from the environment,
 * rejects duplicate sections and keys, and checks sections and keys against
 * a component's schema.  Every error names the file and line.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "common/sl.h"

struct conf_parse {
	struct sl_config *cfg;
	struct sl_err *err;
	int rc;
	int line;			/* line last handed to inih */
	const char *text;		/* parse from a string: cursor */
	FILE *fp;			/* or from a file */
};

static void
conf_section_add(struct sl_config *cfg, char *type, char *name, int line)
{
	struct sl_conf_section *s;

	cfg->sections = sl_realloc(cfg->sections,
	    (cfg->n_sections + 1) * sizeof(*cfg->sections));
	s = &cfg->sections[cfg->n_sections++];
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->name = name;
	s->line = line;
}

/* Parse a header line "[type]" or "[type "name"]" into a new section. */
static void
conf_header(struct conf_parse *cp, const char *line)
{
	const char *p = line, *end, *q;
	char *type, *name = NULL;
	size_t i;

	while (isspace((unsigned char)*p))
		p++;
	p++;				/* '[' */
	end = strchr(p, ']');
	if (end == NULL) {
		cp->rc = sl_errf(cp->err, SL_ECONFIG, "%s:%d: section header without ']'",
		    cp->cfg->path, cp->line);
		return;
	}
	while (p < end && isspace((unsigned char)*p))
		p++;
	q = p;
	while (q < end && !isspace((unsigned char)*q) && *q != '"')
		q++;
	type = sl_strndup(p, (size_t)(q - p));
	p = q;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p < end) {
		const char *close;

		if (*p != '"' || (close = memchr(p + 1, '"', (size_t)(end - p - 1))) == NULL) {
			cp->rc = sl_errf(cp->err, SL_ECONFIG,
			    "%s:%d: section name must be quoted: [type \"name\"]",
			    cp->cfg->path, cp->line);
			free(type);
			return;
		}
		name = sl_strndup(p + 1, (size_t)(close - p - 1));
		for (p = close + 1; p < end; p++) {
			if (!isspace((unsigned char)*p)) {
				cp->rc = sl_errf(cp->err, SL_ECONFIG,
				    "%s:%d: unexpected text after section name",
				    cp->cfg->path, cp->line);
				free(type);
				free(name);
				return;
			}
		}
	}
	if (type[0] == '\0') {
		cp->rc = sl_errf(cp->err, SL_ECONFIG, "%s:%d: empty section type",
		    cp->cfg->path, cp->line);
		free(type);
		free(name);
		return;
	}
	for (i = 0; i < cp->cfg->n_sections; i++) {
		const struct sl_conf_section *s = &cp->cfg->sections[i];

		if (strcmp(s->type, type) == 0 &&
		    ((s->name == NULL && name == NULL) ||
		    (s->name != NULL && name != NULL && strcmp(s->name, name) == 0))) {
			cp->rc = sl_errf(cp->err, SL_ECONFIG,
			    "%s:%d: duplicate section [%s%s%s%s] (first at line %d)",
			    cp->cfg->path, cp->line, type, name ? " \"" : "",
			    name ? name : "", name ? "\"" : "", s->line);
			free(type);
			free(name);
			return;
		}
	}
	conf_section_add(cp->cfg, type, name, cp->line);
}

/* inih's line reader: count lines and catch section headers first. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *cp = stream;
	const char *p;

	if (cp->fp != NULL) {
		if (fgets(str, num, cp->fp) == NULL)
			return NULL;
	} else {
		const char *nl;
		size_t n;

		if (*cp->text == '\0')
			return NULL;
		nl = strchr(cp->text, '\n');
		n = nl ? (size_t)(nl - cp->text) + 1 : strlen(cp->text);
		if (n > (size_t)num - 1)
			n = (size_t)num - 1;
		memcpy(str, cp->text, n);
		str[n] = '\0';
		cp->text += n;
	}
	cp->line++;
	for (p = str; isspace((unsigned char)*p); p++)
		;
	if (*p == '[' && cp->rc == 0)
		conf_header(cp, str);
	return str;
}

/* Expand ${VAR} from the environment into a new string, or fail. */
static int
conf_expand(struct conf_parse *cp, const char *value, char **out)
{
	struct sl_buf b = { 0 };
	const char *p = value;

	while (*p != '\0') {
		if (p[0] == '$' && p[1] == '{') {
			const char *close = strchr(p + 2, '}');
			char *var;
			const char *v;

			if (close == NULL) {
				sl_buf_free(&b);
				return sl_errf(cp->err, SL_ECONFIG, "%s:%d: '${' without '}'",
				    cp->cfg->path, cp->line);
			}
			var = sl_strndup(p + 2, (size_t)(close - p - 2));
			v = getenv(var);
			if (v == NULL) {
				sl_errf(cp->err, SL_ECONFIG,
				    "%s:%d: environment variable %s is not set",
				    cp->cfg->path, cp->line, var);
				free(var);
				sl_buf_free(&b);
				return SL_ECONFIG;
			}
			free(var);
			sl_buf_add(&b, v, strlen(v));
			p = close + 1;
		} else {
			sl_buf_add_u8(&b, (uint8_t)*p++);
		}
	}
	sl_buf_add_u8(&b, 0);
	*out = (char *)b.p;
	return 0;
}

static int
conf_handler(void *user, const char *section, const char *key, const char *value)
{
	struct conf_parse *cp = user;
	struct sl_conf_section *s;
	struct sl_conf_entry *e;
	char *v = NULL;
	size_t i;

	(void)section;
	if (cp->rc != 0)
		return 0;
	if (cp->cfg->n_sections == 0) {
		cp->rc = sl_errf(cp->err, SL_ECONFIG, "%s:%d: key '%s' outside any section",
		    cp->cfg->path, cp->line, key);
		return 0;
	}
	s = &cp->cfg->sections[cp->cfg->n_sections - 1];
	for (i = 0; i < s->n_entries; i++) {
		if (strcmp(s->entries[i].key, key) == 0) {
			cp->rc = sl_errf(cp->err, SL_ECONFIG,
			    "%s:%d: duplicate key '%s' (first at line %d)",
			    cp->cfg->path, cp->line, key, s->entries[i].line);
			return 0;
		}
	}
	if ((cp->rc = conf_expand(cp, value, &v)) != 0)
		return 0;
	s->entries = sl_realloc(s->entries, (s->n_entries + 1) * sizeof(*s->entries));
	e = &s->entries[s->n_entries++];
	e->key = sl_strdup(key);
	e->value = v;
	e->line = cp->line;
	return 1;
}

static int
conf_run(struct conf_parse *cp)
{
	int r;

	ini_allow_multiline = 0;	/* keeps our line numbers exact */
	r = ini_parse_stream(conf_reader, cp, conf_handler, cp);
	if (cp->rc != 0)
		return cp->rc;
	if (r > 0)
		return sl_errf(cp->err, SL_ECONFIG, "%s:%d: syntax error (expected key = value)",
		    cp->cfg->path, r);
	if (r < 0)
		return sl_errf(cp->err, SL_ECONFIG, "%s: cannot parse", cp->cfg->path);
	return 0;
}

int
sl_config_parse(const char *name, const char *text, struct sl_config **out,
    struct sl_err *err)
{
	struct conf_parse cp = { 0 };
	int rc;

	*out = NULL;
	cp.cfg = sl_calloc(1, sizeof(*cp.cfg));
	cp.cfg->path = sl_strdup(name);
	cp.err = err;
	cp.text = text;
	rc = conf_run(&cp);
	if (rc != 0) {
		sl_config_free(cp.cfg);
		return rc;
	}
	*out = cp.cfg;
	return 0;
}

int
sl_config_load(const char *path, struct sl_config **out, struct sl_err *err)
{
	struct conf_parse cp = { 0 };
	int rc;

	*out = NULL;
	cp.fp = fopen(path, "r");
	if (cp.fp == NULL)
		return sl_errf(err, -errno, "%s: %s", path, strerror(errno));
	cp.cfg = sl_calloc(1, sizeof(*cp.cfg));
	cp.cfg->path = sl_strdup(path);
	cp.err = err;
	rc = conf_run(&cp);
	fclose(cp.fp);
	if (rc != 0) {
		sl_config_free(cp.cfg);
		return rc;
	}
	*out = cp.cfg;
	return 0;
}

void
sl_config_free(struct sl_config *cfg)
{
	size_t i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->n_sections; i++) {
		struct sl_conf_section *s = &cfg->sections[i];

		for (j = 0; j < s->n_entries; j++) {
			free(s->entries[j].key);
			free(s->entries[j].value);
		}
		free(s->entries);
		free(s->type);
		free(s->name);
	}
	free(cfg->sections);
	free(cfg->path);
	free(cfg);
}

static int
conf_key_known(const char *const *keys, const char *key)
{
	size_t n;

	for (; *keys != NULL; keys++) {
		n = strlen(*keys);
		if (n > 0 && (*keys)[n - 1] == '.') {
			if (strncmp(key, *keys, n) == 0 && key[n] != '\0')
				return 1;
		} else if (strcmp(key, *keys) == 0) {
			return 1;
		}
	}
	return 0;
}

int
sl_config_check(const struct sl_config *cfg, const struct sl_conf_schema *schema,
    struct sl_err *err)
{
	size_t i, j;

	for (i = 0; i < cfg->n_sections; i++) {
		const struct sl_conf_section *s = &cfg->sections[i];
		const struct sl_conf_schema *sc;

		for (sc = schema; sc->type != NULL; sc++)
			if (strcmp(sc->type, s->type) == 0)
				break;
		if (sc->type == NULL)
			return sl_errf(err, SL_ECONFIG, "%s:%d: unknown section [%s]",
			    cfg->path, s->line, s->type);
		if (sc->named && s->name == NULL)
			return sl_errf(err, SL_ECONFIG,
			    "%s:%d: section [%s] needs a name: [%s \"NAME\"]",
			    cfg->path, s->line, s->type, s->type);
		if (!sc->named && s->name != NULL)
			return sl_errf(err, SL_ECONFIG, "%s:%d: section [%s] takes no name",
			    cfg->path, s->line, s->type);
		for (j = 0; j < s->n_entries; j++) {
			if (!conf_key_known(sc->keys, s->entries[j].key))
				return sl_errf(err, SL_ECONFIG,
				    "%s:%d: unknown key '%s' in section [%s]",
				    cfg->path, s->entries[j].line, s->entries[j].key, s->type);
		}
	}
	return 0;
}

const struct sl_conf_section *
sl_config_section(const struct sl_config *cfg, const char *type, const char *name)
{
	size_t i;

	if (cfg == NULL)
		return NULL;
	for (i = 0; i < cfg->n_sections; i++) {
		const struct sl_conf_section *s = &cfg->sections[i];

		if (strcmp(s->type, type) != 0)
			continue;
		if (name == NULL || (s->name != NULL && strcmp(s->name, name) == 0))
			return s;
	}
	return NULL;
}

const struct sl_conf_entry *
sl_conf_entry(const struct sl_conf_section *sec, const char *key)
{
	size_t i;

	if (sec == NULL)
		return NULL;
	for (i = 0; i < sec->n_entries; i++)
		if (strcmp(sec->entries[i].key, key) == 0)
			return &sec->entries[i];
	return NULL;
}

const char *
sl_conf_get(const struct sl_conf_section *sec, const char *key)
{
	const struct sl_conf_entry *e = sl_conf_entry(sec, key);

	return e ? e->value : NULL;
}

/* ------------------------------------------------------------ value parsing */

int
sl_parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return SL_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return SL_EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return SL_EINVAL;
	*out = v;
	return 0;
}

/* A number followed by an optional unit from 'units' (scaled by 'mult'). */
static int
parse_scaled(const char *s, const char *const *units, const int64_t *mult,
    size_t n_units, int64_t *out)
{
	char *end;
	long long v;
	size_t i;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return SL_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return SL_EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end == '\0') {
		*out = v;
		return 0;
	}
	for (i = 0; i < n_units; i++) {
		size_t n = strlen(units[i]);

		if (strncasecmp(end, units[i], n) == 0) {
			const char *rest = end + n;

			while (isspace((unsigned char)*rest))
				rest++;
			if (*rest != '\0')
				continue;
			if (v != 0 && (v > INT64_MAX / mult[i] || v < INT64_MIN / mult[i]))
				return SL_EINVAL;
			*out = v * mult[i];
			return 0;
		}
	}
	return SL_EINVAL;
}

int
sl_parse_size(const char *s, int64_t *out)
{
	static const char *const units[] = { "kib", "mib", "gib", "tib", "kb", "mb", "gb", "tb",
	    "k", "m", "g", "t", "b" };
	static const int64_t mult[] = { 1LL << 10, 1LL << 20, 1LL << 30, 1LL << 40,
	    1LL << 10, 1LL << 20, 1LL << 30, 1LL << 40, 1LL << 10, 1LL << 20, 1LL << 30,
	    1LL << 40, 1 };

	return parse_scaled(s, units, mult, SL_ARRAY_LEN(units), out);
}

int
sl_parse_duration_ms(const char *s, int64_t *out)
{
	static const char *const units[] = { "ms", "s", "min", "m", "h", "d" };
	static const int64_t mult[] = { 1, 1000, 60000, 60000, 3600000, 86400000 };

	return parse_scaled(s, units, mult, SL_ARRAY_LEN(units), out);
}

typedef int (*conf_parse_fn)(const char *, int64_t *);

static int
conf_typed(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *key, int64_t *out, conf_parse_fn fn, const char *what,
    struct sl_err *err)
{
	const struct sl_conf_entry *e = sl_conf_entry(sec, key);
	int64_t v;

	if (e == NULL)
		return 0;
	if (fn(e->value, &v) != 0)
		return sl_errf(err, SL_ECONFIG, "%s:%d: %s = '%s': expected %s",
		    cfg ? cfg->path : "config", e->line, key, e->value, what);
	*out = v;
	return 0;
}

int
sl_conf_int64(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *key, int64_t *out, struct sl_err *err)
{
	return conf_typed(cfg, sec, key, out, sl_parse_int64, "an integer", err);
}

int
sl_conf_size(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *key, int64_t *out, struct sl_err *err)
{
	return conf_typed(cfg, sec, key, out, sl_parse_size,
	    "a size such as 1048576, 512k, 64m or 1g", err);
}

int
sl_conf_duration_ms(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *key, int64_t *out, struct sl_err *err)
{
	return conf_typed(cfg, sec, key, out, sl_parse_duration_ms,
	    "a duration such as 500ms, 30s, 5m, 2h or 7d", err);
}

int
sl_conf_bool(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *key, int *out, struct sl_err *err)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	const struct sl_conf_entry *e = sl_conf_entry(sec, key);
	size_t i;

	if (e == NULL)
		return 0;
	for (i = 0; i < SL_ARRAY_LEN(yes); i++) {
		if (strcasecmp(e->value, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(e->value, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return sl_errf(err, SL_ECONFIG, "%s:%d: %s = '%s': expected true or false",
	    cfg ? cfg->path : "config", e->line, key, e->value);
}
