/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vanityctl's JSON output: one string writer for every command's -j, so
 * each escapes the same way.
 */
#ifndef VANITY_CTL_JSON_H
#define VANITY_CTL_JSON_H

#include <stdio.h>

/* @s as a JSON string: quoted, '"' and '\' escaped, controls as \u00XX. */
void vanity_json_string(FILE *f, const char *s);

#endif
