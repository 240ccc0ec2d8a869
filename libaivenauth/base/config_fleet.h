/*
 * config_fleet.h - the fleet keys of aivenauth.conf(5) (fleet, etcd_*,
 * fleet_*): validation kept out of config.c so that the fleet settings
 * stay in one place.  config.c owns the key table and calls these.
 */
#ifndef AIVENAUTH_CONFIG_FLEET_H
#define AIVENAUTH_CONFIG_FLEET_H

#include "base/config_value.h"
#include "base/internal.h"

#define FLEET_ENDPOINTS_MAX 16
#define FLEET_PREFIX_MAX 256
#define FLEET_USER_MAX 128

/* Validate v for one fleet key and store it; on error f is unchanged and
 * why says what is wrong. */
enum aivenauth_status fleet_config_set(struct fleet_config *f,
    const char *key, const char *v, char *why, size_t wn);
/* The value as aivenauth_config_get() shows it (NULL if unset). */
const char *fleet_config_get(const struct fleet_config *f, const char *key);
/* Deep copy (dst's pointers are overwritten, never freed); on failure
 * false and dst holds only NULLs or its own copies. */
bool fleet_config_copy(struct fleet_config *dst,
    const struct fleet_config *src);
void fleet_config_free(struct fleet_config *f);
/* The leader lease's TTL in seconds (fleet_lease_ttl, or the default). */
int64_t fleet_lease_ttl(const struct fleet_config *f);

#endif /* AIVENAUTH_CONFIG_FLEET_H */
