/*
 * cli/config.c: checks of the configuration file shared by every command.
 * Each component checks the keys of its own sections when it loads them;
 * this file rejects sections that no component owns, so a typo such as
 * [brokr] or [views "x"] is an error naming its line instead of being
 * silently ignored.
 */
#include <string.h>

#include "cli/cli.h"
#include "common/sl.h"

int
cli_config_check_sections(const struct sl_config *cfg, struct sl_err *err)
{
	static const struct {
		const char *type;
		int named;
	} known[] = { { "broker", 0 }, { "source", 1 }, { "view", 1 } };
	size_t i, j;

	for (i = 0; i < cfg->n_sections; i++) {
		const struct sl_conf_section *s = &cfg->sections[i];

		for (j = 0; j < SL_ARRAY_LEN(known); j++)
			if (strcmp(s->type, known[j].type) == 0)
				break;
		if (j == SL_ARRAY_LEN(known))
			return sl_errf(err, SL_ECONFIG,
			    "%s:%d: unknown section [%s] (expected [broker], "
			    "[source \"NAME\"] or [view \"NAME\"])",
			    cfg->path, s->line, s->type);
		if (known[j].named && s->name == NULL)
			return sl_errf(err, SL_ECONFIG,
			    "%s:%d: section [%s] needs a name: [%s \"NAME\"]",
			    cfg->path, s->line, s->type, s->type);
		if (!known[j].named && s->name != NULL)
			return sl_errf(err, SL_ECONFIG, "%s:%d: section [%s] takes no name",
			    cfg->path, s->line, s->type);
	}
	return 0;
}
