// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl's JSON string writer (json.h), shared by build, status,
 * events and run's summaries.
 */
#include "json.h"

void vanity_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
