/*
 * schemas/my_types.c: the value kind of a MySQL/MariaDB column from the
 * type name capture writes in struct sch_column.type_name (the SQL name,
 * "unsigned" appended for unsigned integers: capture/my_value.c,
 * cap_my_type_name).  The mapping is docs/types.md's MySQL table.
 */
#include <string.h>

#include "schemas/sch.h"

static const struct {
	const char *name;
	enum sch_kind kind;
} my_kinds[] = {
	{ "tinyint", SCH_INT64 }, { "smallint", SCH_INT64 }, { "mediumint", SCH_INT64 },
	{ "int", SCH_INT64 }, { "bigint", SCH_INT64 }, { "year", SCH_INT64 },
	{ "tinyint unsigned", SCH_UINT64 }, { "smallint unsigned", SCH_UINT64 },
	{ "mediumint unsigned", SCH_UINT64 }, { "int unsigned", SCH_UINT64 },
	{ "bigint unsigned", SCH_UINT64 },
	{ "float", SCH_DOUBLE }, { "double", SCH_DOUBLE }, { "decimal", SCH_NUMERIC },
	{ "date", SCH_DATE }, { "time", SCH_TIME }, { "datetime", SCH_TIMESTAMP },
	{ "timestamp", SCH_TIMESTAMPTZ },
	{ "char", SCH_TEXT }, { "varchar", SCH_TEXT }, { "tinytext", SCH_TEXT },
	{ "text", SCH_TEXT }, { "mediumtext", SCH_TEXT }, { "longtext", SCH_TEXT },
	{ "json", SCH_TEXT }, { "set", SCH_TEXT },
	{ "binary", SCH_BYTES }, { "varbinary", SCH_BYTES }, { "tinyblob", SCH_BYTES },
	{ "blob", SCH_BYTES }, { "mediumblob", SCH_BYTES }, { "longblob", SCH_BYTES },
	{ "geometry", SCH_BYTES },
	{ "enum", SCH_ENUM }, { "bit", SCH_BITS },
};

enum sch_kind
sch_my_type_kind(const char *type_name)
{
	size_t i;

	for (i = 0; type_name != NULL && i < sizeof(my_kinds) / sizeof(my_kinds[0]); i++)
		if (strcmp(my_kinds[i].name, type_name) == 0)
			return my_kinds[i].kind;
	return SCH_TEXT;
}
