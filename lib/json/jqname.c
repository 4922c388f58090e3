/* SPDX-License-Identifier: ISC */
/* jqname.c — jq 1.6's keywords and argument-less builtins (see jqname.h).
 * tests/unit/jqname.c checks the list against libjq's own `builtins`. */
#include <stdlib.h>
#include <string.h>

#include "json/jqname.h"

static const char *const names[] = {
	/* keywords */
	"__loc__", "and", "as", "catch", "def", "elif", "else", "end", "false", "foreach", "if",
	"import", "include", "label", "module", "null", "or", "reduce", "then", "true", "try",
	/* builtins/0 */
	"acos", "acosh", "add", "all", "any", "arrays", "ascii_downcase", "ascii_upcase", "asin",
	"asinh", "atan", "atanh", "booleans", "builtins", "cbrt", "ceil", "combinations", "cos",
	"cosh", "debug", "empty", "env", "erf", "erfc", "error", "exp", "exp10", "exp2", "explode",
	"expm1", "fabs", "finites", "first", "flatten", "floor", "frexp", "from_entries",
	"fromdate", "fromdateiso8601", "fromjson", "gamma", "get_jq_origin", "get_prog_origin",
	"get_search_list", "gmtime", "halt", "halt_error", "implode", "infinite", "input",
	"input_filename", "input_line_number", "inputs", "isfinite", "isinfinite", "isnan",
	"isnormal", "isvalid", "iterables", "j0", "j1", "keys", "keys_unsorted", "last",
	"leaf_paths", "length", "lgamma", "lgamma_r", "localtime", "log", "log10", "log1p", "log2",
	"logb", "max", "min", "mktime", "modf", "modulemeta", "nan", "nearbyint", "normals", "not",
	"now", "nulls", "numbers", "objects", "paths", "pow10", "recurse", "recurse_down",
	"reverse", "rint", "round", "scalars", "scalars_or_empty", "significand", "sin", "sinh",
	"sort", "sqrt", "stderr", "strings", "tan", "tanh", "tgamma", "to_entries", "todate",
	"todateiso8601", "tojson", "tonumber", "tostream", "tostring", "transpose", "trunc", "type",
	"unique", "utf8bytelength", "values", "y0", "y1",
};

int
ev_jqname_known(const char *name, size_t n)
{
	if (n > 0 && name[0] == '_')
		return 1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
			return 1;
	return 0;
}

static int
ident0(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
ident(char c)
{
	return ident0(c) || (c >= '0' && c <= '9');
}

int
ev_jqname_maybe_operand(const char *t, size_t n)
{
	size_t i = 0, e;

	while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	if (i < n && (t[i] == '/' || t[i] == '|'))
		return 0;
	if (i + 1 == n && t[i] == '-')
		return 0;
	/* "./x", "../x": the path '.' or '..' divided by what follows */
	for (;;) {
		if (i + 1 < n && t[i] == '.' && t[i + 1] == '/')
			i += 2;
		else if (i + 2 < n && t[i] == '.' && t[i + 1] == '.' && t[i + 2] == '/')
			i += 3;
		else
			break;
	}
	if (i >= n || !ident0(t[i]))
		return 1;
	for (e = i; e < n && ident(t[e]); e++)
		;
	return ev_jqname_known(t + i, e - i);
}
