/*
 * config_value.h - the value rules the config keys share (config_value.c),
 * for config.c and config_fleet.c.
 */
#ifndef AIVENAUTH_CONFIG_VALUE_H
#define AIVENAUTH_CONFIG_VALUE_H

#include "base/internal.h"

#define URL_MAX_BYTES 2048

/* Validate a URL as api_url is (https://, or http:// to a loopback
 * literal), messages naming key; store it in *field. */
enum aivenauth_status config_set_url(char **field, const char *key,
    const char *v, char *why, size_t wn);
/* A DURATION (seconds, or with a unit s, m, h, d) within min..max,
 * messages naming key. */
enum aivenauth_status config_parse_seconds(const char *key, const char *v,
    int64_t min, int64_t max, int64_t *out, char *why, size_t wn);
/* A whole number within min..max, messages naming key. */
enum aivenauth_status config_parse_count(const char *key, const char *v,
    unsigned long min, unsigned long max, unsigned long *out, char *why,
    size_t wn);
/* Does v hold a control character (refused in every value)? */
bool config_has_ctrl(const char *v);
/* Replace *field with a copy of v's first n bytes. */
enum aivenauth_status config_replace_str(char **field, const char *v,
    size_t n);
/* v fit for a message: bounded, control characters as '?', a
 * token-shaped value cut to the 12 characters a log may show. */
const char *config_shown(const char *v, char *out, size_t size);

#endif
